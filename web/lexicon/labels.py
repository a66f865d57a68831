"""Why a lexicon entry or a line of an import file is refused, in the user's language."""

from __future__ import annotations

from flask_babel import gettext as _

from audio.lexicon_file import LineError
from audio.normalize.lexicon import MAX_SPOKEN, MAX_TERM


def explain_code(code: str, term: str = "") -> str:
    """A LexiconError code (or an import file's) as a sentence."""
    if code == "term":
        if term:
            return _(
                "“%(term)s” is not one word: use letters, digits and & - / . only, no spaces.",
                term=term,
            )
        return _("The term must be one word: letters, digits and & - / . only, no spaces.")
    if code == "term_long":
        return _("The term is longer than %(n)s characters.", n=MAX_TERM)
    if code == "no_spoken":
        if term:
            return _("“%(term)s” has no spoken form.", term=term)
        return _("Write how the term is read aloud.")
    if code == "digits":
        return _("Write numbers in words in the spoken form (for example “hai”, not “2”).")
    if code == "spoken_long":
        return _("The spoken form is longer than %(n)s characters.", n=MAX_SPOKEN)
    if code == "duplicate":
        return _("“%(term)s” is already in the lexicon.", term=term)
    return _("This entry cannot be used.")


def explain_line(err: LineError) -> str:
    """One error of an import file, naming its line."""
    if err.code == "duplicate":
        reason = _(
            "“%(term)s” already appears on line %(other)s.", term=err.term, other=err.other_line
        )
    elif err.code == "columns":
        reason = _("Expected two columns: the term, then its spoken form.")
    elif err.code == "encoding":
        reason = _("The file is not UTF-8 text. Save it as “CSV UTF-8” or as a UTF-8 text file.")
    elif err.code == "empty":
        reason = _("The file has no entries.")
    elif err.code == "not_mapping":
        reason = _("Expected YAML lines “TERM: spoken form” or CSV lines “term,spoken form”.")
    elif err.code == "format":
        reason = _("This is neither a valid YAML nor a valid CSV file.")
        if err.detail:
            reason = f"{reason} ({err.detail})"
    else:
        reason = explain_code(err.code, err.term)
    return _("Line %(line)s: %(reason)s", line=err.line, reason=reason)
