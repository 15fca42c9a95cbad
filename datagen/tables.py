"""Language tables: the per-language facts the generator and the coherence rules use, read from data files.

Layout (beside the fragments, one folder per language)::

    data/fragments/<lang>/tables.yaml   # LanguageTables: slots, realism, conversation, coherence
    data/fragments/countries.yaml       # Countries: currencies and the countries businesses operate in

Every language folder under ``data/fragments/`` with a ``tables.yaml`` is a language the generator
knows (``language_folders``); adding a language means adding its folder (fragments + tables), no code.
Files are validated when loaded: a missing or unknown key, a wrong type or an invalid regular
expression raises ``TablesError`` naming the file and the key. The tables are read from the committed
``data/fragments`` whatever fragments root a generation run uses (a ``_dev`` root holds fragments only).
"""

from __future__ import annotations

import re
import string
from functools import cache
from pathlib import Path
from typing import Annotated, TypeVar

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from classifier.validation import validation_problems

TABLES_ROOT = Path(__file__).resolve().parent.parent / "data" / "fragments"
TABLES_FILE = "tables.yaml"
COUNTRIES_FILE = "countries.yaml"


class TablesError(ValueError):
    """A tables file is missing, is not YAML, or does not match its schema."""


def _split_words(value: object) -> object:
    return value.split() if isinstance(value, str) else value


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc}): {value!r}") from None
    return value


Regex = Annotated[str, BeforeValidator(lambda v: _check_regex(v) if isinstance(v, str) else v)]
Words = Annotated[tuple[str, ...], BeforeValidator(_split_words)]  # a list, or one space-separated string
NonEmpty = Annotated[tuple[str, ...], Field(min_length=1)]


def _check_fields(templates: tuple[str, ...], allowed: set[str]) -> tuple[str, ...]:
    for template in templates:
        used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        if used - allowed:
            raise ValueError(f"{template!r} uses {sorted(used - allowed)}; the fields are {sorted(allowed)}")
    return templates


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AmountCue(_Strict):
    pattern: Regex
    low: float = Field(gt=0)
    high: float = Field(gt=0)


