"""Load and validate the hand-written fragment files (format: docs/DATA.md, brief FRAGMENTS.md).

Layout under a fragments root::

    <root>/<lang>/common.yaml
    <root>/<lang>/business/<domain>.yaml
    <root>/<lang>/general/<category>.yaml
    <root>/<lang>/offer/<domain>.yaml      (informational exchanges within a kind of business's offer)

Every problem is reported with the file and the family it concerns. *Errors* make a file unusable
(missing keys, wrong types, unknown slots, duplicate ids); *warnings* are quotas of the writing brief
not met yet (fewer families than asked for) and never block generation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from datagen.tables import TablesError, countries, language_folders, tables

LANGUAGES: tuple[str, ...] = language_folders()  # every folder with a tables.yaml
DOMAINS: tuple[str, ...] = (
    "telecom",
    "fashion_ecommerce",
    "bank",
    "insurance",
    "airline",
    "clinic",
    "pharmacy",
    "food_delivery",
    "utilities",
    "car_rental",
    "gym",
    "university_admissions",
    "real_estate",
    "parcel_delivery",
    "saas",
    "public_services",
    "hotel",
    "electronics_repair",
    "grocery",
    "travel_agency",
    "restaurant",
    "streaming",
    "cinema",
    "pet_shop",
    "driving_school",
    "furniture_store",
    "beauty_salon",
    "insurance_broker_auto",
)
CATEGORIES: tuple[str, ...] = (
    "coding",
    "writing",
    "homework_math",
    "knowledge",
    "advice_medical",
    "advice_legal",
    "advice_financial",
    "advice_relationship",
    "translation",
    "travel_planning",
    "creative_roleplay",
    "brainstorming",
    "companionship",
    "everyday_info",
    # issue #11: general assistance that looks like customer service
    "third_party_howto",
    "device_commands",
    "other_company_account",
    "focused_chat",
)
# Kinds of business whose offer is information or recommendations (offer/<domain>.yaml): an offer
# family is business support under a profile of this kind and general assistance under any other.
OFFER_DOMAINS: tuple[str, ...] = (
    "cinema",
    "events_ticketing",
    "cafe",
    "restaurant",
    "bookstore",
    "music_streaming",
    "museum",
    "travel_agency",
    "tour_operator",
    "meal_kits",
    "grocery",
    "gym",
    "pharmacy",
    "optician",
    "electronics_retail",
    "saas",
    "language_school",
    "online_course",
    "pet_shop",
    "garden_centre",
    "bike_shop",
    # service businesses whose own know-how (baggage rules, what a policy covers, a rental's excess,
    # sending a parcel abroad) is support under their profile and a how-to about another company's
    # service under any other (session 10: data/scope's weakest pairs)
    "airline",
    "insurance",
    "car_rental",
    "parcel_delivery",
)
OFFER_CATEGORY = "other_offer"  # the category of an offer exchange performed for another kind of business
PROFILE_SLOTS: frozenset[str] = frozenset({"business", "city"})
MIN_OFFER_FAMILIES = 12
MIN_OFFER_PROFILES = 3
FAMILY_KINDS: tuple[str, ...] = ("exchange", "explanation")

# Slots the generator fills; {product} and {plan} need the domain's lists, {topic} only in deflections.
SLOTS: frozenset[str] = frozenset(
    {
        "business",
        "name",
        "agent",
        "order_id",
        "ticket",
        "date",
        "time",
        "amount",
        "amount_large",
        "url",
        "phone",
        "city",
        "product",
        "plan",
    }
)
TOPIC_SLOT = "topic"
SLOT_PATTERN = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
FAMILY_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]*$")

GLUE_LISTS: dict[str, int] = {  # list name -> minimum asked for by the writing brief
    "greetings_user": 40,
    "greetings_bot": 30,
    "closings_user": 40,
    "closings_bot": 30,
    "deflections": 40,
    "insist_user": 15,
    "comply_prefix_bot": 15,
    "handover_bot": 15,
    "handover_user": 10,  # the customer asks for a person or complains: what motivates a handover
    "agent_open": 8,  # a human agent's first message after the handover
    "agent_middle": 8,  # the agent works on the case
    "agent_close": 5,  # the agent wraps up
    "fallback_bot": 15,
    "media_user": 8,
}
# optional glue lists (the generator skips what they do when a language has none)
OPTIONAL_GLUE_LISTS: dict[str, int] = {
    "answer_openers_bot": 10,  # "Happy to help!", "Sorry, not 100% sure, but": before any kind of answer
}
LEGACY_AGENT_LINES = "agent_lines"  # before the split into ordered opener / middle / closer lists
AGENT_LISTS: tuple[str, ...] = ("agent_open", "agent_middle", "agent_close")
MIN_SMALLTALK = 30
MIN_DOMAIN_FAMILIES = 10
MIN_EXPLANATION_FAMILIES = 2
MIN_CATEGORY_FAMILIES = 12


@dataclass(frozen=True)
class Exchange:
    """One user turn (one of several phrasings) answered by one bot turn (one of several replies)."""

    user: tuple[str, ...]
    bot: tuple[str, ...]


@dataclass(frozen=True)
class BusinessFamily:
    uid: str  # "<lang>/business/<domain>/<id>": unique over the whole fragment set
    id: str
    kind: str
    user: tuple[str, ...]
    bot: tuple[str, ...]
    followups: tuple[Exchange, ...]


@dataclass(frozen=True)
class GeneralFamily:
    uid: str  # "<lang>/general/<category>/<id>"
    id: str
    category: str
    user: tuple[str, ...]
    bot: tuple[str, ...]
    deflect_topic: str
    followups: tuple[Exchange, ...]
    # the first answers only ask back ("which language?"): the task is performed in the first followup,
    # so the generator never stops before it (POLICY: a clarifying question alone performs nothing)
    clarifies: bool = False
    # kinds of business (domains or offer kinds) whose own offer this task is: their bots never get it
    # as a general family (POLICY: a travel agency's destination tips are its business)
    offer_of: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Domain:
    lang: str
    key: str
    businesses: tuple[str, ...]
    products: tuple[str, ...]
    plans: tuple[str, ...]
    system: tuple[str, ...]
    families: tuple[BusinessFamily, ...]
    # business name -> (country code, currency code or None) for entries written as mappings
    locales: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    # product or plan -> its price range in base units (about one euro), for entries written as mappings
    prices: dict[str, tuple[float, float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Category:
    lang: str
    key: str
    families: tuple[GeneralFamily, ...]


@dataclass(frozen=True)
class GlueLine:
    uid: str  # "<lang>/common/<list>/<index>"
    text: str


@dataclass(frozen=True)
class SmallTalk:
    uid: str  # "<lang>/common/smalltalk/<index>"
    user: tuple[str, ...]
    bot: tuple[str, ...]


@dataclass(frozen=True)
class Glue:
    lang: str
    lists: dict[str, tuple[GlueLine, ...]]
    smalltalk: tuple[SmallTalk, ...]


@dataclass(frozen=True)
class OfferDomain:
    """A kind of business whose offer is information (offer/<domain>.yaml): who such businesses are,
    profiles that declare the offer, and business-neutral exchanges that perform it."""

    lang: str
    key: str
    offer: str  # one line: what such a business offers (for deflections by other businesses)
    near_domains: tuple[str, ...]  # kinds of business asked such things that do not offer them
    businesses: tuple[str, ...]
    profiles: tuple[str, ...]  # {business}, {city}
    families: tuple[GeneralFamily, ...]  # category OFFER_CATEGORY
    locales: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)


@dataclass(frozen=True)
class LanguageFragments:
    lang: str
    domains: dict[str, Domain]
    categories: dict[str, Category]
    glue: Glue
    offers: dict[str, OfferDomain] = field(default_factory=dict)


@dataclass
class FragmentReport:
    """Errors and warnings found while loading, each naming file (and family)."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class FragmentError(ValueError):
    """Fragment files that cannot be used; the message lists every problem with file and family."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        shown = "\n  ".join(errors[:50])
        more = f"\n  ... and {len(errors) - 50} more" if len(errors) > 50 else ""
        super().__init__(
            f"{len(errors)} problem(s) in the fragment files; fix them and run "
            f"`scopeguard data check`:\n  {shown}{more}"
        )


class _Checker:
    """Collects problems for one file; `where` names file and family."""

    def __init__(self, path: Path, report: FragmentReport, allowed_slots: frozenset[str]) -> None:
        self.path = path
        self.report = report
        self.allowed_slots = allowed_slots

    def error(self, where: str, problem: str) -> None:
        self.report.errors.append(f"{self.path}{where}: {problem}")

    def warn(self, where: str, problem: str) -> None:
        self.report.warnings.append(f"{self.path}{where}: {problem}")

    def strings(
        self,
        value: Any,
        where: str,
        key: str,
        *,
        minimum: int = 1,
        slots: frozenset[str] | None = None,
        literal_unknown: bool = False,
    ) -> tuple[str, ...]:
        """A list of non-empty strings; unknown {slots} are errors unless `literal_unknown` (code, maths)."""
        if value is None:
            self.error(where, f"'{key}' is missing (expected a list of at least {minimum} strings)")
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            self.error(where, f"'{key}' must be a list of strings, found {type(value).__name__}")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if isinstance(item, int | float) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not item.strip():
                self.error(where, f"'{key}'[{i}] must be a non-empty string, found {item!r}")
                continue
            self.check_slots(item, where, f"{key}[{i}]", slots or self.allowed_slots, literal_unknown)
            out.append(item.strip())
        if len(out) < minimum:
            self.error(where, f"'{key}' has {len(out)} usable strings, at least {minimum} needed")
        return tuple(out)

    def check_slots(
        self, text: str, where: str, key: str, allowed: frozenset[str], literal_unknown: bool
    ) -> None:
        for name in SLOT_PATTERN.findall(text):
            if name in allowed:
                continue
            if literal_unknown:
                continue  # braces in code answers ({i}, {"a": 1}) stay literal text
            self.error(where, f"'{key}' uses unknown slot {{{name}}}; allowed: {', '.join(sorted(allowed))}")

    def exchanges(
        self, value: Any, where: str, *, slots: frozenset[str] | None = None, literal_unknown: bool = False
    ) -> tuple[Exchange, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.error(
                where,
                f"'followups' must be a list of {{user: [...], bot: [...]}}, found {type(value).__name__}",
            )
            return ()
        out = []
        for i, item in enumerate(value):
            sub = f"{where} followups[{i}]"
            if not isinstance(item, dict):
                self.error(sub, f"must be a mapping with 'user' and 'bot', found {type(item).__name__}")
                continue
            self.unknown_keys(item, {"user", "bot"}, sub)
            user = self.strings(item.get("user"), sub, "user", slots=slots, literal_unknown=literal_unknown)
            bot = self.strings(item.get("bot"), sub, "bot", slots=slots, literal_unknown=literal_unknown)
            if user and bot:
                out.append(Exchange(user, bot))
        return tuple(out)

    def unknown_keys(self, mapping: dict, known: set[str], where: str) -> None:
        for key in mapping:
            if key not in known:
                self.error(where, f"unknown key '{key}' (expected one of: {', '.join(sorted(known))})")


def _read_yaml(path: Path, report: FragmentReport) -> dict | None:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        report.errors.append(f"{path}: not valid YAML: {exc}".replace("\n", " "))
        return None
    except UnicodeDecodeError as exc:
        report.errors.append(f"{path}: not UTF-8: {exc}")
        return None
    if not isinstance(data, dict):
        report.errors.append(f"{path}: expected a mapping at the top level, found {type(data).__name__}")
        return None
    return data


def _family_list(check: _Checker, data: dict, label: str) -> list[tuple[int, dict]]:
    families = data.get("families")
    if not isinstance(families, list):
        check.error("", f"'families' is missing or not a list (expected a list of {label} families)")
        return []
    out = []
    for i, fam in enumerate(families):
        if not isinstance(fam, dict):
            check.error(f" families[{i}]", f"must be a mapping, found {type(fam).__name__}")
            continue
        out.append((i, fam))
    return out


def _family_id(check: _Checker, fam: dict, i: int, seen: set[str]) -> str | None:
    fid = fam.get("id")
    if not isinstance(fid, str) or not FAMILY_ID_PATTERN.match(fid):
        check.error(f" families[{i}]", f"'id' must be snake_case (a-z, 0-9, _), found {fid!r}")
        return None
    if fid in seen:
        check.error(f" family '{fid}'", "duplicate id in this file; every family id must be unique")
        return None
    seen.add(fid)
    return fid


def _named_like_file(check: _Checker, data: dict, field: str, key: str) -> None:
    if data.get(field) != key:
        check.error("", f"'{field}' is {data.get(field)!r} but the file name says {key!r}; they must match")


def load_domain(path: Path, lang: str, report: FragmentReport) -> Domain | None:
    data = _read_yaml(path, report)
    if data is None:
        return None
    key = path.stem
    check = _Checker(path, report, SLOTS)
    check.unknown_keys(data, {"domain", "businesses", "products", "plans", "system", "families"}, "")
    _named_like_file(check, data, "domain", key)
    if key not in DOMAINS:
        check.error("", f"domain {key!r} is not one of the {len(DOMAINS)} domains: {', '.join(DOMAINS)}")
    products, product_prices = _priced(check, data.get("products", []), "products")
    plans, plan_prices = _priced(check, data.get("plans", []), "plans")
    slots = set(SLOTS)
    if not products:
        slots.discard("product")
    if not plans:
        slots.discard("plan")
    check.allowed_slots = frozenset(slots)
    businesses, locales = _businesses(check, data.get("businesses"))
    system = check.strings(data.get("system", []), "", "system", minimum=0)
    families: list[BusinessFamily] = []
    seen: set[str] = set()
    for i, fam in _family_list(check, data, "business"):
        fid = _family_id(check, fam, i, seen)
        if fid is None:
            continue
        where = f" family '{fid}'"
        check.unknown_keys(fam, {"id", "kind", "user", "bot", "followups"}, where)
        kind = fam.get("kind", "exchange")
        if kind not in FAMILY_KINDS:
            check.error(where, f"'kind' must be one of {', '.join(FAMILY_KINDS)}, found {kind!r}")
            continue
        user = check.strings(fam.get("user"), where, "user")
        bot = check.strings(fam.get("bot"), where, "bot")
        followups = check.exchanges(fam.get("followups"), where)
        if user and bot:
            families.append(BusinessFamily(f"{lang}/business/{key}/{fid}", fid, kind, user, bot, followups))
    if len(families) < MIN_DOMAIN_FAMILIES:
        check.warn("", f"{len(families)} usable families, the brief asks for >= {MIN_DOMAIN_FAMILIES}")
    n_expl = sum(f.kind == "explanation" for f in families)
    if n_expl < MIN_EXPLANATION_FAMILIES:
        check.warn("", f"{n_expl} explanation families, the brief asks for >= {MIN_EXPLANATION_FAMILIES}")
    if not businesses:
        return None
    prices = {**product_prices, **plan_prices}
    return Domain(lang, key, businesses, products, plans, system, tuple(families), locales, prices)


def _priced(check: _Checker, value: Any, key: str) -> tuple[tuple[str, ...], dict[str, tuple[float, float]]]:
    """Product or plan entries: a name, or {name: ..., price: [low, high]} (base units, about one euro),
    so that an {amount} right after the product is a plausible price of it."""
    if not isinstance(value, list):
        return check.strings(value, "", key, minimum=0), {}
    names: list[str] = []
    prices: dict[str, tuple[float, float]] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            names.extend(check.strings([item], "", f"{key}[{i}]", slots=frozenset()))
            continue
        check.unknown_keys(item, {"name", "price"}, f" {key}[{i}]")
        name, price = item.get("name"), item.get("price")
        if not isinstance(name, str) or not name.strip():
            check.error("", f"'{key}'[{i}] needs a non-empty 'name', found {name!r}")
            continue
        if not isinstance(price, list) or not _is_range(price):
            check.error(
                "",
                f"'{key}'[{i}] {name!r}: 'price' must be [low, high] with 0 < low <= high, found {price!r}",
            )
            continue
        names.append(name.strip())
        prices[name.strip()] = (float(price[0]), float(price[1]))
    return tuple(names), prices


def _is_range(value: Any) -> bool:
    return (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and 0 < value[0] <= value[1]
    )


Locale = tuple[str | None, str | None]  # (country code, currency code) of one business


def _businesses(check: _Checker, value: Any) -> tuple[tuple[str, ...], dict[str, Locale]]:
    """Business entries: a name, or {name: ..., country: UK, currency: GBP} (country and currency optional).

    Without a country the business operates in its language's home market (``default_country`` in the
    language's tables.yaml)."""
    known_countries, known_currencies = countries().countries, countries().currencies

    if not isinstance(value, list):
        return check.strings(value, "", "businesses", slots=frozenset()), {}
    names: list[str] = []
    locales: dict[str, Locale] = {}
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            names.extend(check.strings([item], "", f"businesses[{i}]", slots=frozenset()))
            continue
        check.unknown_keys(item, {"name", "country", "currency"}, f" businesses[{i}]")
        name = item.get("name")
        country, currency = item.get("country"), item.get("currency")
        if not isinstance(name, str) or not name.strip():
            check.error("", f"'businesses'[{i}] needs a non-empty 'name', found {name!r}")
            continue
        if country is not None and country not in known_countries:
            check.error(
                "",
                f"'businesses'[{i}] {name!r}: country {country!r} is not one of {', '.join(known_countries)}",
            )
            continue
        if currency is not None and currency not in known_currencies:
            check.error(
                "",
                f"'businesses'[{i}] {name!r}: currency {currency!r} "
                f"is not one of {', '.join(known_currencies)}",
            )
            continue
        names.append(name.strip())
        if country is not None or currency is not None:
            locales[name.strip()] = (country, currency)
    if not names:
        check.error("", "'businesses' has no usable entry, at least 1 needed")
    return tuple(names), locales


