"""Every translation catalogue compiles (`make translations` skips a catalogue whose header is
marked fuzzy) and the committed .mo holds exactly what its .po says."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = sorted(ROOT.glob("web/**/translations/vi/LC_MESSAGES/messages.po"))


def _key(message_id: object) -> str:
    return message_id if isinstance(message_id, str) else str(message_id[0])  # type: ignore[index]


def _text(string: object) -> tuple[str, ...]:
    return (string,) if isinstance(string, str) else tuple(string)  # type: ignore[arg-type]


def test_there_are_catalogues() -> None:
    assert len(CATALOGUES) >= 10


@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(ROOT).parts[1]))
def test_catalogue_compiles_and_its_mo_is_current(po: Path) -> None:
    with po.open("rb") as f:
        catalog = read_po(f)
    assert not catalog.fuzzy, f"{po}: the header is marked fuzzy, so pybabel compile skips it"
    with po.with_suffix(".mo").open("rb") as f:
        compiled = read_mo(f)
    wanted = {_key(m.id): _text(m.string) for m in catalog if m.id and m.string and not m.fuzzy}
    have = {_key(m.id): _text(m.string) for m in compiled if m.id}
    assert have == wanted, f"{po.with_suffix('.mo')} is stale: run `make translations`"
