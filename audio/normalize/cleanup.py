"""Before and after the rules: typography in, unknown acronyms spelled, symbols and case out."""

from __future__ import annotations

import re
import unicodedata

from audio.normalize.glue import GLUE, glue

# Letter names as Vietnamese say them when spelling an acronym.
LETTERS = {
    "a": "a", "ă": "á", "â": "ớ", "b": "bê", "c": "xê", "d": "dê", "đ": "đê", "e": "e",
    "ê": "ê", "f": "ép", "g": "giê", "h": "hát", "i": "i", "j": "gi", "k": "ca", "l": "e lờ",
    "m": "em mờ", "n": "en nờ", "o": "o", "ô": "ô", "ơ": "ơ", "p": "pê", "q": "cu", "r": "e rờ",
    "s": "ét", "t": "tê", "u": "u", "ư": "ư", "v": "vê", "w": "vê kép", "x": "ích",
    "y": "i dài", "z": "dét",
}  # fmt: skip
_VOWELS = "aăâeêioôơuưy"
_ONSET = r"(?:ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|[bcdđghklmnprstvx])?"
_CODA = r"(?:ch|ng|nh|[cmnptiyou])?"
_SYLLABLE = re.compile(rf"{_ONSET}[{_VOWELS}]{{1,3}}{_CODA}")
_CAPS = re.compile(r"(?<![\w])([A-ZĐ][A-ZĐ0-9]*)(?![\w])")
_TYPOGRAPHY = {
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "…": ". ", "“": '"', "”": '"', "‘": "'",
    "’": "'", "«": '"', "»": '"', "\u200b": "",
    # Vulgar fractions become written ones the rules read ("2½ kg" is "2 1/2 kg").
    "½": " 1/2", "¼": " 1/4", "¾": " 3/4", "⅓": " 1/3", "⅔": " 2/3",
}  # fmt: skip
_SYMBOLS = [
    (re.compile(r"\s*&\s*"), " và "),
    (re.compile(r"\s*\+\s*"), " cộng "),
    (re.compile(r"\s*=\s*"), " bằng "),
    (re.compile(r"\s+[–—-]\s+|\s*[–—]\s*"), ", "),  # a spaced dash: a pause
    (re.compile(r"(?<=\w)[-/](?=\w)"), " "),  # joiners inside words: QĐ-UBND, hộ/ngày
    (re.compile(r"[()\[\]{}]"), ", "),
    (re.compile(r"[\"'`*#@^~_|<>\\/-]"), " "),
]
_PUNCT_SPACE = re.compile(r"\s+([.,!?;:])")
_PUNCT_RUNS = re.compile(r"([.,!?;:])(?:\s*[.,;:])+")
_COMMA_AFTER_STOP = re.compile(r"([.!?;:])\s*,")
_SPACES = re.compile(r"[ \t\r\n]+")
_LEADING_PUNCT = re.compile(r"^[\s,.;:]+")


def prepare(text: str) -> str:
    """Unicode NFC and plain typography (ellipsis, curly quotes, odd spaces)."""
    text = unicodedata.normalize("NFC", text)
    for src, dst in _TYPOGRAPHY.items():
        text = text.replace(src, dst)
    return text


def is_syllable(word: str) -> bool:
    """True when word could be one Vietnamese syllable (tone marks ignored)."""
    base = "".join(ch for ch in unicodedata.normalize("NFD", word.lower()) if not _is_tone_mark(ch))
    base = unicodedata.normalize("NFC", base)
    return bool(_SYLLABLE.fullmatch(base))


def _is_tone_mark(ch: str) -> bool:
    # Grave, acute, hook, tilde, dot below: the five tone marks (not the vowel hats and horns).
    return ch in "\u0300\u0301\u0309\u0303\u0323"


def spell(word: str) -> str:
    """Spell a word letter by letter with Vietnamese letter names."""
    return glue(" ".join(LETTERS.get(ch, ch) for ch in word.lower()))


def spell_acronyms(text: str) -> str:
    """Spell capitalised tokens that are not Vietnamese syllables (unknown acronyms)."""

    def replace(m: re.Match[str]) -> str:
        token = m.group(1)
        if any(ch.isdigit() for ch in token):
            return token
        if len(token) == 1:
            return token if token.lower() in "aeiouy" else spell(token)
        if len(token) > 8 or is_syllable(token):
            return token
        return spell(token)

    return _CAPS.sub(replace, text)


def finish(text: str) -> str:
    """Symbols to words or pauses, lowercase, tidy spaces and punctuation."""
    for pattern, replacement in _SYMBOLS:
        text = pattern.sub(replacement, text)
    text = text.lower()
    text = _SPACES.sub(" ", text)
    text = _PUNCT_SPACE.sub(r"\1", text)
    text = _COMMA_AFTER_STOP.sub(r"\1", text)
    text = _PUNCT_RUNS.sub(r"\1", text)
    text = re.sub(r"([.,!?;:])(?=[^\s.,!?;:])", r"\1 ", text)
    text = _LEADING_PUNCT.sub("", text)
    text = re.sub(rf"{GLUE}+", GLUE, text)
    text = re.sub(rf" ?{GLUE} ?", GLUE, text)
    return text.strip(f" {GLUE},;:")
