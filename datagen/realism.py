"""WhatsApp realism: a per-conversation persona decides how the customer types and how the bot formats.

The persona is drawn *before* and independently of the label, and every transform applies to user
turns of either label with the same probabilities, so no transform, length or punctuation habit can
tell the labels apart.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from datagen.tables import greeting_pattern, tables

EMOJI = (
    "🙏",
    "😅",
    "👍",
    "😊",
    "🙂",
    "😂",
    "❤️",
    "🤔",
    "😬",
    "✨",
    "🔥",
    "👀",
    "😭",
    "🥲",
    "😁",
    "🤞",
    "😩",
    "👌",
)


# A bot answer opening with a greeting ("¡Hola! ...") only fits the bot's first message.
# (The greeting words are every language's `bot_greetings`: bots greet across languages.)
@cache
def _bot_greeting_opening() -> re.Pattern[str]:
    return re.compile(
        rf"^(?:¡?(?:{greeting_pattern('bot')})(?: \{{name\}})?\s*[!,.]+\s*(?:[👋😊🙂]\s*)?)(?=\S)",
        re.IGNORECASE,
    )


def strip_bot_greeting(text: str) -> str:
    """ "¡Hola! Claro, ..." -> "Claro, ..." (for bot answers after the first bot message)."""
    rest = _bot_greeting_opening().sub("", text, count=1)
    if rest == text or not rest.strip():
        return text
    return rest[0].upper() + rest[1:]


# A customer message opening with a greeting ("hola!! tienen ...") only fits the first message.
# (The greetings are every language's `user_greetings`.)
@cache
def _user_greeting_opening() -> re.Pattern[str]:
    return re.compile(rf"^(?:{greeting_pattern('user')})\s*[!,.]*\s+(?=\S)", re.IGNORECASE)


def strip_user_greeting(text: str) -> str:
    """ "hola!! tienen habitación ..." -> "tienen habitación ..." (for a request later in the chat)."""
    rest = _user_greeting_opening().sub("", text, count=1)
    return rest if rest.strip() and len(rest.split()) >= 2 else text


QWERTY_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
_NEIGHBOURS: dict[str, str] = {}
for _row_i, _row in enumerate(QWERTY_ROWS):
    for _i, _ch in enumerate(_row):
        near = _row[max(0, _i - 1) : _i] + _row[_i + 1 : _i + 2]
        _NEIGHBOURS[_ch] = near
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")


@dataclass(frozen=True)
class Persona:
    """How one customer types and how this business's bot formats its messages."""

    lowercase: bool
    autocapitalize: bool  # a phone keyboard capitalising the first letter of every message
    strip_accents: bool
    typo_rate: float
    emoji_rate: float
    split_rate: float  # chance a user message is sent as several short messages
    drop_final_punct: bool
    voice_rate: float  # chance a message is a voice-to-text run-on
    media_rate: float
    link_rate: float  # chance a message carries a pasted link
    frame_rate: float  # chance a request is wrapped in one of the language's frames
    bot_whatsapp_markdown: bool  # **bold** -> *bold*
    bot_split_rate: float  # chance a long bot reply is sent as two messages

    @classmethod
    def draw(cls, rng: random.Random, lang: str) -> Persona:
        lowercase = rng.random() < 0.35
        return cls(
            lowercase=lowercase,
            autocapitalize=not lowercase and rng.random() < 0.55,
            strip_accents=tables(lang).realism.writes_accents and rng.random() < 0.3,
            typo_rate=rng.choice((0.0, 0.0, 0.01, 0.03, 0.06)),
            emoji_rate=rng.choice((0.0, 0.05, 0.15, 0.3)),
            split_rate=rng.choice((0.0, 0.1, 0.25)),
            drop_final_punct=rng.random() < 0.5,
            voice_rate=rng.choice((0.0, 0.0, 0.0, 0.15)),
            media_rate=rng.choice((0.0, 0.0, 0.05, 0.1)),
            link_rate=rng.choice((0.0, 0.0, 0.0, 0.04)),
            frame_rate=rng.choice((0.0, 0.0, 0.15, 0.3)),
            bot_whatsapp_markdown=rng.random() < 0.5,
            bot_split_rate=rng.choice((0.0, 0.0, 0.15)),
        )


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept.replace("ß", "ss"))


