"""Text normalisation for matching: what SAP's search strings and Odoo's regex rules do.

Payers type our numbers with full-width digits, spaces, missing dashes, lower case and the
letter O for a zero; company names come with and without 有限公司. Everything compared is
first brought to one form here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

__all__ = ["customer_key", "deletions", "extract_refs", "norm_ref", "norm_text", "within_one_edit"]

_NON_ALNUM = re.compile(r"[^0-9A-Z]")
_O_IN_DIGITS = re.compile(r"(?<=\d)O(?=O?\d)")
_I_IN_DIGITS = re.compile(r"(?<=\d)[IL](?=\d)")
_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "分公司",
    "公司",
    "集团",
    "CO.,LTD.",
    "CO.,LTD",
    "CO.LTD",
    "LTD.",
    "LTD",
    "LIMITED",
    "INC.",
    "INC",
    "GMBH",
    "LLC",
)
_NAME_JUNK = re.compile(r"[\s()（）\[\]【】.,，·・\-_'\"]")


@lru_cache(maxsize=262_144)
def norm_text(text: str) -> str:
    """NFKC (full width → half width), upper case, and O/I typed for 0/1 between digits."""
    t = unicodedata.normalize("NFKC", text).upper()
    t = _O_IN_DIGITS.sub("0", t)
    t = _O_IN_DIGITS.sub("0", t)
    return _I_IN_DIGITS.sub("1", t)


@lru_cache(maxsize=262_144)
def norm_ref(text: str) -> str:
    """A reference reduced to letters and digits: 'so-2026 1103-0042' → 'SO2026110300 42'."""
    return _NON_ALNUM.sub("", norm_text(text))


def extract_refs(texts: Iterable[str], patterns: list[re.Pattern[str]]) -> list[str]:
    """Every match of our number patterns in the texts, normalised, each once, in order."""
    found: dict[str, None] = {}
    for text in texts:
        if not text:
            continue
        t = norm_text(text)
        for variant in (t, re.sub(r"\s+", "", t)):
            for pattern in patterns:
                for m in pattern.finditer(variant):
                    found.setdefault(norm_ref(m.group(0)), None)
    return list(found)


def candidate_tokens(texts: Iterable[str]) -> Iterator[str]:
    """Alphanumeric runs long enough to be a mistyped number (for the edit-distance rule)."""
    for text in texts:
        for token in re.findall(r"[0-9A-Z][0-9A-Z\-_ ]{8,30}[0-9A-Z]", norm_text(text or "")):
            yield norm_ref(token)


@lru_cache(maxsize=262_144)
def customer_key(name: str) -> str:
    """A company name without legal-form suffixes, brackets, spaces: 上海明远贸易(有限公司) → 上海明远贸易."""
    t = unicodedata.normalize("NFKC", name or "").upper()
    t = _NAME_JUNK.sub("", t)
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            s = _NAME_JUNK.sub("", suffix)
            if t.endswith(s) and len(t) > len(s) + 1:
                t = t[: -len(s)]
                changed = True
    return t


def deletions(text: str) -> set[str]:
    """The text and every text one character shorter: two strings within one edit share one of these."""
    return {text, *(text[:i] + text[i + 1 :] for i in range(len(text)))}


def within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by at most one substitution, insertion, deletion or adjacent swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diff = [i for i in range(la) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return (
            len(diff) == 2
            and diff[1] == diff[0] + 1
            and a[diff[0]] == b[diff[1]]
            and a[diff[1]] == b[diff[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]
