"""Text helpers of the simulator: the curated synonyms, accent folding and typing noise.

The synonyms are the curated CSV shipped in :mod:`vitrina.resources` (``term,synonyms,
category_scope``, synonyms ``|``-separated, empty scope = global); the simulator uses the
same file to write synonym queries, and copies it to ``raw/synonyms/`` for the search engine.

Noise functions take their randomness as plain floats in ``[0, 1)`` drawn up front by the
caller, so a batch of queries is reproducible without a generator call per character.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from functools import cache
from importlib import resources

SYNONYMS_RESOURCE = "synonyms_es.csv"

_ROWS = ("qwertyuiop", "asdfghjklñ", "zxcvbnm")


@cache
def _neighbours() -> dict[str, str]:
    """Neighbouring keys on a Spanish QWERTY keyboard: replacement typos hit a neighbour."""
    table: dict[str, str] = {}
    for r, row in enumerate(_ROWS):
        for c, ch in enumerate(row):
            near = [row[j] for j in (c - 1, c + 1) if 0 <= j < len(row)]
            near += [_ROWS[k][c] for k in (r - 1, r + 1) if 0 <= k < len(_ROWS) and c < len(_ROWS[k])]
            table[ch] = "".join(near)
    return table


def synonyms_csv_bytes() -> bytes:
    """The curated synonyms file exactly as shipped."""
    return resources.files("vitrina.resources").joinpath(SYNONYMS_RESOURCE).read_bytes()


def load_synonyms() -> dict[str, tuple[str, ...]]:
    """``term -> synonyms`` from the curated CSV (terms lower-case, as in the file)."""
    reader = csv.DictReader(io.StringIO(synonyms_csv_bytes().decode("utf-8")))
    table: dict[str, tuple[str, ...]] = {}
    for row in reader:
        words = tuple(w.strip() for w in row["synonyms"].split("|") if w.strip())
        table[row["term"].strip()] = table.get(row["term"].strip(), ()) + words
    return table


def strip_accents(text: str) -> str:
    """Drop combining marks (``á -> a``, ``ñ -> n``): how many people type on a phone."""
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


def tokens(text: str) -> list[str]:
    """Lower-case whitespace tokens with surrounding punctuation removed (accents kept)."""
    out = []
    for raw in text.lower().split():
        token = raw.strip(".,;:!?¡¿()\"'")
        if token:
            out.append(token)
    return out


def typo(word: str, u_kind: float, u_pos: float, u_char: float) -> str:
    """One keyboard slip in ``word``: swap two letters, drop one, hit a neighbour, or double one.

    Words shorter than 3 characters are returned unchanged (a slip there reads as another word).
    """
    if len(word) < 3:
        return word
    pos = min(int(u_pos * (len(word) - 1)), len(word) - 2) + 1  # never the first letter
    kind = int(u_kind * 4)
    if kind == 0:  # transposition: "celualr"
        return word[: pos - 1] + word[pos] + word[pos - 1] + word[pos + 1 :]
    if kind == 1:  # deletion: "celuar"
        return word[:pos] + word[pos + 1 :]
    if kind == 2:  # neighbour key: "celulsr"
        near = _neighbours().get(strip_accents(word[pos]).lower(), "")
        if near:
            return word[:pos] + near[int(u_char * len(near)) % len(near)] + word[pos + 1 :]
        return word[:pos] + word[pos + 1 :]
    return word[:pos] + word[pos] + word[pos:]  # doubled letter: "celullar"


def add_typos(words: Sequence[str], u: Sequence[float]) -> list[str]:
    """Apply one typo to the longest word and, half of the time, a second one to another word.

    ``u`` holds at least 7 uniforms. The result always differs from the input when any
    word has 3 or more letters.
    """
    out = list(words)
    order = sorted(range(len(out)), key=lambda i: (-len(out[i]), i))
    if not order:
        return out
    first = order[0]
    out[first] = typo(out[first], u[0], u[1], u[2])
    if u[3] < 0.5 and len(order) > 1:
        second = order[1 + int(u[4] * (len(order) - 1)) % (len(order) - 1)]
        out[second] = typo(out[second], u[5], u[6], u[0])
    return out
