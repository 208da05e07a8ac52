"""The console's plumbing: its state, the guards every route passes, and HTML-or-JSON answers.

Pages are GET; every change is a POST under ``/api/`` that a page's form and a script share:
a form (``application/x-www-form-urlencoded``, the CSRF token in a hidden field) is answered
with a redirect back and a one-line notice, JSON (token in ``X-CSRF-Token``) with JSON. The
checks run in this order and stop at the first that fails, before anything is read or
changed: a session (401), the CSRF token (403), the role (403). The work itself runs in a
worker thread with a state store of its own (``ConsolePool``), under the user's name in the
audit trail.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync.config import AppConfig
from sync.console import facts, views
from sync.console.config import ConsoleConfig
from sync.console.i18n import Lang, words
from sync.console.roles import allows
from sync.console.sessions import COOKIE, Login, LoginLimiter, session_login
from sync.errors import ConfigurationError, CrmsyncError, LockHeld
from sync.secrets import redact
from sync.state import StateStore, audit

__all__ = [
    "Action",
    "Console",
    "ConsolePool",
    "Page",
    "SecurityHeaders",
    "error_json",
    "guarded_page",
    "guarded_post",
    "safe_next",
]

log = logging.getLogger("crmsync.console")

HERE = Path(__file__).parent
LANG_COOKIE = "crmsync_lang"
#: how often the background filler looks for vouchers committed late (PostgreSQL)
SWEEP_SECONDS = 60.0
FLASH_COOKIE = "crmsync_flash"

_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        b"form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"cache-control", b"no-store"),
]


class SecurityHeaders:
    """Every answer forbids framing, inline scripts and sniffing, and is never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *_HEADERS]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class ConsolePool:
    """One state store per worker thread (a connection is not shared between threads)."""

    def __init__(self, config: AppConfig) -> None:
        self.config = config
        self._local = threading.local()
        self._all: list[StateStore] = []
        self._lock = threading.Lock()

    def store(self) -> StateStore:
        store: StateStore | None = getattr(self._local, "store", None)
        if store is None:
            from sync.engine.build import open_store

            store = open_store(self.config)
            self._local.store = store
            with self._lock:
                self._all.append(store)
        return store

    def close(self) -> None:
        with self._lock:
            for store in self._all:
                try:
                    store.close()
                except Exception:  # noqa: S112 - closing at exit: nothing left to tell
                    continue
            self._all.clear()


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target only on this site: a path, never ``//host`` or a scheme (open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ch in target for ch in "\r\n\\"):
        return default
    return target


def _money(value: Any) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value or "")


def here(request: Request) -> str:
    return request.url.path + (f"?{request.url.query}" if request.url.query else "")


class Console:
    """The application's state: config, the store pool, the login limiter, the templates."""

    def __init__(self, config: AppConfig, settings: ConsoleConfig) -> None:
        from sync.reports.inputs import reports_config

        self.config = config
        self.settings = settings
        self.pool = ConsolePool(config)
        self.limiter = LoginLimiter(settings.login_attempts, settings.lockout_minutes * 60)
        self.customer_dimension = reports_config(config).customer_dimension
        self.secure_cookies = settings.tls or settings.behind_proxy
        self.env = Environment(
            loader=FileSystemLoader(HERE / "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
        )
        self.env.filters["q"] = lambda value: quote(str(value), safe="")
        self.env.filters["pretty_json"] = views.pretty_json
        self.env.filters["money"] = _money
        self._stop = threading.Event()
        self._filler: threading.Thread | None = None

    async def call(self, func: Callable[..., Any], *args: Any, login: Login | None = None) -> Any:
        """``func(store, *args)`` in a worker thread, as ``login`` in the audit trail."""

        def work() -> Any:
            store = self.pool.store()
            if login is None:
                return func(store, *args)
            with audit.acting_as(login.username):
                return func(store, *args)

        return await run_in_threadpool(work)

    async def login_of(self, request: Request) -> Login | None:
        token = request.cookies.get(COOKIE)
        if not token:
            return None
        login: Login | None = await self.call(session_login, token, self.settings.idle_timeout_minutes)
        return login

    def lang(self, request: Request) -> Lang:
        chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
        if chosen == "en":
            return "en"
        if chosen == "zh":
            return "zh"
        return self.settings.language

    def cookie(self, response: Response, name: str, value: str, max_age: int | None = None) -> None:
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=True,
            samesite="strict",
            secure=self.secure_cookies,
            path="/",
        )

    def render(
        self, request: Request, template: str, login: Login | None, status: int = 200, **data: Any
    ) -> Response:
        lang = self.lang(request)
        flash = unquote(request.cookies.get(FLASH_COOKIE, ""))
        html = self.env.get_template(template).render(
            t=words(lang),
            lang=lang,
            login=login,
            can=lambda action: login is not None and allows(login.role, action),
            path=request.url.path,
            here=here(request),
            flash=flash,
            **data,
        )
        response = HTMLResponse(html, status_code=status)
        if request.query_params.get("lang") in ("zh", "en"):
            self.cookie(response, LANG_COOKIE, lang)
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    def start_filler(self, every: float = SWEEP_SECONDS) -> threading.Thread:
        """Fill the facts of the whole backlog in the background (a big store takes a while),
        then sweep for late rows every ``every`` seconds until ``stop_filler``."""

        def fill() -> None:
            while True:
                try:
                    added = facts.catch_up(self.pool.store(), self.customer_dimension, stop=self._stop.is_set)
                    if added:
                        log.info("search index: %d vouchers added", added)
                except CrmsyncError as exc:
                    log.warning("search index not filled: %s", exc.message)
                if self._stop.wait(every):
                    return

        thread = threading.Thread(target=fill, name="crmsync-console-facts", daemon=True)
        thread.start()
        self._filler = thread
        return thread

    def stop_filler(self) -> None:
        """Stop the sweeps; a fill under way finishes its batch first (its store closes after)."""
        self._stop.set()
        if self._filler is not None:
            self._filler.join(30)


