"""Split spoken text into pieces: at sentences, then clauses, then words; never inside a word.

Normalized text joins the words of one number, date or phone number with GLUE (a no-break
space); a glued run is cut only when it alone is longer than a piece may be.
"""

from __future__ import annotations

import re

from audio.normalize.glue import GLUE

_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_CLAUSE = re.compile(r"(?<=[,;:])\s+")
_SPACE = re.compile(r" +")


def split_sentences(text: str) -> list[str]:
    """The sentences of text, each with its closing punctuation."""
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


def split_text(text: str, max_chars: int = 100) -> list[str]:
    """Pieces of at most max_chars: whole sentences, else clauses, else words, packed greedily.

    Short sentences are packed together; a long one is cut at clauses, and a clause too long
    for a piece at spaces. Pieces keep the order and every word of the text.
    """
    if max_chars < 10:
        raise ValueError(f"max_chars must be at least 10, not {max_chars}")
    pieces: list[str] = []
    whole: list[str] = []  # consecutive short sentences, packed together
    for sentence in split_sentences(text):
        if len(sentence) <= max_chars:
            whole.append(sentence)
            continue
        pieces += _pack(whole, max_chars, " ")
        whole = []
        clauses = [c for c in _CLAUSE.split(sentence) if c]
        for clause in _pack(clauses, max_chars, " "):
            if len(clause) <= max_chars:
                pieces.append(clause)
            else:
                pieces += _split_clause(clause, max_chars)
    return pieces + _pack(whole, max_chars, " ")


def _split_clause(clause: str, max_chars: int) -> list[str]:
    words: list[str] = []
    for word in _SPACE.split(clause):
        if len(word) <= max_chars:
            words.append(word)
        else:  # a glued run (or a monster word) longer than a piece
            words += _split_glued(word, max_chars)
    return _pack(words, max_chars, " ")


def _split_glued(run: str, max_chars: int) -> list[str]:
    parts: list[str] = []
    for part in _pack(run.split(GLUE), max_chars, GLUE):
        while len(part) > max_chars:  # one word longer than a piece: cut it, nothing else works
            parts.append(part[:max_chars])
            part = part[max_chars:]
        parts.append(part)
    return parts


def _pack(items: list[str], max_chars: int, sep: str) -> list[str]:
    """Join consecutive items with sep while the result stays within max_chars."""
    packed: list[str] = []
    current = ""
    for item in items:
        if not current:
            current = item
        elif len(current) + len(sep) + len(item) <= max_chars:
            current = f"{current}{sep}{item}"
        else:
            packed.append(current)
            current = item
    if current:
        packed.append(current)
    return packed


def speakable(piece: str) -> str:
    """The piece as an engine should get it: glue turned back into plain spaces."""
    return piece.replace(GLUE, " ")


def sentence_pieces(text: str, max_chars: int = 300) -> list[str]:
    """The render (and cache) units: each sentence alone; a very long one cut at clauses."""
    pieces: list[str] = []
    for sentence in split_sentences(text):
        pieces += [sentence] if len(sentence) <= max_chars else split_text(sentence, max_chars)
    return pieces
