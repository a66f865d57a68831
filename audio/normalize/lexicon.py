"""The abbreviation and pronunciation lexicon: built-in data (lexicon.yaml) plus admins' entries."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources

import yaml

logger = logging.getLogger(__name__)

# Letters, digits and the joiners that occur inside abbreviations (GD&ĐT, QĐ-UBND, HIV/AIDS, TP.).
_TERM = re.compile(r"[^\W_](?:[\w&\-/.]*[^\W_.])?\.?")
MAX_TERM = 64
MAX_SPOKEN = 200


class LexiconError(ValueError):
    """A lexicon entry is unusable; the message names the term.

    ``code`` says why (``not_mapping``, ``term``, ``term_long``, ``no_spoken``, ``digits``,
    ``spoken_long``, ``format``), so a UI can explain it in the user's language.
    """

    def __init__(self, message: str, *, code: str = "invalid", term: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.term = term


@lru_cache(maxsize=1)
def builtin_lexicon() -> dict[str, str]:
    """The built-in entries shipped in audio/normalize/lexicon.yaml."""
    text = resources.files("audio.normalize").joinpath("lexicon.yaml").read_text("utf-8")
    data = yaml.safe_load(text)
    return dict(validate_entries(data))


def validate_entries(entries: Mapping[str, str]) -> dict[str, str]:
    """Check and tidy entries: single terms, spoken forms in words; LexiconError otherwise."""
    if not isinstance(entries, Mapping):
        raise LexiconError("a lexicon is a mapping of term to spoken form", code="not_mapping")
    out: dict[str, str] = {}
    for term, spoken in entries.items():
        out[validate_term(term)] = validate_spoken(term, spoken)
    return out


def validate_term(term: object) -> str:
    """A term is one written token (letters, digits, & - / . inside), at most 64 characters."""
    if not isinstance(term, str) or not _TERM.fullmatch(term.strip()):
        raise LexiconError(
            f"lexicon term {term!r} must be one word (letters, digits, & - / .)",
            code="term",
            term=term,
        )
    term = term.strip()
    if len(term) > MAX_TERM:
        raise LexiconError(
            f"lexicon term {term!r} is longer than {MAX_TERM} characters",
            code="term_long",
            term=term,
        )
    return term


def validate_spoken(term: object, spoken: object) -> str:
    """A spoken form is non-empty words without digits, at most 200 characters, lowercased."""
    if not isinstance(spoken, str) or not spoken.strip():
        raise LexiconError(
            f"lexicon entry {term!r} has no spoken form", code="no_spoken", term=term
        )
    spoken = " ".join(spoken.split()).lower()
    if any(ch.isdigit() for ch in spoken):
        raise LexiconError(
            f"lexicon entry {term!r}: write numbers in words, not {spoken!r}",
            code="digits",
            term=term,
        )
    if len(spoken) > MAX_SPOKEN:
        raise LexiconError(
            f"lexicon entry {term!r}: the spoken form is too long", code="spoken_long", term=term
        )
    return spoken


class Lexicon:
    """Replaces whole-word terms by their spoken forms in one pass, longest term first."""

    def __init__(self, entries: Mapping[str, str]) -> None:
        self.entries = dict(entries)
        exact = {t: s for t, s in self.entries.items() if t == t.upper()}
        folded = {t.casefold(): s for t, s in self.entries.items() if t != t.upper()}
        self._exact = exact
        self._folded = folded
        self._exact_re = _compile(exact, 0)
        self._folded_re = _compile(folded, re.IGNORECASE)

    def apply(self, text: str) -> str:
        """Text with every known term replaced by its spoken form."""
        if self._folded_re is not None:
            text = self._folded_re.sub(
                lambda m: _spoken(m, self._folded[m.group(0).casefold()]), text
            )
        if self._exact_re is not None:
            text = self._exact_re.sub(lambda m: _spoken(m, self._exact[m.group(0)]), text)
        return text


def _spoken(m: re.Match[str], spoken: str) -> str:
    """The spoken form; a term's own dot before a name or number is not a full stop."""
    if not m.group(0).endswith("."):
        return spoken
    following = m.string[m.end() :].lstrip()[:1]
    # "tx.Kon Tum", "TP. Hồ Chí Minh": apart from the name; "… về tp." keeps its full stop.
    return f"{spoken} " if following.isupper() or following.isdigit() else f"{spoken}. "


def _compile(entries: Mapping[str, str], flags: int) -> re.Pattern[str] | None:
    if not entries:
        return None
    alternatives = "|".join(re.escape(t) for t in sorted(entries, key=len, reverse=True))
    # Whole words: no letter or digit (or & or /) on either side; a hyphen joins two terms
    # ("TB-UBND"); a term that ends in its dot ("tp.", "tx.") may touch the next word ("TP.HCM").
    return re.compile(rf"(?<![\w&])(?:{alternatives})(?:(?<=\.)|(?![\w&/]))", flags)


@lru_cache(maxsize=32)
def _cached(extra: tuple[tuple[str, str], ...]) -> Lexicon:
    return Lexicon(builtin_lexicon() | dict(extra))


def make_lexicon(extra: Mapping[str, str] | None = None) -> Lexicon:
    """The built-in lexicon with extra entries (e.g. from the database) on top."""
    checked = validate_entries(extra or {})
    return _cached(tuple(sorted(checked.items())))