def error_json(status: int, message: str, hint: str = "") -> JSONResponse:
    return JSONResponse({"error": {"message": message, "hint": hint}}, status_code=status)


def is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "")
    return kind.startswith(("application/x-www-form-urlencoded", "multipart/form-data"))


#: form fields that may repeat (checkboxes): always lists
_LIST_FIELDS = ("keys", "ids")


async def read_body(request: Request) -> dict[str, Any]:
    """A form or a JSON object as a dict (a repeated form field as a list)."""
    if is_form(request):
        form = await request.form()
        out: dict[str, Any] = {}
        for key, value in form.multi_items():
            if isinstance(value, str):
                if key in _LIST_FIELDS:
                    out.setdefault(key, []).append(value)
                else:
                    out[key] = value
        return out
    raw = await request.body()
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        raise ConfigurationError("the request body is not JSON", hint="send a JSON object") from None
    if not isinstance(data, dict):
        raise ConfigurationError("the request body is not a JSON object", hint='e.g. {"keys": ["…"]}')
    return data


def _same_origin(request: Request) -> bool:
    """A browser's Origin header, when sent, must be this site (a second line behind SameSite)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return urlsplit(origin).netloc in {
        request.headers.get("host", ""),
        request.headers.get("x-forwarded-host"),
    }


def csrf_ok(request: Request, body: dict[str, Any], login: Login) -> bool:
    sent = request.headers.get("x-csrf-token") or str(body.get("csrf_token") or "")
    return bool(sent) and hmac.compare_digest(sent, login.csrf_token) and _same_origin(request)


#: a page or GET API handler: (console, request, login) -> response
Page = Callable[[Console, Request, Login], Awaitable[Response]]
#: an action: (store, login, body, path parameters) -> result (``message`` is shown on the page)
Action = Callable[[StateStore, Login, dict[str, Any], dict[str, str]], dict[str, Any]]


def guarded_page(c: Console, handler: Page, action: str = "read") -> Callable[[Request], Awaitable[Response]]:
    """A GET route: a login (else 401 / the login page), the role, and errors as pages or JSON."""

    async def endpoint(request: Request) -> Response:
        login = await c.login_of(request)
        api = request.url.path.startswith("/api/")
        status, message = 0, ""
        if login is None:
            if api:
                return error_json(401, "not logged in", "POST /login with username and password")
            return RedirectResponse("/login?next=" + quote(here(request), safe=""), status_code=303)
        if not allows(login.role, action):
            status, message = 403, f"the role {login.role} may not {action}"
        else:
            try:
                return await handler(c, request, login)
            except views.NotFound as exc:
                status, message = 404, str(exc)
            except CrmsyncError as exc:
                status, message = 400, exc.render()
        if api:
            return error_json(status, message)
        return c.render(request, "refused.html", login, status=status, message=message)

    return endpoint


def guarded_post(
    c: Console, action: str, handler: Action, *, back: str = "/"
) -> Callable[[Request], Awaitable[Response]]:
    """A POST route: session (401), CSRF (403), role (403), then the action as the user."""

    async def endpoint(request: Request) -> Response:
        form = is_form(request)
        login = await c.login_of(request)
        if login is None:
            return (
                RedirectResponse("/login", status_code=303)
                if form
                else error_json(401, "not logged in", "POST /login with username and password")
            )
        try:
            body = await read_body(request)
        except ConfigurationError as exc:
            return error_json(400, exc.message, exc.hint)
        if not csrf_ok(request, body, login):
            return error_json(
                403, "missing or wrong CSRF token", "send GET /api/me's csrf_token as X-CSRF-Token"
            )
        if not allows(login.role, action):
            return error_json(403, f"the role {login.role} may not {action}")
        status, result = await _run(c, handler, login, body, dict(request.path_params))
        if not form:
            return JSONResponse(result, status_code=status)
        notice = str(result.get("message") or result.get("error", {}).get("message", ""))
        response = RedirectResponse(safe_next(str(body.get("next") or ""), back), status_code=303)
        c.cookie(response, FLASH_COOKIE, quote(redact(notice))[:1500], max_age=60)
        return response

    return endpoint


async def _run(
    c: Console, handler: Action, login: Login, body: dict[str, Any], path: dict[str, str]
) -> tuple[int, dict[str, Any]]:
    try:
        result: dict[str, Any] = await c.call(handler, login, body, path, login=login)
        return 200, result
    except views.NotFound as exc:
        return 404, {"error": {"message": str(exc), "hint": ""}}
    except LockHeld as exc:
        return 409, {"error": {"message": exc.message, "hint": exc.hint}}
    except CrmsyncError as exc:
        return 400, {"error": {"message": exc.message, "hint": exc.hint}}
