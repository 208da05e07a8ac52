"""Read, validate and compile one mapping file, collecting every located problem."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sync.errors import ConfigurationError, Location
from sync.mapping.compiled import CompiledLine, CompiledMapping, located
from sync.mapping.expr import CompileError, Evaluator, compile_expression, compile_template
from sync.mapping.lookups import Lookup, read_csv_table
from sync.mapping.migrations import MigrationProblem, migrate
from sync.mapping.models import MappingSpec
from sync.yamlfile import LoadedYaml, Problem, load_yaml, problems_from_validation

__all__ = ["compile_file"]

Loc = tuple[str | int, ...]


class _Builder:
    """Compiles expressions at their YAML positions; problems are collected, never raised."""

    def __init__(self, loaded: LoadedYaml, lookup_names: Collection[str]) -> None:
        self.loaded = loaded
        self.lookup_names = list(lookup_names)
        self.problems: list[Problem] = []

    def where(self, loc: Loc) -> Location:
        return self.loaded.locate(loc)

    def _compile(self, text: str, loc: Loc, known: Collection[str], template: bool) -> Evaluator:
        where = self.where(loc)
        what = ".".join(str(p) if isinstance(p, str) else f"[{p}]" for p in loc).replace(".[", "[")
        try:
            compiler = compile_template if template else compile_expression
            fn = compiler(text, known_vars=tuple(known), lookups=self.lookup_names)
        except CompileError as exc:
            self.problems.append(
                Problem(self._inside(loc, exc.column) or where, f"{what}: {exc.message}", exc.hint)
            )
            return _never
        return located(fn, where, what)

    def _inside(self, loc: Loc, column: int) -> Location | None:
        """The position of ``column`` inside a one-line scalar value (None for block scalars)."""
        try:
            node: Any = yaml.compose(
                Path(self.loaded.path).read_text(encoding="utf-8-sig"), Loader=yaml.SafeLoader
            )
        except (OSError, yaml.YAMLError):
            return None
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                node = next((v for k, v in node.value if k.value == str(part)), None)
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                return None
        if not isinstance(node, yaml.ScalarNode) or node.style in {"|", ">"}:
            return None
        if node.start_mark.line != node.end_mark.line:
            return None
        quote = 1 if node.style in {"'", '"'} else 0
        return Location(
            self.loaded.path, node.start_mark.line + 1, node.start_mark.column + 1 + quote + column
        )

    def expr(self, text: str, loc: Loc, known: Collection[str] = ()) -> Evaluator:
        return self._compile(text, loc, known, template=False)

    def template(self, text: str, loc: Loc, known: Collection[str] = ()) -> Evaluator:
        return self._compile(text, loc, known, template=True)


def _never(scope: Any) -> Any:  # placeholder for an expression that failed to compile
    raise AssertionError("a mapping with problems is never run")


def compile_file(
    path: Path,
    *,
    accounts: Collection[str] | None = None,
    profile: str | None = None,
    lookups_dir: Path | None = None,
) -> tuple[CompiledMapping | None, list[Problem]]:
    """The compiled mapping, or None and every problem found in the file."""
    try:
        loaded = load_yaml(path)
    except ConfigurationError as exc:
        return None, [Problem(exc.location or Location(str(path)), exc.message, exc.hint)]
    if not isinstance(loaded.data, dict):
        return None, [
            Problem(
                loaded.locate(()),
                "a mapping file must be a YAML mapping of keys "
                "(version, name, source, stream, voucher, lines …)",
            )
        ]
    try:
        data = migrate(_numbers_as_written(loaded.data, path))
    except MigrationProblem as exc:
        return None, [Problem(loaded.locate(("version",)), exc.message, exc.hint)]
    try:
        spec = MappingSpec.model_validate(data)
    except ValidationError as exc:
        return None, problems_from_validation(exc, loaded, MappingSpec)
    return _compile_spec(spec, loaded, path, accounts=accounts, profile=profile, lookups_dir=lookups_dir)


def _compile_spec(
    spec: MappingSpec,
    loaded: LoadedYaml,
    path: Path,
    *,
    accounts: Collection[str] | None,
    profile: str | None,
    lookups_dir: Path | None,
) -> tuple[CompiledMapping | None, list[Problem]]:
    b = _Builder(loaded, spec.lookups)
    lookups = _lookups(spec, b, path, lookups_dir)
    known: list[str] = []
    lets = []
    for name, text in spec.let.items():
        lets.append((name, b.expr(text, ("let", name), known)))
        known.append(name)
    lines = tuple(_line(b, spec, i, known) for i in range(len(spec.lines)))
    group_by: tuple[tuple[str, Evaluator], ...] = ()
    group_summary = group_key = None
    if spec.summarise is not None:
        group_by = tuple((n, b.expr(t, ("summarise", "by", n), known)) for n, t in spec.summarise.by.items())
        group_known = [*known, *spec.summarise.by]
        if spec.summarise.summary is not None:
            group_summary = b.template(spec.summarise.summary, ("summarise", "summary"), group_known)
        if spec.summarise.key is not None:
            group_key = b.template(spec.summarise.key, ("summarise", "key"), group_known)
    rounding: dict[str, Any] = {}
    if spec.rounding_difference is not None:
        rd = spec.rounding_difference
        rounding = {
            "rounding_account": b.template(rd.account, ("rounding_difference", "account"), known),
            "rounding_memo": b.template(rd.memo, ("rounding_difference", "memo"), known),
            "rounding_max": _max(rd.max, b),
        }
    chosen_profile = spec.account_profiles.get(profile or "", {})
    _check_literal_accounts(spec, b, accounts, chosen_profile)
    h = spec.voucher
    compiled = CompiledMapping(
        name=spec.name,
        source=spec.source,
        stream=spec.stream,
        file=str(path),
        line=loaded.locate(("name",)).line,
        spec=spec,
        record_id=b.template(spec.id, ("id",)),
        reference=b.template(spec.reference, ("reference",), known),
        control_amount=None
        if spec.control_amount is None
        else b.expr(spec.control_amount, ("control_amount",), known),
        key=None if spec.key is None else b.template(spec.key, ("key",), known),
        when=None if spec.when is None else b.expr(spec.when, ("when",)),
        when_text=spec.when or "",
        void_when=b.expr(spec.void_when, ("void_when",)),
        hold_when=None if spec.hold_when is None else b.expr(spec.hold_when, ("hold_when",)),
        hold_text=spec.hold_when or "",
        lets=tuple(lets),
        book=b.template(h.book, ("voucher", "book"), known),
        date=b.expr(h.date, ("voucher", "date"), known),
        period=None if h.period is None else b.template(h.period, ("voucher", "period"), known),
        group=b.template(h.group, ("voucher", "group"), known),
        summary=b.template(h.summary, ("voucher", "summary"), known),
        currency=h.currency.upper(),
        lines=lines,
        lookups=lookups,
        lines_where=b.where(("lines",)),
        header_where=b.where(("voucher",)),
        group_by=group_by,
        group_summary=group_summary,
        group_key=group_key,
        accounts=None if accounts is None else frozenset(accounts),
        profile=chosen_profile,
        **rounding,
    )
    return (None, b.problems) if b.problems else (compiled, [])


def _line(b: _Builder, spec: MappingSpec, i: int, known: list[str]) -> CompiledLine:
    ln = spec.lines[i]
    side = "debit" if ln.debit is not None else "credit"
    amount_text = ln.debit if ln.debit is not None else ln.credit
    assert amount_text is not None  # the model guarantees one side
    loc: Loc = ("lines", i)
    return CompiledLine(
        index=i,
        account=b.template(ln.account, (*loc, "account"), known),
        side=side,
        amount=b.expr(amount_text, (*loc, side), known),
        amount_what=f"lines[{i}].{side}",
        amount_text=str(amount_text),
        amount_where=b.where((*loc, side)),
        when=None if ln.when is None else b.expr(ln.when, (*loc, "when"), known),
        dims=tuple((name, b.template(t, (*loc, "dims", name), known)) for name, t in ln.dims.items()),
        memo=b.template(ln.memo, (*loc, "memo"), known) if ln.memo else None,
        currency=None if ln.currency is None else b.template(ln.currency, (*loc, "currency"), known),
        foreign_amount=None
        if ln.foreign_amount is None
        else b.expr(ln.foreign_amount, (*loc, "foreign_amount"), known),
        rate=None if ln.rate is None else b.expr(ln.rate, (*loc, "rate"), known),
        keep_zero=ln.keep_zero,
        allow_negative=ln.allow_negative,
        where=b.where(loc),
    )


def _numbers_as_written(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """Keep the text of numbers YAML would change: ``book: 001`` is "001", not 1; ``1002.10`` keeps its 0.

    Account codes, book numbers and rates are text or exact decimals to us, never YAML's
    ints and floats; a plain number whose text would not survive the round trip stays text.
    """
    try:
        root = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=yaml.SafeLoader)
    except (OSError, yaml.YAMLError):
        return data

    def walk(node: Any, value: Any) -> Any:
        if isinstance(node, yaml.MappingNode) and isinstance(value, dict):
            for key_node, value_node in node.value:
                if key_node.value in value:
                    value[key_node.value] = walk(value_node, value[key_node.value])
        elif isinstance(node, yaml.SequenceNode) and isinstance(value, list):
            return [walk(n, v) for n, v in zip(node.value, value, strict=False)]
        elif (
            isinstance(node, yaml.ScalarNode)
            and node.style is None
            and isinstance(value, int | float)
            and not isinstance(value, bool)
            and node.value != str(value)
        ):
            return node.value
        return value

    result = walk(root, data)
    return result if isinstance(result, dict) else data


def _lookups(spec: MappingSpec, b: _Builder, path: Path, lookups_dir: Path | None) -> dict[str, Lookup]:
    out: dict[str, Lookup] = {}
    for name, lk in spec.lookups.items():
        loc: Loc = ("lookups", name)
        default = None if lk.default is None else b.template(lk.default, (*loc, "default"), ["key"])
        if lk.table is not None:
            out[name] = Lookup(name, dict(lk.table), f"lookups.{name} in {path.name}", lk.on_missing, default)
            continue
        assert lk.csv is not None
        csv_path = _find_csv(lk.csv, path, lookups_dir)
        try:
            table = read_csv_table(csv_path, lk.key_column, lk.value_column)
        except FileNotFoundError:
            b.problems.append(
                Problem(
                    b.where((*loc, "csv")),
                    f"lookups.{name}: CSV file {lk.csv!r} not found (looked for {csv_path})",
                    "create it, or fix the path (relative to the mapping file)",
                )
            )
            continue
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            b.problems.append(
                Problem(
                    b.where((*loc, "csv")),
                    f"lookups.{name}: {exc}",
                    "check the CSV header row and save the file as UTF-8",
                )
            )
            continue
        out[name] = Lookup(name, table, str(csv_path.name), lk.on_missing, default)
    return out


def _find_csv(name: str, mapping_path: Path, lookups_dir: Path | None) -> Path:
    """Relative CSV paths: the config's ``lookups_dir`` first (site overrides), then the mapping's folder."""
    p = Path(name).expanduser()
    if p.is_absolute():
        return p
    if lookups_dir is not None and (lookups_dir / p).is_file():
        return lookups_dir / p
    return mapping_path.parent / p


def _max(text: str, b: _Builder) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        b.problems.append(
            Problem(
                b.where(("rounding_difference", "max")),
                f"rounding_difference.max: {text!r} is not a decimal amount",
                "write e.g. '0.05'",
            )
        )
        return Decimal(0)
    if not value.is_finite() or value < 0:
        b.problems.append(
            Problem(
                b.where(("rounding_difference", "max")),
                "rounding_difference.max must be a positive amount",
                "write e.g. '0.05'",
            )
        )
    return value


def _check_literal_accounts(
    spec: MappingSpec, b: _Builder, accounts: Collection[str] | None, profile: Mapping[str, str]
) -> None:
    """Accounts written literally (or in inline lookup tables used as accounts) must be in the chart."""
    if accounts is None:
        return
    chart = frozenset(accounts)
    candidates: list[tuple[str, Loc]] = [
        (ln.account, ("lines", i, "account")) for i, ln in enumerate(spec.lines)
    ]
    if spec.rounding_difference is not None:
        candidates.append((spec.rounding_difference.account, ("rounding_difference", "account")))
    seen: set[Loc] = set()
    for text, loc in candidates:
        if loc in seen:
            continue
        seen.add(loc)
        if "{{" in text:
            for name, lk in spec.lookups.items():
                if lk.table is not None and (f"'{name}'" in text or f'"{name}"' in text):
                    candidates.extend(
                        (v, ("lookups", name, "table", k))
                        for k, v in (lk.table or {}).items()
                        if "{{" not in v
                    )
            continue
        account = profile.get(text, text)
        if account not in chart:
            b.problems.append(
                Problem(
                    b.where(loc),
                    f"unknown account {account!r}: not in the chart of accounts",
                    "use an account code from the chart, or add the account to the chart",
                )
            )
