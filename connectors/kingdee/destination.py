"""The Kingdee destination: GL_VOUCHER posted by BatchSave, found again by ExecuteBillQuery.

The engine owns retries, the ``sending`` mark and the look-up before every send. What this
class adds is Kingdee-specific and keeps each voucher taking effect once even so:

- the look-up names every document status in its filter (``FDocumentStatus IN
  ('Z','A','B','C','D')``): a live tenant is reported to hide vouchers that are only saved
  from an ExecuteBillQuery that does not; where even that hides them, ``lookup_by_view``
  adds View by Number (after a lost answer by default, before every first send with
  ``always``). The reference sits in ``external_ref_field`` (FBillNo, a BOS custom header
  field when the coding rule 编码规则 overwrites FBillNo, or FEXPLANATION as a prefix);
- the look-up returns each voucher's debit total, so the engine adopts only a voucher whose
  amounts are ours;
- ``post`` asks Kingdee again which of the batch's references it already holds before a
  Save that the engine's look-up did not just cover (a resend after a 5xx that Kingdee had
  in fact committed, docs/specs/kingdee.md §6 "query by it before every Save");
- a Save whose answer shows the coding rule replaced our FBillNo stops the run (exit 2):
  such vouchers could never be found again, and a lost state would post them twice;
- the vouchers not found go out in BatchSave calls of ``batch_size``; each answer is read by
  ``DIndex`` back to its voucher;
- Submit and Audit (when configured) are steps after Save, resumable from the state Kingdee
  reports (``FDocumentStatus`` Z/A -> Submit -> B -> Audit -> C): a run that died between
  Save and Audit finishes the Audit the next time the voucher is posted or looked up.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal, TypeVar

from connectors.kingdee.answers import Envelope, Kind
from connectors.kingdee.client import KingdeeClient, OutcomeUnknown, quote
from connectors.kingdee.render import (
    RenderError,
    RenderSettings,
    external_reference,
    render_voucher,
    save_options,
)
from connectors.kingdee.wire import amount_of
from sync.destination import CheckReport, ErpRef, Outcome, PostResult
from sync.errors import (
    ConfigurationError,
    DestinationUnavailable,
    PermanentError,
    TransientError,
)
from sync.model import Voucher

__all__ = ["BASE_DATA_FORMS", "FORM", "Found", "KingdeeDestination"]

log = logging.getLogger(__name__)

FORM = "GL_VOUCHER"
#: flex key -> the base-data form its codes live in (checked by ``check``)
BASE_DATA_FORMS: Mapping[str, str] = {
    "FDETAILID__FFLEX4": "BD_Supplier",
    "FDETAILID__FFLEX5": "BD_Department",
    "FDETAILID__FFLEX6": "BD_Customer",
}
#: references per ExecuteBillQuery filter (keeps the FilterString well under URL/SQL limits)
QUERY_CHUNK = 100
_SUBMITTABLE = frozenset({"Z", "A", "D"})  # 暂存, 创建, 重新审核
#: every document status a voucher can stand in: 暂存, 创建, 审核中, 已审核, 重新审核
ALL_STATUSES = ("Z", "A", "B", "C", "D")
_STATUS_FILTER = "FDocumentStatus IN (" + ",".join(f"'{s}'" for s in ALL_STATUSES) + ")"
#: when the look-up adds View by Number for what ExecuteBillQuery did not return
ViewFallback = Literal["after_lost_answer", "always", "never"]

T = TypeVar("T")


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass(frozen=True)
class Found:
    """A voucher as Kingdee holds it: internal id, 凭证号, document status and debit total."""

    id: str
    group_no: str
    status: str
    total: Decimal | None = None


class KingdeeDestination:
    """``Destination`` for K/3 Cloud GL_VOUCHER (see module docstring)."""

    type_name = "kingdee"

    def __init__(
        self,
        client: KingdeeClient,
        settings: RenderSettings,
        *,
        batch_size: int = 50,
        submit: bool = False,
        audit: bool = False,
        lookup_by_view: ViewFallback = "after_lost_answer",
    ) -> None:
        self.client = client
        self.settings = settings
        self.batch_size = batch_size
        self.submit = submit or audit
        self.audit = audit
        self.lookup_by_view = lookup_by_view
        self._group_name: str | None = None
        #: references the engine's look-up just asked about and Kingdee did not hold
        self._just_missing: set[str] = set()
        #: set once a Save showed that Kingdee does not keep our reference (see _check_kept)
        self._unfindable: ConfigurationError | None = None

    # -- rendering ------------------------------------------------------------------------

    def render(self, voucher: Voucher) -> dict[str, Any]:
        """The Save request body for one voucher (wire example B); raises RenderError."""
        return {
            "formid": FORM,
            "data": {**save_options(self.settings), "Model": render_voucher(voucher, self.settings)},
        }

    @property
    def target_status(self) -> str | None:
        if self.settings.auto_submit_audit or self.audit:
            return "C"
        return "B" if self.submit else None

    # -- posting --------------------------------------------------------------------------

    def post(self, batch: Sequence[Voucher]) -> list[PostResult]:
        if self._unfindable is not None:
            raise self._unfindable
        results: dict[str, PostResult] = {}
        models: list[tuple[Voucher, dict[str, Any]]] = []
        for voucher in batch:
            try:
                models.append((voucher, render_voucher(voucher, self.settings)))
            except RenderError as exc:
                results[voucher.external_ref] = PostResult.permanent(voucher.external_ref, f"not sent: {exc}")
        if models:
            try:
                self._post_rendered(models, results)
            except TransientError as exc:  # the pre-query failed: nothing was sent
                for voucher, _ in models:
                    results.setdefault(
                        voucher.external_ref,
                        PostResult.transient(voucher.external_ref, exc.message, exc.retry_after),
                    )
        return [results[v.external_ref] for v in batch]

    def _post_rendered(
        self, models: list[tuple[Voucher, dict[str, Any]]], results: dict[str, PostResult]
    ) -> None:
        by_ref = {self.settings.reference(v): v for v, _ in models}
        covered = set(by_ref) <= self._just_missing
        self._just_missing -= set(by_ref)  # a second send of these is asked about again
        existing = {} if covered else self._find(list(by_ref))
        state: dict[str, Found] = {}
        for short, found in existing.items():
            log.info(
                "voucher %s is already in Kingdee (id %s); not saving it again", by_ref[short].key, found.id
            )
            state[by_ref[short].external_ref] = found
        to_save = [(v, m) for v, m in models if self.settings.reference(v) not in existing]
        for chunk in _chunks(to_save, self.batch_size):
            self._save_chunk(chunk, state, results)
        vouchers = {v.external_ref: v for v, _ in models}
        self._advance(state, results, vouchers)
        for ref, found in state.items():
            if ref not in results:
                results[ref] = PostResult.posted(ref, self._erp_ref(found))

    def _save_chunk(
        self,
        chunk: Sequence[tuple[Voucher, dict[str, Any]]],
        state: dict[str, Found],
        results: dict[str, PostResult],
    ) -> None:
        data = {**save_options(self.settings), "Model": [model for _, model in chunk]}
        operation = "BatchSave" if len(chunk) > 1 else "Save"
        if operation == "Save":
            data["Model"] = chunk[0][1]
        try:
            env = self.client.write(operation, FORM, data)
        except OutcomeUnknown as exc:
            for voucher, _ in chunk:
                results[voucher.external_ref] = PostResult.unknown(voucher.external_ref, exc.message)
            return
        except TransientError as exc:
            for voucher, _ in chunk:
                results[voucher.external_ref] = PostResult.transient(
                    voucher.external_ref, exc.message, exc.retry_after
                )
            return
        initial = "C" if self.settings.auto_submit_audit else "A"
        numbers = self._returned_numbers(env)
        for index, (voucher, _) in enumerate(chunk):
            ref = voucher.external_ref
            success = _success_at(env, index, len(chunk))
            if success is not None:
                state[ref] = Found(success.id, numbers.get(success.id, ""), initial)
                self._check_kept(voucher, success.number)
                continue
            results[ref] = _failure(ref, env, _errors_at(env, index, len(chunk)), "BatchSave")

    def _check_kept(self, voucher: Voucher, number: str) -> None:
        """Stop the run when Kingdee's coding rule replaced the FBillNo that carries our reference."""
        if self.settings.external_ref_field != "FBillNo" or not number:
            return
        ours = self.settings.reference(voucher)
        if number == ours or self._unfindable is not None:
            return
        self._unfindable = ConfigurationError(
            f"Kingdee saved voucher {voucher.key} with FBillNo {number!r} instead of our reference "
            f"{ours!r}: the tenant's coding rule (编码规则) numbers vouchers itself, so FBillNo cannot "
            "carry the reference and a voucher could not be found again after a lost answer or state",
            hint="add a text field to GL_VOUCHER's header by BOS extension (e.g. F_XXX_SyncKey) and set "
            "external_ref_field to it, or set external_ref_field: FEXPLANATION; the vouchers already "
            "saved are recorded as posted",
        )
        log.error("%s (%s)", self._unfindable.message, self._unfindable.hint)

    def _returned_numbers(self, env: Envelope) -> dict[str, str]:
        """FVOUCHERID -> FVOUCHERGROUPNO from ``NeedReturnData``."""
        numbers: dict[str, str] = {}
        for item in env.need_return:
            vid = item.get("FVOUCHERID")
            if vid is not None:
                numbers[str(vid)] = str(item.get("FVOUCHERGROUPNO") or "")
        return numbers

    # -- Submit / Audit -------------------------------------------------------------------

    def _advance(
        self, state: dict[str, Found], results: dict[str, PostResult], vouchers: Mapping[str, Voucher]
    ) -> None:
        """Bring saved vouchers to the configured status; failures become that voucher's result."""
        target = self.target_status
        if target is None:
            return
        steps = [("Submit", _SUBMITTABLE, "B")]
        if target == "C":
            steps.append(("Audit", frozenset({"B"}), "C"))
        for operation, from_states, to_state in steps:
            pending = [ref for ref, f in state.items() if ref not in results and f.status in from_states]
            for chunk in _chunks(pending, self.batch_size):
                self._step(operation, chunk, to_state, state, results)

    def _step(
        self,
        operation: str,
        refs: Sequence[str],
        to_state: str,
        state: dict[str, Found],
        results: dict[str, PostResult],
    ) -> None:
        ids = [state[ref].id for ref in refs]
        try:
            env = self.client.write(operation, FORM, {"Ids": ",".join(ids), "IgnoreInterationFlag": "true"})
        except TransientError as exc:  # including OutcomeUnknown: the next post resumes from Kingdee's state
            for ref in refs:
                results[ref] = PostResult.transient(
                    ref,
                    f"saved in Kingdee as {self._erp_ref(state[ref]).number} (id {state[ref].id}) "
                    f"but {operation} did not complete: {exc.message}",
                    exc.retry_after,
                )
            return
        done = {s.id for s in env.successes}
        for index, ref in enumerate(refs):
            found = state[ref]
            if found.id in done or (env.kind is Kind.OK and not env.errors):
                state[ref] = replace(found, status=to_state)
                continue
            failure = _failure(ref, env, _errors_at(env, index, len(refs)), "")
            verb = "was refused" if failure.outcome is Outcome.PERMANENT else "did not complete"
            prefix = (
                f"saved in Kingdee as {self._erp_ref(found).number} (id {found.id}) but {operation} {verb}: "
            )
            results[ref] = replace(failure, message=prefix + failure.message)

    # -- lookup ---------------------------------------------------------------------------

    def lookup(self, external_refs: Sequence[str], *, thorough: bool = False) -> dict[str, ErpRef]:
        """Which references Kingdee holds, in any document status, with their debit totals.

        A voucher that is saved but not yet submitted/audited (a run died in between) is taken
        there now; if that does not complete it is left out of the answer, so the engine sends
        it again and ``post`` -- which never saves a reference Kingdee already holds -- resumes
        the missing step and reports the outcome.
        """
        if self._unfindable is not None:
            raise self._unfindable
        shorts = {external_reference(ref): ref for ref in external_refs}
        found = self._find(list(shorts))
        missing = [short for short in shorts if short not in found]
        if missing and self._views(thorough):
            found.update(self._view_all(missing))
        self._just_missing = set() if thorough else {short for short in shorts if short not in found}
        state = {shorts[short]: f for short, f in found.items()}
        target = self.target_status
        if target is not None:
            results: dict[str, PostResult] = {}
            self._advance(state, results, {})
            for ref, result in results.items():
                log.info("voucher %s is in Kingdee but not at status %s yet: %s", ref, target, result.message)
                state.pop(ref, None)
        return {ref: self._erp_ref(f) for ref, f in state.items()}

    def _views(self, thorough: bool) -> bool:
        """Whether View by Number can find what the query missed (FBillNo carries the reference)."""
        if self.settings.external_ref_field != "FBillNo" or self.lookup_by_view == "never":
            return False
        return thorough or self.lookup_by_view == "always"

    def _view_all(self, numbers: Sequence[str]) -> dict[str, Found]:
        found: dict[str, Found] = {}
        for number in numbers:
            obj = self.client.view(FORM, number)
            if obj is None or _base_number(obj.get("AccountBookID")) != self.settings.account_book:
                continue
            debit = sum((amount_of(e.get("DEBIT")) for e in _entries(obj)), start=Decimal(0))
            found[number] = Found(
                str(obj.get("Id") or ""),
                str(obj.get("VOUCHERGROUPNO") or ""),
                str(obj.get("DocumentStatus") or ""),
                debit,
            )
        if found:
            self._ensure_group_name()
        return found

    def _find(self, refs: Sequence[str]) -> dict[str, Found]:
        """reference -> the voucher Kingdee holds with it (lowest id when several)."""
        refs = list(dict.fromkeys(refs))
        if self.settings.ref_in_explanation:
            rows = [row for ref in refs for row in self._query_rows(self._explained(ref), ref)]
        else:
            field = self.settings.external_ref_field
            rows = []
            for chunk in _chunks(refs, QUERY_CHUNK):
                rows += self._query_rows(f"{field} IN ({','.join(quote(ref) for ref in chunk)})", None)
        found = _vouchers(rows, self.settings.external_ref_field)
        if found:
            self._ensure_group_name()
        return found

    def _explained(self, ref: str) -> str:
        return "FEXPLANATION LIKE " + quote(ref.replace("[", "[[]").replace("%", "[%]") + " %")

    def _query_rows(self, condition: str, ref: str | None) -> list[tuple[str, list[Any]]]:
        """(reference, row) per entry of the vouchers matching ``condition`` in our book, any status."""
        field = self.settings.external_ref_field
        keys = ["FVOUCHERID", field, "FVOUCHERGROUPNO", "FDocumentStatus", "FDEBIT"]
        where = (
            f"{condition} AND FAccountBookID.FNumber={quote(self.settings.account_book)} AND {_STATUS_FILTER}"
        )
        try:
            rows = self.client.query(FORM, keys, where, "FVOUCHERID ASC")
        except PermanentError as exc:
            raise ConfigurationError(
                f"Kingdee cannot search vouchers by {field}: {exc.message}",
                hint="external_ref_field must name a header text field of GL_VOUCHER "
                "(FBillNo, or a custom field such as F_XXX_SyncKey added by BOS extension), "
                "or FEXPLANATION",
            ) from None
        out = []
        for row in rows:
            if len(row) < 5:
                continue
            if ref is None:
                out.append((str(row[1]), row))
            elif str(row[1]).startswith(ref + " "):  # LIKE's _ matches any character: check exactly
                out.append((ref, row))
        return out

    def _ensure_group_name(self) -> str:
        if self._group_name is None:
            try:
                rows = self.client.query(
                    "BD_VOUCHERGROUP", ["FNumber", "FName"], f"FNumber={quote(self.settings.voucher_group)}"
                )
            except PermanentError:
                rows = []
            self._group_name = str(rows[0][1]) if rows and len(rows[0]) > 1 else self.settings.voucher_group
        return self._group_name

    def _erp_ref(self, found: Found) -> ErpRef:
        name = self._group_name or self._ensure_group_name()
        number = f"{name}-{found.group_no}" if found.group_no else ""
        return ErpRef(erp_id=found.id, number=number, total=found.total)

    # -- check ----------------------------------------------------------------------------

    def check(self, vouchers: Sequence[Voucher] = ()) -> CheckReport:
        problems: list[str] = []
        details: list[str] = [f"Kingdee {self.client.base_url} ({self.client.auth.mode} auth)"]
        try:
            self._check_named(
                "BD_AccountBook",
                self.settings.account_book,
                "account book (账簿)",
                "account_book",
                problems=problems,
                details=details,
            )
            self._check_named(
                "BD_VOUCHERGROUP",
                self.settings.voucher_group,
                "voucher group (凭证字)",
                "voucher_group",
                problems=problems,
                details=details,
            )
            problems.extend(self._render_problems(vouchers))
            self._check_codes("BD_Account", "account (科目)", _accounts(vouchers), problems, details)
            for flex, form in BASE_DATA_FORMS.items():
                names = [name for name, key in self.settings.flex_map.items() if key == flex]
                self._check_codes(
                    form, f"{'/'.join(names) or flex} ({form})", _dims(vouchers, names), problems, details
                )
        except TransientError as exc:
            raise DestinationUnavailable(
                f"Kingdee did not answer the check: {exc.message}",
                hint="try again; if it persists, ask the Kingdee administrator",
            ) from None
        return CheckReport(ok=not problems, problems=tuple(problems), details=tuple(details))

    def _check_named(
        self, form: str, number: str, what: str, key: str, *, problems: list[str], details: list[str]
    ) -> None:
        try:
            rows = self.client.query(form, ["FNumber", "FName"], f"FNumber={quote(number)}")
        except PermanentError as exc:
            problems.append(f"cannot read {form}: {exc.message}")
            return
        if rows:
            details.append(f"{what} {number} found: {rows[0][1]}")
            if form == "BD_VOUCHERGROUP":
                self._group_name = str(rows[0][1])
        else:
            problems.append(
                f"{what} {number!r} does not exist in Kingdee ({form}); fix `{key}` in the destination config"
            )

    def _check_codes(
        self, form: str, what: str, codes: Iterable[str], problems: list[str], details: list[str]
    ) -> None:
        wanted = sorted(set(codes))
        if not wanted:
            return
        present: dict[str, str] = {}
        try:
            for chunk in _chunks(wanted, QUERY_CHUNK):
                where = f"FNumber IN ({','.join(quote(c) for c in chunk)})"
                for row in self.client.query(form, ["FNumber", "FForbidStatus"], where):
                    present[str(row[0])] = str(row[1] or "A") if len(row) > 1 else "A"
        except PermanentError as exc:
            problems.append(f"cannot read {form}: {exc.message}")
            return
        missing = [c for c in wanted if c not in present]
        disabled = [c for c in wanted if present.get(c) == "B"]
        if missing:
            problems.append(f"{what}: {len(missing)} code(s) missing in Kingdee: {', '.join(missing)}")
        if disabled:
            problems.append(f"{what}: disabled (禁用) in Kingdee: {', '.join(disabled)}")
        details.append(f"{what}: {len(wanted) - len(missing)} of {len(wanted)} found")

    def _render_problems(self, vouchers: Sequence[Voucher]) -> list[str]:
        seen: dict[str, None] = {}
        for voucher in vouchers:
            try:
                render_voucher(voucher, self.settings)
            except RenderError as exc:
                seen[str(exc).split(": ", 1)[-1]] = None
        return list(seen)

    def close(self) -> None:
        self.client.close()


