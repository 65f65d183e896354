"""Customer identifiers on pages that do not need them.

Only the user page (behind the console's token like every page) shows a customer's id in
full: it is the page about that customer. Elsewhere an id can only arrive inside free text
— a step's failure message, a promotion's reason, an error — and is shown masked
(``u0001234`` → ``u00…34``): enough to tell two apart, not to look one up.
"""

from __future__ import annotations

import re

_LABELLED_ID = re.compile(
    r"(?P<label>\b(?:user|customer|session|usuario|cliente|sesi[oó]n)(?:_?ids?)?\b\s*[=:]?\s*['\"]?)"
    r"(?P<id>(?=[A-Za-z._:@-]*[0-9])[A-Za-z0-9][A-Za-z0-9._:@-]{2,127})",
    re.IGNORECASE,
)
"""An id written after the word that names it (``user_id=…``, ``user 'u01'``, ``session: …``);
an id has a digit, so the words of a sentence ("no user found") are left alone."""


def mask_id(value: str) -> str:
    """``u0001234`` → ``u00…34``: the first three and last two characters (an id of six
    characters or fewer keeps only its first)."""
    if len(value) <= 6:
        return f"{value[:1]}…"
    return f"{value[:3]}…{value[-2:]}"


def redact(text: object) -> str:
    """``text`` with every labelled customer id masked (see :data:`_LABELLED_ID`)."""
    if text is None:
        return ""
    return _LABELLED_ID.sub(lambda m: m.group("label") + mask_id(m.group("id")), str(text))
