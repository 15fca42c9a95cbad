"""GenerateConfig: the one typed config of a generation run, loaded from data/generate.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from datagen.flows import FLOW_VARIANTS, GENERAL, SYSTEM_RATE
from datagen.fragments import CATEGORIES, DOMAINS, LANGUAGES, OFFER_DOMAINS

SPLITS: tuple[str, ...] = ("train", "validation", "test", "heldout")
# flows of issue #11 that a config may leave out of flow_mix (share 0)
OPTIONAL_FLOWS: tuple[str, ...] = ("offer_business", "offer_embedded", "offer_deflection", "offer_chat")
DEFAULT_CONFIG_PATH = Path("data/generate.yaml")


# The general categories of the data set made before issue #11; the newer ones are drawn only when the
# config lists them (``categories``), so that data set stays reproducible.
FIRST_CATEGORIES: tuple[str, ...] = CATEGORIES[:14]


class ScopeConfig(BaseModel):
    """Issue #11: business profiles, and the offer that decides (docs/DATA.md "Scope"). The defaults
    reproduce the data set made before it.

    pair_share: share of a split's conversations that are scope pairs: one offer exchange, word for
    word, under a profile of its own kind of business (business_support) and under another business's
    profile (general_assistance); each pair counts as two conversations.
    system_rate: share of the other conversations that carry a system turn (the business profile).
    offer_profiles: business flows of a domain that has an offer file also draw its profiles.
    near_domain_rate: how often the other business of a pair is one of the offer's ``near_domains``.
    lone_pair_rate: share of pairs with the request only (no bot reply yet).
    overlapping_offers: pairs of domains whose offers overlap (a café's drink question at a
    restaurant): never each other's "other business".
    meta_business_rate: share of conversations without a system turn whose ``meta.business`` names
    the business (read as a name-only profile by scopeguard); the others keep it as
    ``meta.business_name``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    pair_share: float = Field(0.0, ge=0.0, le=0.9)
    system_rate: float = Field(SYSTEM_RATE, ge=0.0, le=1.0)
    offer_profiles: bool = False
    near_domain_rate: float = Field(0.5, ge=0.0, le=1.0)
    lone_pair_rate: float = Field(0.1, ge=0.0, le=1.0)
    overlapping_offers: tuple[tuple[str, str], ...] = ()
    meta_business_rate: float = Field(1.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _known_domains(self) -> ScopeConfig:
        known = set(OFFER_DOMAINS) | set(DOMAINS)
        for pair in self.overlapping_offers:
            unknown = [k for k in pair if k not in known]
            if unknown:
                raise ValueError(f"scope.overlapping_offers: {unknown} are not domains or offer domains")
        return self

    def overlaps(self, key: str) -> frozenset[str]:
        """The domains whose offer overlaps ``key``'s."""
        return frozenset(b if a == key else a for a, b in self.overlapping_offers if key in (a, b))


class GenerateConfig(BaseModel):
    """How the generated data set is made.

    seed: the one seed every random choice derives from.
    fragments_root: directory with <lang>/common.yaml, <lang>/business/, <lang>/general/.
    output_dir: where <split>.jsonl.gz files are written.
    languages: languages to generate (each gets an equal share of every split).
    split_sizes: conversations per split.
    family_shares: share of each (language, domain/category)'s families given to each split's pool.
    heldout_domains / heldout_categories: whole domains and general categories only the heldout split uses.
    heldout_variants: "flow:variant" structural variants only the heldout split uses.
    flow_mix: share of each flow within a split; business and general flows must each sum to 0.5.
    max_turns: conversations longer than this are redrawn shorter.
    general_exclusions: general category -> domains whose bots never get a general family of it,
        because docs/POLICY.md's grey-zone table calls that task the business's own service there
        (a travel agency planning a trip, a pharmacy on medicines, a SaaS on code).
    variant_weights: "flow:variant" -> relative weight of the variant within its flow (default 1).
    categories: the general categories drawn (the four of issue #11 only when listed).
    scope: business profiles and scope pairs (ScopeConfig).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 20260115
    fragments_root: Path = Path("data/fragments")
    output_dir: Path = Path("data/generated")
    languages: tuple[str, ...] = LANGUAGES
    split_sizes: dict[str, int] = Field(
        default_factory=lambda: {"train": 7000, "validation": 1000, "test": 1000, "heldout": 1000}
    )
    family_shares: dict[str, float] = Field(
        default_factory=lambda: {"train": 0.7, "validation": 0.1, "test": 0.1, "heldout": 0.1}
    )
    heldout_domains: tuple[str, ...] = ("beauty_salon", "pet_shop", "driving_school")  # offer domains too
    heldout_categories: tuple[str, ...] = ("advice_legal", "brainstorming")
    heldout_variants: tuple[str, ...] = ()
    flow_mix: dict[str, float] = Field(default_factory=dict)
    max_turns: int = Field(30, ge=1)
    general_exclusions: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    variant_weights: dict[str, float] = Field(default_factory=dict)
    categories: tuple[str, ...] = FIRST_CATEGORIES
    scope: ScopeConfig = ScopeConfig()

    @model_validator(mode="after")
    def _consistent(self) -> GenerateConfig:
        for name in (self.split_sizes, self.family_shares):
            if set(name) != set(SPLITS):
                raise ValueError(
                    f"split_sizes and family_shares need exactly the splits {SPLITS}, found {sorted(name)}"
                )
        if abs(sum(self.family_shares.values()) - 1) > 1e-6:
            raise ValueError(f"family_shares must sum to 1, found {sum(self.family_shares.values())}")
        for lang in self.languages:
            if lang not in LANGUAGES:
                raise ValueError(f"languages: {lang!r} is not one of {LANGUAGES}")
        for key in self.heldout_domains:
            if key not in DOMAINS:
                raise ValueError(f"heldout_domains: {key!r} is not a domain ({', '.join(DOMAINS)})")
        for key in self.heldout_categories:
            if key not in CATEGORIES:
                raise ValueError(f"heldout_categories: {key!r} is not a category ({', '.join(CATEGORIES)})")
        for item in self.heldout_variants:
            flow, _, variant = item.partition(":")
            if flow not in FLOW_VARIANTS or variant not in FLOW_VARIANTS[flow][1]:
                raise ValueError(f"heldout_variants: {item!r} is not flow:variant of {sorted(FLOW_VARIANTS)}")
        for category, domains in self.general_exclusions.items():
            if category not in CATEGORIES:
                raise ValueError(
                    f"general_exclusions: {category!r} is not a category ({', '.join(CATEGORIES)})"
                )
            for key in domains:
                if key not in DOMAINS:
                    raise ValueError(
                        f"general_exclusions.{category}: {key!r} is not a domain ({', '.join(DOMAINS)})"
                    )
        for item, weight in self.variant_weights.items():
            flow, _, variant = item.partition(":")
            if flow not in FLOW_VARIANTS or variant not in FLOW_VARIANTS[flow][1]:
                raise ValueError(f"variant_weights: {item!r} is not flow:variant of {sorted(FLOW_VARIANTS)}")
            if weight <= 0:
                raise ValueError(f"variant_weights: {item!r} needs a weight > 0, found {weight}")
        unknown = set(self.flow_mix) - set(FLOW_VARIANTS)
        if unknown:
            raise ValueError(f"flow_mix: unknown flows {sorted(unknown)}; known: {sorted(FLOW_VARIANTS)}")
        if not set(FLOW_VARIANTS) - set(OPTIONAL_FLOWS) <= set(self.flow_mix):
            missing = sorted(set(FLOW_VARIANTS) - set(OPTIONAL_FLOWS) - set(self.flow_mix))
            raise ValueError(f"flow_mix must give a share for every flow; missing: {missing}")
        for key in self.categories:
            if key not in CATEGORIES:
                raise ValueError(f"categories: {key!r} is not a category ({', '.join(CATEGORIES)})")
        general = sum(v for k, v in self.flow_mix.items() if FLOW_VARIANTS[k][0] == GENERAL)
        if abs(general - 0.5) > 1e-6 or abs(sum(self.flow_mix.values()) - 1) > 1e-6:
            raise ValueError(
                f"flow_mix: general flows must sum to 0.5 and all flows to 1 (general {general:.3f})"
            )
        return self

    def variant_weight(self, flow: str, variant: str) -> float:
        return self.variant_weights.get(f"{flow}:{variant}", 1.0)


def load_config(path: Path = DEFAULT_CONFIG_PATH) -> GenerateConfig:
    """The config in `path`; relative paths inside it are relative to the repository root (cwd)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: generator config not found; run from the repository root") from None
    return GenerateConfig.model_validate(data)