def typo_word(word: str, rng: random.Random) -> str:
    """One keyboard slip: adjacent-key swap, doubled, dropped or transposed letter."""
    if len(word) < 3 or not word.isalpha():
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.randrange(4)
    if kind == 0 and word[i].lower() in _NEIGHBOURS:
        near = _NEIGHBOURS[word[i].lower()]
        return word[:i] + rng.choice(near) + word[i + 1 :]
    if kind == 1:
        return word[:i] + word[i] + word[i:]
    if kind == 2:
        return word[:i] + word[i + 1 :]
    return word[: i - 1] + word[i] + word[i - 1] + word[i + 1 :]


def add_typos(text: str, rate: float, rng: random.Random) -> str:
    if rate <= 0:
        return text
    # Slots already filled (urls, ids) keep their spelling: only plain alphabetic words get slips.
    return re.sub(
        r"[^\W\d_]{3,}", lambda m: typo_word(m.group(0), rng) if rng.random() < rate else m.group(0), text
    )


def voice_runon(text: str, lang: str, rng: random.Random) -> str:
    """Voice-to-text style: no punctuation, sentences chained with fillers, lowercase."""
    parts = [p.strip(" .!?,;:") for p in _SENTENCE_END.split(text) if p.strip(" .!?,;:")]
    if not parts:
        return text
    joined = parts[0]
    for part in parts[1:]:
        joined += f" {rng.choice(tables(lang).realism.voice_fillers)} {part}"
    return joined.replace("\n", " ").lower()


def split_message(text: str, rng: random.Random) -> list[str]:
    """Several short messages in a row: at sentence ends, or after the first few words."""
    parts = [p for p in _SENTENCE_END.split(text) if p.strip()]
    if len(parts) >= 2:
        cut = rng.randrange(1, len(parts))
        return [" ".join(parts[:cut]), " ".join(parts[cut:])]
    words = text.split(" ")
    if len(words) >= 6 and "\n" not in text:
        cut = rng.randrange(2, len(words) - 2)
        return [" ".join(words[:cut]), " ".join(words[cut:])]
    return [text]


def is_greeting_frame(frame: str, lang: str) -> bool:
    return frame.startswith(tables(lang).realism.greeting_frame_starts)


def frame_request(
    text: str,
    lang: str,
    rng: random.Random,
    *,
    greeting: bool = True,
    keep: Callable[[str], bool] | None = None,
) -> str:
    """Wrap a request in one of the language's frames; `greeting`: greeting frames allowed (first message);
    `keep`: the frames this customer would use ("Moin, ..." is northern German); none: the request as is."""
    frames = [f for f in tables(lang).realism.frames if greeting or not is_greeting_frame(f, lang)]
    frames = [f for f in frames if keep is None or keep(f)]
    if not frames:
        return text
    frame = rng.choice(frames)
    if frame.startswith("{x}"):
        return frame.replace("{x}", text.rstrip(" ?.!"))
    if text[:2].istitle():
        text = text[0].lower() + text[1:]
    return frame.replace("{x}", text)


def style_user(text: str, persona: Persona, lang: str, rng: random.Random) -> list[str]:
    """A user message as this persona would send it: one or several messages."""
    if persona.voice_rate and rng.random() < persona.voice_rate:
        text = voice_runon(text, lang, rng)
    if persona.lowercase:
        text = text.lower()
    if persona.strip_accents:
        text = strip_accents(text)
    text = add_typos(text, persona.typo_rate, rng)
    if persona.drop_final_punct and rng.random() < 0.6:
        text = text.rstrip(".")
    elif rng.random() < 0.05:
        text = text.rstrip(".?!") + rng.choice(("??", "???", "!!", "?!"))
    if persona.emoji_rate and rng.random() < persona.emoji_rate:
        emoji = rng.choice(EMOJI)
        text = f"{text} {emoji}" if rng.random() < 0.8 else f"{emoji} {text}"
    parts = [text]
    if persona.split_rate and rng.random() < persona.split_rate:
        parts = [p for p in split_message(text, rng) if p.strip()]
    if persona.autocapitalize:
        parts = [p[0].upper() + p[1:] if p[:1].islower() else p for p in parts]
    return parts


def style_bot(text: str, persona: Persona, rng: random.Random) -> list[str]:
    """A bot message in this bot's formatting habit: one or (long replies) two messages."""
    if persona.bot_whatsapp_markdown:
        text = re.sub(r"\*\*(.+?)\*\*", r"*\1*", text)
    if (
        persona.bot_split_rate
        and len(text) > 280
        and "\n\n" in text
        and rng.random() < persona.bot_split_rate
    ):
        paragraphs = text.split("\n\n")
        cut = rng.randrange(1, len(paragraphs))
        first, second = "\n\n".join(paragraphs[:cut]).strip(), "\n\n".join(paragraphs[cut:]).strip()
        if first and second:
            return [first, second]
    return [text]
