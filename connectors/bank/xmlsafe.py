"""Hardened XML parsing for files that arrive from outside (bank downloads, e-mail attachments).

A statement is plain data: it never needs a DTD. Refusing any DTD outright closes XXE
(external entities reading local files or calling URLs) and entity-expansion bombs
("billion laughs") in one rule, before a single entity is expanded. Every failure becomes
a ``StatementError`` naming the file, never a parser traceback.
"""

from __future__ import annotations

from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from sync.banking import StatementError

__all__ = ["parse_xml"]

#: a statement larger than this is not a statement (and would not fit a day's memory budget)
MAX_BYTES = 200 * 1024 * 1024


def parse_xml(data: bytes, source: str) -> Element:
    """The root element of ``data``; DTDs, entities and external references are refused."""
    if len(data) > MAX_BYTES:
        raise StatementError(
            source, f"file is {len(data)} bytes, over the {MAX_BYTES} byte limit for a statement"
        )
    try:
        root: Any = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise StatementError(
            source,
            f"refused: the file declares a DTD or entities ({type(exc).__name__}); bank statements never "
            "need them and they are how XXE and entity-expansion attacks work. Nothing was booked from it",
        ) from None
    except ParseError as exc:
        raise StatementError(
            source,
            f"not well-formed XML ({exc}); the file may be truncated. "
            "Nothing was booked from it; download it again",
        ) from None
    return root  # type: ignore[no-any-return]