def load_category(path: Path, lang: str, report: FragmentReport) -> Category | None:
    data = _read_yaml(path, report)
    if data is None:
        return None
    key = path.stem
    # General answers may hold code or maths with braces: unknown {x} stays literal text there.
    check = _Checker(path, report, SLOTS - {"product", "plan"})
    check.unknown_keys(data, {"category", "families"}, "")
    _named_like_file(check, data, "category", key)
    if key not in CATEGORIES:
        check.error(
            "", f"category {key!r} is not one of the {len(CATEGORIES)} categories: {', '.join(CATEGORIES)}"
        )
    families: list[GeneralFamily] = []
    seen: set[str] = set()
    for i, fam in _family_list(check, data, "general"):
        fid = _family_id(check, fam, i, seen)
        if fid is not None:
            family = _general_family(check, fam, fid, f"{lang}/general/{key}/{fid}", key)
            if family is not None:
                families.append(family)
    if len(families) < MIN_CATEGORY_FAMILIES:
        check.warn("", f"{len(families)} usable families, the brief asks for >= {MIN_CATEGORY_FAMILIES}")
    return Category(lang, key, tuple(families))


def _general_family(check: _Checker, fam: dict, fid: str, uid: str, category: str) -> GeneralFamily | None:
    """A family of requests and answers that perform a task (general categories and offer files)."""
    where = f" family '{fid}'"
    keys = {"id", "user", "bot", "deflect_topic", "followups", "clarifies", "offer_of"}
    check.unknown_keys(fam, keys, where)
    user = check.strings(fam.get("user"), where, "user", literal_unknown=True)
    bot = check.strings(fam.get("bot"), where, "bot", literal_unknown=True)
    topic = fam.get("deflect_topic")
    if not isinstance(topic, str) or not topic.strip():
        check.error(where, f"'deflect_topic' must be a short noun phrase, found {topic!r}")
        return None
    if SLOT_PATTERN.search(topic):
        check.error(where, f"'deflect_topic' must not contain slots, found {topic!r}")
        return None
    followups = check.exchanges(fam.get("followups"), where, literal_unknown=True)
    clarifies = fam.get("clarifies", False)
    if not isinstance(clarifies, bool):
        check.error(where, f"'clarifies' must be true or false, found {clarifies!r}")
        return None
    if clarifies and not followups:
        check.error(where, "'clarifies: true' needs a followup that performs the task")
        return None
    offer_of = _offer_of(check, fam.get("offer_of", []), where)
    if offer_of is None or not (user and bot):
        return None
    return GeneralFamily(uid, fid, category, user, bot, topic.strip(), followups, clarifies, offer_of)


