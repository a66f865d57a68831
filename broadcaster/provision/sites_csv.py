"""The sites file of ``broadcaster sites provision --from sites.csv``.

UTF-8 (a byte-order mark, as spreadsheets write, is fine), comma-separated, a header line naming
the columns in any order:

| column | holds |
| --- | --- |
| ``site`` | the site's id: a lowercase slug (``cum-loa-thon-1``, at most 63 characters), once per file |
| ``name`` | its name, e.g. ``Cụm loa thôn 1`` (at most 256 characters) |
| ``unit`` | the code of its commune (or ward): a unit of kind commune, ward or special-zone |
| ``zones`` | its zones' ids, separated by spaces (or ``;``); may be empty |

Every row is checked before anything is written; the errors name their line (line 1 is the
header).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from broadcaster.wire.topics import valid_id

from .base import ProvisionError

COLUMNS = ("site", "name", "unit", "zones")
SLUG = "lowercase slug (a-z, 0-9, '-', '_'; at most 63 characters)"
MAX_NAME = 256  # Site.name
MAX_UNIT_CODE = 32  # Unit.code
_ZONE_SEPARATORS = re.compile(r"[\s;]+")


@dataclass(frozen=True)
class SiteRow:
    line: int
    site: str
    name: str
    unit: str
    zones: tuple[str, ...]


class SitesFileError(ProvisionError):
    """The sites file has bad rows: ``errors`` holds one message per problem, each naming its
    line."""

    def __init__(self, path: Path | str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{path}: {len(errors)} error(s); nothing was written")


def read_sites_csv(path: Path) -> list[SiteRow]:
    """The rows of ``path``, or a ``SitesFileError`` listing every bad one."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SitesFileError(path, [f"not UTF-8 text (byte {exc.start})"]) from None
    reader = csv.reader(text.splitlines(keepends=True))
    errors: list[str] = []
    header = next(reader, None)
    if header is None:
        raise SitesFileError(path, [f"line 1: empty file; expected the header {','.join(COLUMNS)}"])
    names = [h.strip().lower() for h in header]
    unknown = [n for n in names if n not in COLUMNS]
    missing = [c for c in COLUMNS if c not in names]
    if unknown or missing or len(set(names)) != len(names):
        problems = [f"unknown column(s) {', '.join(unknown)}"] if unknown else []
        problems += [f"missing column(s) {', '.join(missing)}"] if missing else []
        problems += ["a column is named twice"] if len(set(names)) != len(names) else []
        raise SitesFileError(
            path, [f"line 1: {'; '.join(problems)} (the columns: {', '.join(COLUMNS)})"]
        )
    index = {n: i for i, n in enumerate(names)}
    rows: list[SiteRow] = []
    first_line: dict[str, int] = {}
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue  # a blank line
        if len(values) != len(names):
            errors.append(f"line {line}: {len(values)} values for {len(names)} columns")
            continue
        cell = {c: values[index[c]].strip() for c in COLUMNS}
        row_errors = _check(cell)
        site = cell["site"]
        if site in first_line:
            row_errors.append(f"site {site!r} is already on line {first_line[site]}")
        elif site:
            first_line[site] = line
        if row_errors:
            errors += [f"line {line}: {e}" for e in row_errors]
            continue
        zones = tuple(z for z in _ZONE_SEPARATORS.split(cell["zones"]) if z)
        rows.append(SiteRow(line, site, cell["name"], cell["unit"], zones))
    if errors:
        raise SitesFileError(path, errors)
    return rows


def _check(cell: dict[str, str]) -> list[str]:
    errors = []
    site, name, unit = cell["site"], cell["name"], cell["unit"]
    if not site:
        errors.append("no site id")
    elif not valid_id(site):
        errors.append(f"site id {site[:80]!r} is not a {SLUG}")
    if not name:
        errors.append("no name")
    elif len(name) > MAX_NAME:
        errors.append(f"the name is longer than {MAX_NAME} characters")
    if not unit:
        errors.append("no unit code")
    elif len(unit) > MAX_UNIT_CODE:
        errors.append(f"unit code {unit[:40]!r} is longer than {MAX_UNIT_CODE} characters")
    for zone in _ZONE_SEPARATORS.split(cell["zones"]):
        if zone and not valid_id(zone):
            errors.append(f"zone id {zone[:80]!r} is not a {SLUG}")
    return errors
