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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from datagen import fit
from datagen.builder import ConversationBuilder, Unfit
from datagen.config import SPLITS, GenerateConfig, ScopeConfig
from datagen.flows import (
    BARE_VARIANT,
    BUSINESS,
    FLOW_VARIANTS,
    FLOWS,
    GENERAL,
    LONE_FLOWS,
    OWN_OFFER_FLOWS,
    Skeleton,
    ending,
    merge_greeting,
    opening,
)
from datagen.fragments import (
    OFFER_CATEGORY,
    SLOT_PATTERN,
    Domain,
    LanguageFragments,
    OfferDomain,
    load_fragments_strict,
)
from datagen.pools import PoolReport, build_pools
from datagen.realism import Persona
from datagen.slots import SlotFiller

SPLIT_FILE = "{split}.jsonl.gz"
PAIR_FLOW = "scope_pair"  # a schedule entry that becomes two conversations (ScopeConfig.pair_share)
OFFER_CHAT_FLOW = "offer_chat"  # a scope pair's exchange with no profile and no business in sight
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


def _pick_domain(pool: LanguageFragments, rng: random.Random, *, with_offer: bool = False) -> Domain:
    domains = [
        pool.domains[k] for k in sorted(pool.domains) if not with_offer or k in _own_offer_domains(pool)
    ]
    if not domains:
        raise GenerationError(f"{pool.lang}: no business domain of this pool has an offer file")
    return rng.choices(domains, weights=[len(d.families) for d in domains])[0]


def compose(
    pool: LanguageFragments,
    flow: str,
    variant: str,
    rng: random.Random,
    general_exclusions: Mapping[str, tuple[str, ...]] | None = None,
    scope: ScopeConfig | None = None,
) -> dict:
    """One conversation record (without id) of the given flow and variant from the pool.

    general_exclusions: category -> domains whose bots never get a general family of that category.
    scope: profiles and offers (issue #11); None = the defaults, which draw nothing new."""
    scope = scope or ScopeConfig()
    domain = _pick_domain(pool, rng, with_offer=flow in OWN_OFFER_FLOWS)
    business = rng.choice(domain.businesses)
    persona = Persona.draw(rng, pool.lang)
    skeleton = Skeleton.draw(rng, scope.system_rate)
    if flow in OWN_OFFER_FLOWS:
        # POLICY: a business's own information offer (a gym's deadlift cues) is business support only
        # against a business in sight; "hey, deadlift cues pls" alone shows none, and labelled business
        # it would teach that offer-like content without a profile is business (real assistant chats)
        skeleton = replace(skeleton, system=True)
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
        prices=domain.prices,
    )
    excluded = frozenset(c for c, domains in (general_exclusions or {}).items() if domain.key in domains)
    b = ConversationBuilder(rng, pool, domain, business, persona, slots, excluded_categories=excluded)
    b.address = fit.draw_address(rng, pool.lang)  # a system prompt may prescribe another (opening)
    if scope.offer_profiles and domain.key in pool.offers:
        b.extra_profiles = pool.offers[domain.key].profiles
    b.overlapping_offers = scope.overlaps(domain.key)
    # Every flow is capped by what the domain's pool can fill, so a small pool (validation, test)
    # shortens conversations of both labels alike.
    units = min(skeleton.units, b.business_capacity())
    if flow in LONE_FLOWS:
        if skeleton.system and variant != BARE_VARIANT:
            b.system_prompt()
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
    has_system = any(t["role"] == "system" for t in b.turns)
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
            _business_key(scope, has_system, rng): business,
            "channel": skeleton.channel,
            "general_turns": b.general_turns,
            "general_requests": b.general_requests,
            "families": b.families,
            "glue": sorted(set(b.glue)),
        },
    }


def _business_key(scope: ScopeConfig, has_system: bool, rng: random.Random) -> str:
    """``business`` (scopeguard reads it as a name-only profile) or ``business_name`` (not read)."""
    if scope.meta_business_rate >= 1.0 or has_system or rng.random() < scope.meta_business_rate:
        return "business"
    return "business_name"


def _fill_profile(text: str, slots: SlotFiller) -> str:
    return slots.fill(text) if SLOT_PATTERN.search(text) else text


def _kind_profiles(pool: LanguageFragments, offer: OfferDomain) -> tuple[str, ...]:
    """The profiles a business of an offer's kind may carry: the offer file's and, when the kind is a
    business domain too, its ``system:`` prompts, so both members of a pair draw from the same styles."""
    domain = pool.domains.get(offer.key)
    return offer.profiles + (domain.system if domain is not None else ())