def _offer_of(check: _Checker, value: Any, where: str) -> frozenset[str] | None:
    """The kinds of business a general task belongs to (domains or offer kinds); None after an error."""
    known = set(DOMAINS) | set(OFFER_DOMAINS)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        check.error(where, f"'offer_of' must be a list of domains or offer kinds, found {value!r}")
        return None
    unknown = [v for v in value if v not in known]
    if unknown:
        names = ", ".join(map(repr, unknown))
        check.error(where, f"'offer_of' holds {names}: use {', '.join(sorted(known))}")
        return None
    return frozenset(value)


def load_offer(path: Path, lang: str, report: FragmentReport) -> OfferDomain | None:
    """An offer file: businesses, profiles declaring the offer and business-neutral exchanges."""
    data = _read_yaml(path, report)
    if data is None:
        return None
    key = path.stem
    check = _Checker(path, report, PROFILE_SLOTS)
    check.unknown_keys(data, {"domain", "offer", "near_domains", "businesses", "profiles", "families"}, "")
    _named_like_file(check, data, "domain", key)
    if key not in OFFER_DOMAINS:
        check.error("", f"offer domain {key!r} is not one of {', '.join(OFFER_DOMAINS)}")
        return None
    offer = data.get("offer")
    if not isinstance(offer, str) or not offer.strip() or SLOT_PATTERN.search(offer):
        check.error("", f"'offer' must be one line saying what such a business offers, found {offer!r}")
        return None
    near = check.strings(data.get("near_domains", []), "", "near_domains", minimum=0, slots=frozenset())
    for other in near:
        if other not in OFFER_DOMAINS or other == key:
            check.error("", f"'near_domains' holds {other!r}: use other domains of {OFFER_DOMAINS}")
    businesses, locales = _businesses(check, data.get("businesses"))
    profiles = check.strings(data.get("profiles"), "", "profiles", minimum=MIN_OFFER_PROFILES)
    families: list[GeneralFamily] = []
    seen: set[str] = set()
    for i, fam in _family_list(check, data, "offer"):
        fid = _family_id(check, fam, i, seen)
        if fid is not None:
            family = _general_family(check, fam, fid, f"{lang}/offer/{key}/{fid}", OFFER_CATEGORY)
            if family is not None:
                families.append(family)
    if len(families) < MIN_OFFER_FAMILIES:
        check.warn("", f"{len(families)} usable families, the brief asks for >= {MIN_OFFER_FAMILIES}")
    if not businesses or not profiles:
        return None
    return OfferDomain(
        lang,
        key,
        offer.strip(),
        tuple(n for n in near if n in OFFER_DOMAINS and n != key),
        businesses,
        profiles,
        tuple(families),
        locales,
    )


