"""An admin's lexicon file read line by line: every entry with its line, every error naming one.

The one reader of lexicon files, for the web import and ``--lexicon`` on the command line: YAML
``TERM: spoken`` or CSV ``term,spoken`` lines, ``#`` comments, an optional ``term,spoken`` header.
It keeps line numbers so
an admin can find the bad line in a file of hundreds, and collects every error instead of
stopping at the first. ``import_lexicon_file`` stores a file only when it has no error.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from audio.lexicon_store import import_lexicon
from audio.normalize.lexicon import LexiconError, validate_spoken, validate_term
from broadcaster.models import LexiconEntry

logger = logging.getLogger(__name__)

HEADER_TERMS = ("term", "thuật ngữ")


@dataclass(frozen=True)
class LineError:
    """What is wrong on one line (1-based); ``code`` as in LexiconError, plus ``duplicate``,
    ``encoding``, ``columns`` and ``empty``."""

    line: int
    code: str
    term: str = ""
    other_line: int = 0  # for ``duplicate``: where the term first appears
    detail: str = ""


@dataclass
class LexiconFile:
    """The entries of a file (term -> spoken form), the line of each, and the errors."""

    entries: dict[str, str] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    errors: list[LineError] = field(default_factory=list)

    def add(self, line: int, term: object, spoken: object) -> None:
        try:
            checked = validate_term(term)
            said = validate_spoken(checked, spoken)
        except LexiconError as exc:
            self.errors.append(LineError(line, exc.code, str(term if term is not None else "")))
            return
        if checked in self.lines:
            self.errors.append(LineError(line, "duplicate", checked, self.lines[checked]))
            return
        self.entries[checked] = said
        self.lines[checked] = line


@dataclass(frozen=True)
class ImportReport:
    """The outcome of an import: terms added and updated, or the errors (then nothing stored)."""

    added: list[str]
    updated: list[str]
    unchanged: list[str]
    errors: list[LineError]

    @property
    def ok(self) -> bool:
        return not self.errors


def read_lexicon_file(data: bytes | str) -> LexiconFile:
    """Entries and line-numbered errors from an uploaded file (UTF-8, with or without BOM)."""
    result = LexiconFile()
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            result.errors.append(LineError(line, "encoding"))
            return result
    else:
        text = data.removeprefix("\ufeff")
    numbered = [
        (n, ln)
        for n, ln in enumerate(text.splitlines(), 1)
        if ln.strip() and not ln.lstrip().startswith("#")
    ]
    if not numbered:
        result.errors.append(LineError(1, "empty"))
    elif all("," in ln and ":" not in ln.split(",", 1)[0] for _, ln in numbered):
        _read_csv(numbered, result)
    else:
        _read_yaml(text, result)
    return result


def _read_csv(numbered: list[tuple[int, str]], result: LexiconFile) -> None:
    for index, (number, line) in enumerate(numbered):
        row = next(csv.reader([line], skipinitialspace=True))
        if index == 0 and row and row[0].strip().lower() in HEADER_TERMS:
            continue
        if len(row) != 2:  # noqa: PLR2004 - term and spoken form
            result.errors.append(LineError(number, "columns", row[0].strip() if row else ""))
            continue
        result.add(number, row[0].strip(), row[1])


def _read_yaml(text: str, result: LexiconFile) -> None:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        last = max(1, len(text.splitlines()))
        line = min(mark.line + 1, last) if mark is not None else 1  # "end of stream" is past it
        detail = str(getattr(exc, "problem", "") or "")
        result.errors.append(LineError(line, "format", detail=detail))
        return
    if not isinstance(root, yaml.MappingNode):
        line = root.start_mark.line + 1 if root is not None else 1
        result.errors.append(LineError(line, "not_mapping"))
        return
    for key, value in root.value:
        number = key.start_mark.line + 1
        if not isinstance(key, yaml.ScalarNode):
            result.errors.append(LineError(number, "term"))
        elif not isinstance(value, yaml.ScalarNode):
            result.errors.append(LineError(number, "no_spoken", key.value))
        else:
            result.add(number, key.value, value.value)


def import_lexicon_file(session: Session, data: bytes | str, *, note: str = "") -> ImportReport:
    """Read the file; when it has no error, add its new terms (with ``note``) and update the
    spoken form of existing ones (keeping their notes)."""
    parsed = read_lexicon_file(data)
    if parsed.errors:
        return ImportReport([], [], [], parsed.errors)
    existing = {
        row.term: row.spoken
        for row in session.scalars(
            select(LexiconEntry).where(LexiconEntry.term.in_(list(parsed.entries)))
        )
    }
    added = {t: s for t, s in parsed.entries.items() if t not in existing}
    updated = {t: s for t, s in parsed.entries.items() if t in existing and existing[t] != s}
    unchanged = [t for t, s in parsed.entries.items() if existing.get(t) == s]
    if added:
        import_lexicon(session, added, note=note)
    if updated:
        import_lexicon(session, updated)
    logger.info(
        "lexicon file: %d added, %d updated, %d unchanged", len(added), len(updated), len(unchanged)
    )
    return ImportReport(list(added), list(updated), unchanged, [])
