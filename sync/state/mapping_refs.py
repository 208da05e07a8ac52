"""Table ``mapping_refs``: the mapping reference every voucher carries, kept once.

A voucher's payload names the mapping that made it: name, file, line and version, about 110
characters that are the same for every voucher a mapping version makes (and an absolute file
path that the sealing dictionary cannot know). The outbox keeps ``"mapping":@7`` in the sealed
payload instead, and this table the text of reference 7; reading a voucher puts it back. A
mapping reference holds no customer data, so it is stored plain.
"""

from __future__ import annotations

from sync.state.base import StoreBase

__all__ = ["MappingRefsTable"]

_AT = ',"mapping":'
_END = ',"reversal_of":'


class MappingRefsTable(StoreBase):
    """Swap a payload's mapping reference for its number in ``mapping_refs`` and back."""

    #: reference text <-> id, of committed rows only (a rolled-back id may be handed out again)
    _ref_ids: dict[str, int] | None = None
    _ref_texts: dict[int, str] | None = None
    #: what this transaction added, kept once it commits
    _ref_new: dict[str, int] | None = None

    def _refer_mapping(self, payload: str) -> str:
        """``payload`` with its mapping reference as ``@id`` (unchanged when it has none)."""
        i, j = payload.rfind(_AT), payload.rfind(_END)
        if i < 0 or j < i or payload[i + len(_AT)] != "{":
            return payload
        ref = payload[i + len(_AT) : j]
        known = self._ref_ids or {}
        rid = known.get(ref) or (self._ref_new or {}).get(ref) or self._add_ref(ref)
        return f"{payload[:i]}{_AT}@{rid}{payload[j:]}"

    def _add_ref(self, ref: str) -> int:
        self._execute("INSERT INTO mapping_refs (ref) VALUES (?) ON CONFLICT (ref) DO NOTHING", (ref,))
        row = self._one("SELECT id FROM mapping_refs WHERE ref = ?", (ref,))
        assert row is not None  # inserted or already there, in this transaction
        rid = int(row["id"])
        if self._depth:
            if self._ref_new is None:
                self._ref_new = {}
            self._ref_new[ref] = rid
        else:
            self._remember_ref(ref, rid)
        return rid

    def _remember_ref(self, ref: str, rid: int) -> None:
        if self._ref_ids is None or self._ref_texts is None:
            self._ref_ids, self._ref_texts = {}, {}
        self._ref_ids[ref] = rid
        self._ref_texts[rid] = ref

    def _transaction_ended(self, committed: bool) -> None:
        new, self._ref_new = self._ref_new, None
        if committed and new:
            for ref, rid in new.items():
                self._remember_ref(ref, rid)
        super()._transaction_ended(committed)

    def _mapping_back(self, payload: str) -> str:
        """The payload as written, its mapping reference put back."""
        i = payload.rfind(_AT + "@")
        if i < 0:
            return payload
        start = i + len(_AT) + 1
        j = payload.index(",", start)
        rid = int(payload[start:j])
        ref = (self._ref_texts or {}).get(rid)
        if ref is None:
            ref = next((r for r, n in (self._ref_new or {}).items() if n == rid), None)
        if ref is None:
            row = self._one("SELECT ref FROM mapping_refs WHERE id = ?", (rid,))
            if row is None:
                from sync.errors import StateError

                raise StateError(
                    f"a voucher names mapping reference {rid}, which the state store does not hold",
                    hint="restore the state from a backup; `crmsync audit verify` shows what changed",
                )
            ref = str(row["ref"])
            if not self._depth:
                self._remember_ref(ref, rid)
        return f"{payload[:i]}{_AT}{ref}{payload[j:]}"