def load_glue(path: Path, lang: str, report: FragmentReport) -> Glue | None:
    data = _read_yaml(path, report)
    if data is None:
        return None
    check = _Checker(path, report, SLOTS - {"product", "plan"})
    check.unknown_keys(
        data, set(GLUE_LISTS) | set(OPTIONAL_GLUE_LISTS) | {"smalltalk", LEGACY_AGENT_LINES}, ""
    )
    if LEGACY_AGENT_LINES in data and not any(k in data for k in AGENT_LISTS):
        # the old flat list: every agent list draws from it (order not guaranteed); split it up
        check.warn("", f"'{LEGACY_AGENT_LINES}' is the old flat list; split it into {', '.join(AGENT_LISTS)}")
        data = {**data, **{k: data[LEGACY_AGENT_LINES] for k in AGENT_LISTS}}
    lists: dict[str, tuple[GlueLine, ...]] = {}
    for name, minimum in GLUE_LISTS.items():
        slots = check.allowed_slots | {TOPIC_SLOT} if name == "deflections" else None
        texts = check.strings(data.get(name), "", name, slots=slots)
        if len(texts) < minimum:
            check.warn("", f"'{name}' has {len(texts)} lines, the brief asks for >= {minimum}")
        if len(set(texts)) < len(texts):
            check.error("", f"'{name}' repeats a line; every line must be distinct")
        lists[name] = tuple(GlueLine(f"{lang}/common/{name}/{i}", t) for i, t in enumerate(texts))
    for name, minimum in OPTIONAL_GLUE_LISTS.items():
        texts = check.strings(data.get(name, []), "", name, minimum=0)
        if 0 < len(texts) < minimum:
            check.warn("", f"'{name}' has {len(texts)} lines, at least {minimum} make it varied")
        if len(set(texts)) < len(texts):
            check.error("", f"'{name}' repeats a line; every line must be distinct")
        lists[name] = tuple(GlueLine(f"{lang}/common/{name}/{i}", t) for i, t in enumerate(texts))
    smalltalk = [
        SmallTalk(f"{lang}/common/smalltalk/{i}", ex.user, ex.bot)
        for i, ex in enumerate(check.exchanges(data.get("smalltalk"), " smalltalk"))
    ]
    if len(smalltalk) < MIN_SMALLTALK:
        check.warn("", f"'smalltalk' has {len(smalltalk)} pairs, the brief asks for >= {MIN_SMALLTALK}")
    if any(not lists[name] for name in GLUE_LISTS) or not smalltalk:
        return None
    return Glue(lang, lists, tuple(smalltalk))


