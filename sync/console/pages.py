"""The GET routes: pages and their JSON twins under ``/api/``."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response

from sync.console import facts, views
from sync.console.roles import Role
from sync.console.sessions import Login
from sync.console.users import list_users
from sync.console.web import Console
from sync.errors import ConfigurationError
from sync.state import StateStore, Status

__all__ = [
    "api_failures",
    "api_totals",
    "api_users",
    "api_voucher",
    "api_vouchers",
    "approvals_page",
    "download",
    "failures_page",
    "overview_page",
    "totals_page",
    "users_page",
    "voucher_page",
    "vouchers_page",
]

#: facts filled before a voucher list is answered (the backlog is the background filler's)
FILL_PER_REQUEST = 5_000
#: the report's control-total tables the console shows (the same the xlsx holds)
TOTALS_TABLES = ("by_day", "by_group", "by_account", "differences")


def _json(data: Any) -> JSONResponse:
    return JSONResponse(json.loads(json.dumps(data, default=str)))


def _page_args(c: Console, request: Request) -> tuple[dict[str, str], int, int]:
    params = dict(request.query_params)
    params.pop("lang", None)
    try:
        page_no = int(params.pop("page", "1") or 1)
        size = int(params.pop("page_size", "") or c.settings.page_size)
    except ValueError:
        raise ConfigurationError("page and page_size are numbers", hint="e.g. page=2&page_size=50") from None
    return params, max(1, page_no), min(max(1, size), 500)


def _list(c: Console, params: dict[str, str], page_no: int, size: int) -> Any:
    def work(store: StateStore) -> dict[str, Any]:
        facts.catch_up(store, c.customer_dimension, limit=FILL_PER_REQUEST, look_back=0)
        found = views.voucher_page(store, views.parse_filter(params), page_no, size)
        found["facts_missing"] = store.facts_missing()
        return found

    return c.call(work)


async def api_vouchers(c: Console, request: Request, login: Login) -> Response:
    """``{"items": [...], "total": N, "page": P, "page_size": S, "pages": K}``."""
    params, page_no, size = _page_args(c, request)
    found = await _list(c, params, page_no, size)
    return _json({k: found[k] for k in ("items", "total", "page", "page_size", "pages")})


async def vouchers_page(c: Console, request: Request, login: Login) -> Response:
    params, page_no, size = _page_args(c, request)
    found = await _list(c, params, page_no, size)

    def choices(store: StateStore) -> dict[str, list[str]]:
        return {
            "periods": store.voucher_periods(),
            "groups": store.voucher_groups(),
            "mappings": store.mapping_names(),
        }

    options = await c.call(choices)
    return c.render(
        request,
        "vouchers.html",
        login,
        found=found,
        params=params,
        options=options,
        statuses=views.ALL_STATUSES,
    )


async def api_voucher(c: Console, request: Request, login: Login) -> Response:
    return _json(await c.call(views.voucher_detail, request.path_params["key"]))


async def voucher_page(c: Console, request: Request, login: Login) -> Response:
    detail = await c.call(views.voucher_detail, request.path_params["key"])
    return c.render(request, "voucher.html", login, v=detail)


async def overview_page(c: Console, request: Request, login: Login) -> Response:
    data = await c.call(lambda store: views.overview(c.config, store))
    return c.render(request, "overview.html", login, o=data)


def _totals(c: Console, period: str | None) -> Any:
    """The control totals of the voucher report (``sync.reports.build``): the very tables the
    xlsx holds, so the page and the report tie to the cent by construction."""

    def work(store: StateStore) -> dict[str, Any]:
        from sync.reports import build

        with build.vouchers_report(c.config, period or None) as built:
            tables = [t for t in built.report.tables if t.name in TOTALS_TABLES]
            rows = {t.name: list(t.all_rows()) for t in tables}
            return {
                "tables": [{"table": t, "rows": rows[t.name]} for t in tables],
                "facts": built.report.facts,
                "periods": store.voucher_periods(),
            }

    return c.call(work)


async def totals_page(c: Console, request: Request, login: Login) -> Response:
    period = request.query_params.get("period", "")
    data = await _totals(c, period)
    return c.render(request, "totals.html", login, data=data, period=period)


async def api_totals(c: Console, request: Request, login: Login) -> Response:
    """Each control-total table as a list of rows keyed by column (money as fixed-point text)."""
    from sync.tables.cells import plain

    data = await _totals(c, request.query_params.get("period"))
    out = {
        entry["table"].name: [
            {col.key: plain(cell, col.kind) for col, cell in zip(entry["table"].columns, row, strict=True)}
            for row in entry["rows"]
        ]
        for entry in data["tables"]
    }
    return JSONResponse(out)


async def download(c: Console, request: Request, login: Login) -> Response:
    """The voucher report of a period as ``crmsync report vouchers`` writes it (csv: zipped)."""
    from sync.reports import build
    from sync.tables.files import write_report

    fmt = request.query_params.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        raise ConfigurationError(f"format {fmt!r} cannot be downloaded", hint="xlsx or csv")
    period = request.query_params.get("period") or None
    lang = c.lang(request)
    folder = tempfile.TemporaryDirectory(prefix="crmsync-console-")

    def write(store: StateStore) -> list[Path]:
        with build.vouchers_report(c.config, period) as built:
            return write_report(
                built.report, "xlsx" if fmt == "xlsx" else "csv", lang, Path(folder.name) / "r"
            )

    try:
        paths = await c.call(write)
        if len(paths) == 1:
            path = paths[0]
        else:
            stem = paths[0].name.split(".")[0]
            path = Path(shutil.make_archive(str(Path(folder.name) / stem), "zip", paths[0].parent))
    except BaseException:
        folder.cleanup()
        raise
    return FileResponse(path, filename=path.name, background=BackgroundTask(folder.cleanup))


async def failures_page(c: Console, request: Request, login: Login) -> Response:
    data = await c.call(lambda store: views.failures(c.config, store))
    return c.render(request, "failures.html", login, f=data)


async def api_failures(c: Console, request: Request, login: Login) -> Response:
    """The shape of ``crmsync failures --format json``."""
    return _json(await c.call(lambda store: views.failures(c.config, store)))


async def approvals_page(c: Console, request: Request, login: Login) -> Response:
    def waiting(store: StateStore) -> dict[str, Any]:
        rows = store.list_vouchers(status=Status.AWAITING_APPROVAL)
        return {
            "items": [r.public_dict() for r in rows],
            "periods": sorted({r.voucher_date[:7] for r in rows}, reverse=True),
            "mappings": sorted({r.mapping for r in rows}),
        }

    return c.render(request, "approvals.html", login, a=await c.call(waiting))


async def users_page(c: Console, request: Request, login: Login) -> Response:
    found = await c.call(list_users)
    return c.render(request, "users.html", login, users=found, roles=[r.value for r in Role])


async def api_users(c: Console, request: Request, login: Login) -> Response:
    found = await c.call(list_users)
    return JSONResponse([{"name": u.name, "role": u.role, "created": u.created} for u in found])
