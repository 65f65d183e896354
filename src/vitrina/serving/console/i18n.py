"""The console's strings: Spanish by default, English with ``?lang=en``.

One catalogue per language, ``locale/<lang>.json`` (data that translators edit, apart from
the code), keyed by message id; every language has every key (a unit test checks it).
Messages may hold ``str.format`` fields (``{n}``). Data values (product titles, reasons the
recommender wrote, feature names) are shown as they are and are not translated.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Final

LANGS: Final = ("es", "en")
DEFAULT_LANG: Final = "es"

LOCALE = Path(__file__).parent / "locale"


def _catalogue(lang: str) -> Mapping[str, str]:
    messages: dict[str, str] = json.loads((LOCALE / f"{lang}.json").read_text(encoding="utf-8"))
    return messages


MESSAGES: Final[Mapping[str, Mapping[str, str]]] = {lang: _catalogue(lang) for lang in LANGS}


def pick_lang(requested: str | None) -> str:
    """``requested`` when the catalogue has it, else Spanish."""
    return requested if requested in LANGS else DEFAULT_LANG


class Translator:
    """``t(key, **fields)``: the message in this language; a key missing in it falls back to
    Spanish, and an unknown key raises ``KeyError`` (a typo must fail the tests, not the user)."""

    def __init__(self, lang: str) -> None:
        self.lang = pick_lang(lang)
        self._messages = MESSAGES[self.lang]

    def __call__(self, key: str, **fields: object) -> str:
        text = self._messages.get(key) or MESSAGES[DEFAULT_LANG][key]
        return text.format(**fields) if fields else text

    def has(self, key: str) -> bool:
        return key in self._messages