def load_language(lang_dir: Path, lang: str, report: FragmentReport) -> LanguageFragments | None:
    """One language's fragments; None when the language has no usable common.yaml."""
    domains: dict[str, Domain] = {}
    categories: dict[str, Category] = {}
    for path in sorted((lang_dir / "business").glob("*.yaml")):
        report.files.append(str(path))
        domain = load_domain(path, lang, report)
        if domain is not None and domain.families:
            domains[domain.key] = domain
    for path in sorted((lang_dir / "general").glob("*.yaml")):
        report.files.append(str(path))
        category = load_category(path, lang, report)
        if category is not None and category.families:
            categories[category.key] = category
    offers: dict[str, OfferDomain] = {}
    for path in sorted((lang_dir / "offer").glob("*.yaml")):
        report.files.append(str(path))
        offer = load_offer(path, lang, report)
        if offer is not None and offer.families:
            offers[offer.key] = offer
    common = lang_dir / "common.yaml"
    glue = None
    if common.exists():
        report.files.append(str(common))
        glue = load_glue(common, lang, report)
    else:
        report.warnings.append(f"{common}: missing; the language cannot be generated without it")
    for key in DOMAINS:
        if key not in domains and not (lang_dir / "business" / f"{key}.yaml").exists():
            report.warnings.append(f"{lang_dir}/business/{key}.yaml: not written yet")
    for key in CATEGORIES:
        if key not in categories and not (lang_dir / "general" / f"{key}.yaml").exists():
            report.warnings.append(f"{lang_dir}/general/{key}.yaml: not written yet")
    if glue is None or not domains or not categories:
        return None
    return LanguageFragments(lang, domains, categories, glue, offers)


