"""GLUE: the no-break space that joins the words of one reading (a number, a date, a phone number).

The splitter (audio/split.py) never cuts a text at GLUE, so a number is spoken in one piece.
"""

from __future__ import annotations

GLUE = "\u00a0"


def glue(words: str) -> str:
    """Join the words of one reading with no-break spaces."""
    return GLUE.join(words.split())
