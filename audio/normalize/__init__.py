"""Written Vietnamese to its spoken form: numbers, dates, times, money, units, abbreviations.

>>> normalize_text("Họp lúc 7h30 ngày 3/11/2026")
'họp lúc bảy giờ ba mươi phút ngày ba tháng mười một năm hai nghìn không trăm hai mươi sáu'
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from audio.normalize.cleanup import finish, prepare, spell_acronyms
from audio.normalize.glue import GLUE
from audio.normalize.lexicon import make_lexicon
from audio.normalize.patterns import apply_rules

logger = logging.getLogger(__name__)


def normalize_text(
    text: str, lexicon: Mapping[str, str] | None = None, *, keep_glue: bool = False
) -> str:
    """The lowercase spoken form of text; lexicon entries add to (and win over) the built-in ones.

    With keep_glue=True the words of one number, date or phone number are joined by GLUE
    (a no-break space), which the splitter never breaks.
    """
    spoken = prepare(text)
    spoken = make_lexicon(lexicon).apply(spoken)
    spoken = apply_rules(spoken)
    spoken = spell_acronyms(spoken)
    spoken = finish(spoken)
    if not keep_glue:
        spoken = spoken.replace(GLUE, " ")
    logger.debug("normalized %d chars into %d", len(text), len(spoken))
    return spoken