REPEAT_MIN_CHARS = 25  # shorter lines ("1", "ok go ahead") may recur in real chats


def repeated_lines(frag: LanguageFragments) -> list[str]:
    """Warnings for a line (>= REPEAT_MIN_CHARS) written in two families: it would recur across splits."""
    owners: dict[str, set[str]] = {}
    families: list[BusinessFamily | GeneralFamily] = [f for d in frag.domains.values() for f in d.families]
    families += [f for c in frag.categories.values() for f in c.families]
    for fam in families:
        texts = fam.user + fam.bot + tuple(t for ex in fam.followups for t in ex.user + ex.bot)
        for text in texts:
            key = " ".join(text.lower().split())
            if len(key) >= REPEAT_MIN_CHARS:
                owners.setdefault(key, set()).add(fam.uid)
    return [
        f"{frag.lang}: the line {key[:60]!r} is written in {len(uids)} families ({', '.join(sorted(uids))}); "
        "every family needs its own wording"
        for key, uids in owners.items()
        if len(uids) > 1
    ]


def load_fragments(
    root: Path, languages: tuple[str, ...] = LANGUAGES
) -> tuple[dict[str, LanguageFragments], FragmentReport]:
    """All usable languages under `root` and the report of every problem (nothing raised)."""
    report = FragmentReport()
    out: dict[str, LanguageFragments] = {}
    for lang in languages:
        lang_dir = root / lang
        try:
            tables(lang)
        except TablesError as exc:
            report.errors.append(str(exc))
            continue
        if not lang_dir.is_dir():
            report.warnings.append(f"{lang_dir}: no fragments for language {lang!r} yet")
            continue
        fragments = load_language(lang_dir, lang, report)
        if fragments is not None:
            out[lang] = fragments
            report.warnings.extend(repeated_lines(fragments))
    return out, report


def load_fragments_strict(root: Path, languages: tuple[str, ...] = LANGUAGES) -> dict[str, LanguageFragments]:
    """Like load_fragments, but any error raises FragmentError (generation must not skip broken files)."""
    fragments, report = load_fragments(root, languages)
    if report.errors:
        raise FragmentError(report.errors)
    missing = [lang for lang in languages if lang not in fragments]
    if missing:
        raise FragmentError(
            [
                f"{root}/{lang}: no usable fragments (need common.yaml, >= 1 domain and >= 1 category)"
                for lang in missing
            ]
        )
    return fragments