class SlotTables(_Strict):
    """Values for the slots of datagen/slots.py.

    default_country: country (countries.yaml) of a business whose domain file names none: the home market.
    names: first names for {name} and {agent}.
    months: the twelve month names as written in a date ("14 de março"), January first.
    date_formats: formats of {date} (one per conversation), with {day}, {month} (numbers) and {name}.
    time_formats: formats of a bare {time} (drawn at each use; one format: used without a draw), with
        {hour} (24h), {hour12}, {ampm} and {minute}.
    url_paths: first path segments of a pasted link.
    amount_cues: what an {amount} prices, told by the words around it ("delivery fee of {amount}",
        "{amount}/night"): the first cue whose pattern (case-insensitive) matches the line around the slot
        (40 characters each side, the slot itself written {amount}) sets its range in base units;
        without a cue the domain's range applies.
    """

    default_country: str
    names: NonEmpty
    months: tuple[str, ...] = Field(min_length=12, max_length=12)
    date_formats: NonEmpty
    time_formats: NonEmpty
    url_paths: NonEmpty
    amount_cues: tuple[AmountCue, ...]

    @field_validator("date_formats")
    @classmethod
    def _date_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_fields(value, {"day", "month", "name"})

    @field_validator("time_formats")
    @classmethod
    def _time_fields(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _check_fields(value, {"hour", "hour12", "ampm", "minute"})


class RealismTables(_Strict):
    """How customers of this language type (datagen/realism.py).

    writes_accents: the language writes accents, so a persona may drop them.
    voice_fillers: words that chain the sentences of a voice-to-text run-on.
    frames: how some customers wrap any request ({x} = the request).
    greeting_frame_starts: openings of the frames that greet (used only on the first user message).
    nudges: a customer chasing an unanswered conversation.
    bot_greetings: greeting words a bot answer may open with ("¡Hola! ..."), regular expressions;
        dropped from bot answers after the first (every language's, since bots greet across languages).
    user_greetings: greeting openings of a customer message, regular expressions; dropped from a
        request later in the chat (every language's).
    """

    writes_accents: bool
    voice_fillers: NonEmpty
    frames: NonEmpty
    greeting_frame_starts: tuple[str, ...]
    nudges: NonEmpty
    bot_greetings: tuple[Regex, ...]
    user_greetings: tuple[Regex, ...]

    @field_validator("frames")
    @classmethod
    def _frames_hold_the_request(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for frame in value:
            if "{x}" not in frame:
                raise ValueError(f"frame {frame!r} has no {{x}} for the request")
        return value


class ConversationTables(_Strict):
    """Wording the flows recognise (case-insensitive regular expressions).

    handover_wording: a bot reply that hands the chat over to a person (the bot must not go on after it).
    waiting: a customer closing that means "I'll wait" (after a handover), not "thanks, solved".
    giving_in: a comply prefix in which the bot gives in ("Alright, just this once"): it only follows a
        customer who insisted, never opens a plain answer.
    knows_customer: a bot greeting that recognises a returning, logged-in customer ("Welcome back"): it
        may name them, and so may the rest of the chat; otherwise a bot names the customer only once
        they gave their name.
    """

    handover_wording: Regex
    waiting: Regex
    giving_in: Regex
    knows_customer: Regex


class AddressTables(_Strict):
    """How a bot addresses the customer: one form per conversation (datagen/fit.py).

    forms: form -> regular expression (case-sensitive: German "Sie") of the words that mark a bot or agent
        line as using that form; an empty mapping: the language has one form only.
    weights: how often a conversation's bot uses each form when its system prompt prescribes none; a form
        without a weight is never drawn, so lines marked with it are left out.
    prescribed: form -> case-insensitive regular expression of a system prompt that prescribes the form
        ("Duze die Kunden", "tuteo").
    """

    forms: dict[str, Regex]
    weights: dict[str, float]
    prescribed: dict[str, Regex]

    @field_validator("weights", "prescribed")
    @classmethod
    def _known_forms(cls, value: dict, info: ValidationInfo) -> dict:
        unknown = set(value) - set(info.data.get("forms", {}))
        if unknown:
            raise ValueError(f"{sorted(unknown)} are not among the forms")
        if info.field_name == "weights" and info.data.get("forms") and not any(w > 0 for w in value.values()):
            raise ValueError("at least one form needs a weight above 0")
        return value


class RegionalWords(_Strict):
    """Words said only in some countries ("G'day", "Grüezi", "che"): lines with them are used only by
    businesses there (and their customers)."""

    pattern: Regex  # case-insensitive
    countries: NonEmpty


class CoherenceTables(_Strict):
    """Vocabularies of the coherence rules (datagen/coherence.py documents the rules).

    stopwords: words that carry no content (a space-separated string or a list).
    ambiguous_months: month names that are also common words ("may"): counted only next to a day number.
    kin: relative -> the person it names (spelling variants of one person map to the same value).
    kin_needs_possessive: relatives that are also common words ("Frau"): counted only after a possessive.
    possessives: the possessives that make such a word a relative.
    your: second-person possessives: a bot names the user's relative only after one of these.
    days: weekday or today/tomorrow word -> the day it names.
    not_a_day: a regular expression for the uses of day words that are no day ("guten Morgen").
    business_hooks: regular expressions of general requests that address a specific kind of business.
    smalltalk_reactions: regular expressions of small-talk lines reacting to something the bot showed.
    regional: words of some countries only; a line with them fits businesses of those countries.
    domain_words: group of domains (datagen.fit.DOMAIN_GROUPS) -> case-insensitive regular expression of
        words that tie a glue line to those domains ("your order" is for shops, not for an insurer).
    """

    stopwords: Words
    ambiguous_months: Words
    kin: dict[str, str]
    kin_needs_possessive: Words
    possessives: Words
    your: Words = Field(min_length=1)
    days: dict[str, str]
    not_a_day: Regex
    business_hooks: tuple[Regex, ...]
    smalltalk_reactions: tuple[Regex, ...]
    regional: tuple[RegionalWords, ...]
    domain_words: dict[str, Regex]


class LanguageTables(_Strict):
    """Everything the generator knows about one language besides its fragments."""

    slots: SlotTables
    realism: RealismTables
    conversation: ConversationTables
    address: AddressTables
    coherence: CoherenceTables


class Currency(_Strict):
    symbol: str
    factor: float = Field(gt=0)  # from base units (about one euro/dollar)
    styles: NonEmpty  # display styles: {s} the symbol, {v} the value
    # how people name it after a number ("600 euro", "40 reais"); case-insensitive regular expression
    words: Regex


class Country(_Strict):
    """Where a business operates: its currency, cities, web domains and phone numbers."""

    currency: str
    cities: NonEmpty
    tlds: NonEmpty
    phones: NonEmpty  # {d2}, {d3}, {d4}: random digits
    decimal_comma: bool = False


class Countries(_Strict):
    currencies: dict[str, Currency]
    countries: dict[str, Country]

    @field_validator("countries")
    @classmethod
    def _known_currencies(cls, value: dict[str, Country], info: ValidationInfo) -> dict[str, Country]:
        currencies = info.data.get("currencies", {})
        for code, country in value.items():
            if country.currency not in currencies:
                raise ValueError(f"{code}: currency {country.currency!r} is not in currencies")
        return value


_Model = TypeVar("_Model", bound=BaseModel)


def _load(path: Path, model: type[_Model]) -> _Model:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TablesError(f"{path}: missing; every language folder needs its {path.name}") from None
    except yaml.YAMLError as exc:
        raise TablesError(f"{path}: not valid YAML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise TablesError(f"{path}: {validation_problems(exc)}") from None


def load_tables(lang_dir: Path) -> LanguageTables:
    """The validated tables of one language folder."""
    return _load(lang_dir / TABLES_FILE, LanguageTables)


def load_countries(root: Path = TABLES_ROOT) -> Countries:
    return _load(root / COUNTRIES_FILE, Countries)


def language_folders(root: Path = TABLES_ROOT) -> tuple[str, ...]:
    """The languages under root: folders with a tables file, sorted by name."""
    return tuple(sorted(p.parent.name for p in root.glob(f"*/{TABLES_FILE}")))


@cache
def tables(lang: str) -> LanguageTables:
    """The committed tables of `lang` (data/fragments/<lang>/tables.yaml), loaded once."""
    if not (TABLES_ROOT / lang).is_dir():
        raise TablesError(
            f"no language folder {TABLES_ROOT / lang}; languages: {', '.join(language_folders())}"
        )
    return load_tables(TABLES_ROOT / lang)


@cache
def countries() -> Countries:
    """The committed countries and currencies (data/fragments/countries.yaml), loaded once."""
    return load_countries()


@cache
def greeting_pattern(kind: str) -> str:
    """Every language's ``bot_greetings`` or ``user_greetings`` as one regex alternation."""
    field = {"bot": "bot_greetings", "user": "user_greetings"}[kind]
    return "|".join(g for lang in language_folders() for g in getattr(tables(lang).realism, field))
