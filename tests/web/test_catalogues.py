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


def test_a_message_has_one_translation_across_catalogues() -> None:
    """Flask-Babel merges every catalogue into one: a msgid (and context) translated two ways
    in two catalogues shows whichever loaded first, on both features' pages ("On air" read
    "Đang dùng" on the live page once the slots page had its own)."""
    seen: dict[tuple[str | None, str], tuple[tuple[str, ...], Path]] = {}
    clashes = []
    for po in CATALOGUES:
        with po.open("rb") as f:
            catalog = read_po(f)
        for m in catalog:
            if not m.id or not m.string or m.fuzzy:
                continue
            key = (m.context, _key(m.id))
            text = _text(m.string)
            if key in seen and seen[key][0] != text:
                clashes.append(f"{key[1]!r}: {seen[key][0]} in {seen[key][1].parts[-5]}, "
                               f"{text} in {po.parts[-5]}")  # fmt: skip
            seen.setdefault(key, (text, po))
    assert not clashes, "\n".join(clashes)
