"""Generate the labelled data set: per split, a schedule of (language, flow) and one conversation each.

Every conversation has its own random generator seeded by ``"<seed>:<split>:<index>:<attempt>"``, so the
output is byte-for-byte reproducible and one conversation's draws never shift another's. A conversation
whose normalised text was already produced (in any split) or that exceeds ``max_turns`` is redrawn
with the next attempt number.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from datagen.builder import ConversationBuilder
from datagen.config import SPLITS, GenerateConfig
from datagen.flows import (
    BARE_VARIANT,
    BUSINESS,
    FLOW_VARIANTS,
    FLOWS,
    GENERAL,
    LONE_FLOWS,
    Skeleton,
    ending,
    merge_greeting,
    opening,
)
from datagen.fragments import Domain, LanguageFragments, load_fragments_strict
from datagen.pools import PoolReport, build_pools
from datagen.realism import Persona
from datagen.slots import SlotFiller

SPLIT_FILE = "{split}.jsonl.gz"
GENERATOR_VERSION = "1"
MAX_ATTEMPTS = 50
_WORD = re.compile(r"\w+")
_START = datetime(2026, 1, 16, tzinfo=UTC)


class GenerationError(RuntimeError):
    pass


@dataclass(frozen=True)
class GenerationResult:
    records: dict[str, list[dict]]
    pool_report: PoolReport


def text_key(turns: list[dict]) -> str:
    """Identity of a conversation: lowercase words of its non-system turns (as checks.normalised_key)."""
    text = " ".join(
        f"{t['role']} {' '.join(_WORD.findall(t['text'].lower()))}" for t in turns if t["role"] != "system"
    )
    return hashlib.sha256(text.encode()).hexdigest()


def flow_schedule(
    size: int, flow_mix: dict[str, float], languages: tuple[str, ...], rng: random.Random
) -> list[tuple[str, str]]:
    """Exactly `size` (lang, flow) pairs: flows by their share, languages evenly within every flow."""
    counts = {flow: int(size * share) for flow, share in flow_mix.items()}
    rest = size - sum(counts.values())
    for flow in sorted(flow_mix, key=lambda f: -(size * flow_mix[f] - counts[f]))[:rest]:
        counts[flow] += 1
    schedule = []
    offset = 0
    for flow in sorted(counts):
        for i in range(counts[flow]):
            schedule.append((languages[(offset + i) % len(languages)], flow))
        offset += counts[flow]
    rng.shuffle(schedule)
    return schedule


def _timestamps(turns: list[dict], rng: random.Random) -> None:
    moment = _START + timedelta(seconds=rng.randrange(0, 310 * 24 * 3600))
    previous = None
    for turn in turns:
        role = turn["role"]
        if previous is not None:
            if role == "assistant":
                gap = rng.randint(1, 25)
            elif role == "agent":
                gap = rng.randint(30, 1800)
            elif previous == "user":
                gap = rng.randint(2, 90)
            else:
                gap = rng.randint(5, 600)
            moment += timedelta(seconds=gap)
        turn["ts"] = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        previous = role


def _pick_domain(pool: LanguageFragments, rng: random.Random) -> Domain:
    domains = [pool.domains[k] for k in sorted(pool.domains)]
    return rng.choices(domains, weights=[len(d.families) for d in domains])[0]


def compose(
    pool: LanguageFragments,
    flow: str,
    variant: str,
    rng: random.Random,
    general_exclusions: Mapping[str, tuple[str, ...]] | None = None,
) -> dict:
    """One conversation record (without id) of the given flow and variant from the pool.

    general_exclusions: category -> domains whose bots never get a general family of that category."""
    domain = _pick_domain(pool, rng)
    business = rng.choice(domain.businesses)
    persona = Persona.draw(rng, pool.lang)
    skeleton = Skeleton.draw(rng)
    country, currency = domain.locales.get(business, (None, None))
    slots = SlotFiller(
        rng,
        pool.lang,
        business,
        domain.products,
        domain.plans,
        country=country,
        currency=currency,
        domain=domain.key,
    )
    excluded = frozenset(c for c, domains in (general_exclusions or {}).items() if domain.key in domains)
    b = ConversationBuilder(rng, pool, domain, business, persona, slots, excluded_categories=excluded)
    # Every flow is capped by what the domain's pool can fill, so a small pool (validation, test)
    # shortens conversations of both labels alike.
    units = min(skeleton.units, b.business_capacity())
    if flow in LONE_FLOWS:
        if skeleton.system and domain.system and variant != BARE_VARIANT:
            b.system(rng.choice(domain.system))
        category = FLOWS[flow](b, units, variant)
    else:
        prefix = opening(b, skeleton)
        first = len(b.turns)
        category = FLOWS[flow](b, units, variant)
        if prefix is not None:
            merge_greeting(
                b, next(i for i in range(first, len(b.turns)) if b.turns[i]["role"] == "user"), prefix
            )
        ending(b, skeleton)
    if category is None and b.general_requests:
        # POLICY section 3: a business flow with a general request (deflection, unanswered request)
        # carries the category of the first request
        category = b.first_request_category
    if skeleton.timestamps:
        _timestamps(b.turns, rng)
    if b.general_turns:
        label = GENERAL
    elif any(t["role"] == "assistant" for t in b.turns):
        label = BUSINESS
    else:
        label = GENERAL if b.lone_general else BUSINESS
    if label != FLOW_VARIANTS[flow][0]:
        raise GenerationError(f"flow {flow}:{variant} produced label {label}; the flow code is inconsistent")
    return {
        "turns": b.turns,
        "label": label,
        "lang": pool.lang,
        "meta": {
            "source": "generator",
            "flow": flow,
            "variant": variant,
            "domain": domain.key,
            "category": category,
            "business": business,
            "channel": skeleton.channel,
            "general_turns": b.general_turns,
            "general_requests": b.general_requests,
            "families": b.families,
            "glue": sorted(set(b.glue)),
        },
    }


def allowed_variants(flow: str, split: str, config: GenerateConfig) -> tuple[str, ...]:
    variants = FLOW_VARIANTS[flow][1]
    if split == "heldout":
        return variants
    return tuple(v for v in variants if f"{flow}:{v}" not in config.heldout_variants)


def generate_split(
    pools: dict[str, LanguageFragments], split: str, config: GenerateConfig, seen: set[str]
) -> list[dict]:
    size = config.split_sizes[split]
    schedule = flow_schedule(
        size, config.flow_mix, config.languages, random.Random(f"{config.seed}:{split}:schedule")
    )
    records = []
    for index, (lang, flow) in enumerate(schedule):
        if lang not in pools:
            raise GenerationError(f"split {split}: no fragments pool for language {lang!r}")
        for attempt in range(MAX_ATTEMPTS):
            rng = random.Random(f"{config.seed}:{split}:{index}:{attempt}")
            variants = allowed_variants(flow, split, config)
            weights = [config.variant_weight(flow, v) for v in variants]
            variant = rng.choices(variants, weights=weights)[0]
            record = compose(pools[lang], flow, variant, rng, config.general_exclusions)
            key = text_key(record["turns"])
            if len(record["turns"]) <= config.max_turns and key not in seen:
                break
        else:
            raise GenerationError(
                f"split {split} item {index} ({lang} {flow}): no new conversation of "
                f"<= {config.max_turns} turns after {MAX_ATTEMPTS} attempts; add fragments"
            )
        seen.add(key)
        record["meta"]["split"] = split
        records.append({"id": f"gen-{split}-{index:05d}", **record})
    return records


def generate(config: GenerateConfig) -> GenerationResult:
    fragments = load_fragments_strict(config.fragments_root, config.languages)
    pools, report = build_pools(fragments, config)
    seen: set[str] = set()
    records = {split: generate_split(pools[split], split, config, seen) for split in SPLITS}
    return GenerationResult(records, report)


def encode_jsonl_gz(records: list[dict]) -> bytes:
    """Gzip'd JSONL with mtime 0 and no file name in the header, so equal records give equal bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as gz:
        for record in records:
            gz.write((json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))
    return buffer.getvalue()


def write_splits(result: GenerationResult, output_dir: Path) -> dict[str, Path]:
    output_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split, records in result.records.items():
        path = output_dir / SPLIT_FILE.format(split=split)
        path.write_bytes(encode_jsonl_gz(records))
        paths[split] = path
    return paths


def summary(result: GenerationResult) -> str:
    lines = []
    for split, records in result.records.items():
        labels = Counter(r["label"] for r in records)
        flows = Counter(r["meta"]["flow"] for r in records)
        lines.append(
            f"{split}: {len(records)} conversations {dict(labels)} flows {dict(sorted(flows.items()))}"
        )
    if result.pool_report.shared_lists:
        lines.append(
            "glue lists too short to partition (shared by all splits): "
            + ", ".join(result.pool_report.shared_lists)
        )
    return "\n".join(lines)