def _pair_other(
    pool: LanguageFragments, own: OfferDomain, scope: ScopeConfig, rng: random.Random
) -> tuple[str, tuple[str, ...], tuple[str, ...], dict[str, tuple[str | None, str | None]]]:
    """The other business of a pair: (kind, its names, its profiles, locales): another offer kind (a
    near domain of the offer at ``near_domain_rate``), never one whose offer overlaps; a business domain
    only when the pool has no other offer kind."""
    overlapping = scope.overlaps(own.key) | {own.key}
    offers = {k: o for k, o in pool.offers.items() if k not in overlapping}
    near = [k for k in own.near_domains if k in offers]
    if offers:
        key = (
            rng.choice(near) if near and rng.random() < scope.near_domain_rate else rng.choice(sorted(offers))
        )
        other = offers[key]
        return key, other.businesses, _kind_profiles(pool, other), other.locales
    domains = {k: d for k, d in pool.domains.items() if k not in overlapping and d.system}
    if not domains:
        raise GenerationError(f"{pool.lang}: no other business for a scope pair of {own.key}")
    dom = domains[rng.choice(sorted(domains))]
    return dom.key, dom.businesses, dom.system, dom.locales


def _addressing(profiles: tuple[str, ...], address: str | None, lang: str) -> tuple[str, ...]:
    """The profiles that prescribe no other form of address than `address` (all of them when none do)."""
    fitting = tuple(p for p in profiles if fit.prescribed_form(p, lang) in (None, address))
    return fitting or profiles


def compose_pair(pool: LanguageFragments, rng: random.Random, scope: ScopeConfig) -> tuple[dict, dict]:
    """A scope pair: one offer exchange, word for word, under a profile of its own kind of business
    (business_support) and under another business's profile (general_assistance)."""
    offers = [pool.offers[k] for k in sorted(pool.offers) if pool.offers[k].families]
    if not offers:
        raise GenerationError(f"{pool.lang}: scope pairs need offer files (data/fragments/<lang>/offer/)")
    own = rng.choices(offers, weights=[len(o.families) for o in offers])[0]
    family = rng.choice(own.families)
    other_key, other_names, other_profiles, other_locales = _pair_other(pool, own, scope, rng)
    persona = Persona.draw(rng, pool.lang)
    address = fit.draw_address(rng, pool.lang)
    profiles, fillers = [], []
    for names, texts, locales, kind in (
        (own.businesses, _kind_profiles(pool, own), own.locales, own.key),
        (other_names, other_profiles, other_locales, other_key),
    ):
        name = rng.choice(names)
        country, currency = locales.get(name, (None, None))
        slots = SlotFiller(rng, pool.lang, name, (), (), country=country, currency=currency, domain=kind)
        # one exchange under both profiles: neither may prescribe another form of address than it uses
        text = rng.choice(_addressing(texts, address, pool.lang))
        address = fit.prescribed_form(text, pool.lang) or address
        profiles.append((name, _fill_profile(text, slots)))
        fillers.append(slots)
    shell = Domain(pool.lang, own.key, own.businesses, (), (), (), (), own.locales)
    own_slots = fillers[0]
    b = ConversationBuilder(
        rng,
        pool,
        shell,
        profiles[0][0],
        persona,
        SlotFiller(
            rng, pool.lang, profiles[0][0], (), (), country=own_slots.country, currency=own_slots.currency
        ),
        address=address,
        also_countries=(fillers[1].country,),
    )
    lone = rng.random() < scope.lone_pair_rate
    if lone:
        b.use_family(family.uid)
        # like every request: a variant the customer of both businesses would write (region, currency)
        b.user(b.request_of(family, general=True), general=True, request=True)
    else:
        b.offer_exchange(family, rng.choices((1, 2, 3), weights=(6, 3, 1))[0], general=True)
    records = []
    for member, (name, profile), kind in (("a", profiles[0], own.key), ("b", profiles[1], other_key)):
        general = member == "b"
        records.append(
            {
                "turns": [{"role": "system", "text": profile}, *[dict(t) for t in b.turns]],
                "label": GENERAL if general else BUSINESS,
                "lang": pool.lang,
                "meta": {
                    "source": "generator",
                    "flow": PAIR_FLOW,
                    "variant": "lone" if lone else "exchange",
                    "domain": kind,
                    "category": OFFER_CATEGORY if general else None,
                    "business": name,
                    "channel": "whatsapp",
                    "offer_domain": own.key,
                    "member": member,
                    "general_turns": [i + 1 for i in b.general_turns] if general else [],
                    "general_requests": [i + 1 for i in b.general_requests] if general else [],
                    "families": b.families,
                    "glue": [],
                },
            }
        )
    return records[0], records[1]


