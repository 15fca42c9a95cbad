"""GenerateConfig: the one typed config of a generation run, loaded from data/generate.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from datagen.flows import FLOW_VARIANTS, GENERAL
from datagen.fragments import CATEGORIES, DOMAINS, LANGUAGES

SPLITS: tuple[str, ...] = ("train", "validation", "test", "heldout")
DEFAULT_CONFIG_PATH = Path("data/generate.yaml")


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
    heldout_domains: tuple[str, ...] = ("cinema", "pet_shop", "driving_school")
    heldout_categories: tuple[str, ...] = ("advice_legal", "brainstorming")
    heldout_variants: tuple[str, ...] = ()
    flow_mix: dict[str, float] = Field(default_factory=dict)
    max_turns: int = Field(30, ge=1)
    general_exclusions: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    variant_weights: dict[str, float] = Field(default_factory=dict)

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
        if set(self.flow_mix) != set(FLOW_VARIANTS):
            raise ValueError(f"flow_mix must give a share for every flow: {sorted(FLOW_VARIANTS)}")
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