def _vouchers(rows: Sequence[tuple[str, list[Any]]], field: str) -> dict[str, Found]:
    """reference -> the lowest-id voucher holding it, its entries' debits summed."""
    found: dict[str, Found] = {}
    warned: set[str] = set()
    for ref, row in rows:  # ordered by FVOUCHERID: the first voucher of a reference wins
        vid = str(row[0])
        held = found.get(ref)
        if held is None:
            found[ref] = Found(vid, str(row[2] or ""), str(row[3] or ""), amount_of(row[4]))
        elif held.id == vid:
            found[ref] = replace(held, total=(held.total or Decimal(0)) + amount_of(row[4]))
        elif ref not in warned:
            warned.add(ref)
            log.warning(
                "Kingdee holds more than one voucher with %s=%s (ids %s and %s)", field, ref, held.id, vid
            )
    return found


def _base_number(value: Any) -> str:
    if isinstance(value, Mapping):
        return str(value.get("Number") or value.get("FNumber") or "")
    return ""


def _entries(obj: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A View result's voucher entries, whatever the collection is called on this version."""
    for value in obj.values():
        if isinstance(value, list) and value and all(isinstance(e, Mapping) and "DEBIT" in e for e in value):
            return value
    return []


def _accounts(vouchers: Sequence[Voucher]) -> set[str]:
    return {line.account for v in vouchers for line in v.lines}


def _dims(vouchers: Sequence[Voucher], names: Sequence[str]) -> set[str]:
    return {value for v in vouchers for line in v.lines for name, value in line.dims if name in names}


def _success_at(env: Envelope, index: int, size: int) -> Any:
    for success in env.successes:
        if success.dindex == index or (size == 1 and success.dindex in (None, 0)):
            return success
    if size == 1 and env.kind is Kind.OK and env.successes:
        return env.successes[0]
    return None


def _errors_at(env: Envelope, index: int, size: int) -> list[str]:
    own = [e.message for e in env.errors if e.dindex == index]
    if own:
        return own
    if size == 1 or not any(e.dindex is not None and 0 <= e.dindex < size for e in env.errors):
        return [e.message for e in env.errors if e.message]
    return []


def _failure(ref: str, env: Envelope, messages: list[str], operation: str) -> PostResult:
    text = "；".join(dict.fromkeys(messages)) or env.message
    kind = env.kind
    said = f"{operation}: {text}" if operation else text
    if kind is Kind.TRANSIENT:
        return PostResult.transient(ref, f"{said} (MsgCode {env.msg_code})")
    if kind is Kind.SESSION_LOST:  # the client already replayed once
        return PostResult.transient(ref, said)
    if not messages and not env.errors:
        return PostResult.unknown(ref, f"{operation} answered without a result for this voucher")
    if not messages:  # errors exist but belong to other vouchers of the batch: this one was not saved
        return PostResult.transient(ref, f"{operation} saved other vouchers of the batch but not this one")
    return PostResult.permanent(ref, text)