def allowed_variants(flow: str, split: str, config: GenerateConfig) -> tuple[str, ...]:
    variants = FLOW_VARIANTS[flow][1]
    if split == "heldout":
        return variants
    return tuple(v for v in variants if f"{flow}:{v}" not in config.heldout_variants)


def split_schedule(split: str, config: GenerateConfig) -> list[tuple[str, str]]:
    """The (language, flow) of every item of a split; a PAIR_FLOW item becomes two conversations."""
    size = config.split_sizes[split]
    pairs = round(size * config.scope.pair_share / 2)
    schedule = flow_schedule(
        size - 2 * pairs, config.flow_mix, config.languages, random.Random(f"{config.seed}:{split}:schedule")
    )
    if pairs:
        langs = config.languages
        schedule += [(langs[i % len(langs)], PAIR_FLOW) for i in range(pairs)]
        random.Random(f"{config.seed}:{split}:pairs").shuffle(schedule)
    return schedule


def generate_split(
    pools: dict[str, LanguageFragments], split: str, config: GenerateConfig, seen: set[str]
) -> list[dict]:
    records = []
    for index, (lang, flow) in enumerate(split_schedule(split, config)):
        if lang not in pools:
            raise GenerationError(f"split {split}: no fragments pool for language {lang!r}")
        if flow == PAIR_FLOW or (flow in OWN_OFFER_FLOWS and not _own_offer_domains(pools[lang])):
            # without a business of an offer's own kind in this pool, the offer is shown under its
            # kind's profile alone: a pair's business member
            pair = _generate_pair(pools[lang], split, index, config, seen)
            records += pair if flow == PAIR_FLOW else _as_flow(pair[0], flow)
            continue
        if flow == OFFER_CHAT_FLOW:
            records.append(as_offer_chat(_generate_pair(pools[lang], split, index, config, seen)[1]))
            continue
        for attempt in range(MAX_ATTEMPTS):
            rng = random.Random(f"{config.seed}:{split}:{index}:{attempt}")
            variants = allowed_variants(flow, split, config)
            weights = [config.variant_weight(flow, v) for v in variants]
            variant = rng.choices(variants, weights=weights)[0]
            try:
                record = compose(pools[lang], flow, variant, rng, config.general_exclusions, config.scope)
            except Unfit:
                continue  # nothing in the pool fits this draw (form of address, region, domain)
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


def _own_offer_domains(pool: LanguageFragments) -> list[str]:
    return [k for k in pool.domains if k in pool.offers]


def _unpaired(record: dict, flow: str, *, drop: tuple[str, ...] = ()) -> dict:
    """A pair member as a conversation of ``flow``: no pair keys (nor ``drop``), no member suffix."""
    meta = record["meta"]
    for key in ("pair_id", "member", *drop):
        meta.pop(key, None)
    meta["flow"] = flow
    record["id"] = record["id"][:-1]
    return record


def _as_flow(record: dict, flow: str) -> list[dict]:
    record = _unpaired(record, flow)
    record["meta"]["variant"] = "profile_only"
    return [record]


def as_offer_chat(record: dict) -> dict:
    """A pair's general member with its profile taken away: the exchange alone, no business in sight.
    Without a profile the conversation shows no business, so a bot answering it acts as a general-purpose
    assistant whatever kind of business's offer the content is (docs/POLICY.md: the declared offer
    decides). meta.domain stays the kind whose offer the content is (``offer_domain``)."""
    record = _unpaired(record, OFFER_CHAT_FLOW, drop=("business",))
    meta = record["meta"]
    record["turns"] = [t for t in record["turns"] if t["role"] != "system"]
    for key in ("general_turns", "general_requests"):
        meta[key] = [i - 1 for i in meta[key]]  # indices over turns: the system turn was the first
    meta["domain"] = meta["offer_domain"]
    return record


def _generate_pair(
    pool: LanguageFragments, split: str, index: int, config: GenerateConfig, seen: set[str]
) -> list[dict]:
    for attempt in range(MAX_ATTEMPTS):
        rng = random.Random(f"{config.seed}:{split}:{index}:{attempt}")
        try:
            a, b = compose_pair(pool, rng, config.scope)
        except Unfit:
            continue
        key = text_key(a["turns"])  # both members share it: the system turn is left out
        if key not in seen:
            break
    else:
        raise GenerationError(
            f"split {split} item {index} ({pool.lang} scope pair): no new exchange; add offers"
        )
    seen.add(key)
    out = []
    for record in (a, b):
        record["meta"]["split"] = split
        record["meta"]["pair_id"] = f"{split}-{index:05d}"
        out.append({"id": f"gen-{split}-{index:05d}{record['meta']['member']}", **record})
    return out


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
