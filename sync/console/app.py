"""The console as an ASGI application: the route table (pages, ``/api/``, static files)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from sync.config import AppConfig
from sync.console import login, pages
from sync.console.actions import Actions
from sync.console.config import ConsoleConfig
from sync.console.web import HERE, Console, SecurityHeaders, guarded_page, guarded_post

__all__ = ["create_app"]


def _bound(
    c: Console, func: Callable[[Console, Request], Awaitable[Response]]
) -> Callable[[Request], Awaitable[Response]]:
    return partial(func, c)


def create_app(
    config: AppConfig, settings: ConsoleConfig | None = None, *, fill_facts: bool = True
) -> Starlette:
    """The console over ``config``'s state store; ``fill_facts`` fills the search facts at start."""
    c = Console(config, settings or ConsoleConfig())
    act = Actions(config)
    get = partial(guarded_page, c)
    post = partial(guarded_post, c)
    routes = [
        Route("/login", _bound(c, login.login_page), methods=["GET"]),
        Route("/login", _bound(c, login.login_post), methods=["POST"]),
        Route("/logout", _bound(c, login.logout_post), methods=["POST"]),
        Route("/", get(pages.overview_page), methods=["GET"]),
        Route("/vouchers", get(pages.vouchers_page), methods=["GET"]),
        Route("/vouchers/{key:path}", get(pages.voucher_page), methods=["GET"]),
        Route("/totals", get(pages.totals_page), methods=["GET"]),
        Route("/failures", get(pages.failures_page), methods=["GET"]),
        Route("/approvals", get(pages.approvals_page), methods=["GET"]),
        Route("/users", get(pages.users_page, "users"), methods=["GET"]),
        Route("/download", get(pages.download), methods=["GET"]),
        Route("/api/me", get(login.me), methods=["GET"]),
        Route("/api/vouchers", get(pages.api_vouchers), methods=["GET"]),
        Route(
            "/api/vouchers/{key:path}/approve",
            post("approve", act.approve_one, back="/approvals"),
            methods=["POST"],
        ),
        Route("/api/vouchers/{key:path}", get(pages.api_voucher), methods=["GET"]),
        Route("/api/totals", get(pages.api_totals), methods=["GET"]),
        Route("/api/failures", get(pages.api_failures), methods=["GET"]),
        Route("/api/approve", post("approve", act.approve, back="/approvals"), methods=["POST"]),
        Route("/api/retry", post("retry", act.retry, back="/failures"), methods=["POST"]),
        Route("/api/failures/{id}/dismiss", post("dismiss", act.dismiss, back="/failures"), methods=["POST"]),
        Route("/api/pause", post("pause", act.pause), methods=["POST"]),
        Route("/api/resume", post("resume", act.resume), methods=["POST"]),
        Route("/api/users", get(pages.api_users, "users"), methods=["GET"]),
        Route("/api/users", post("users", act.add_user, back="/users"), methods=["POST"]),
        Route("/api/users/{name}/remove", post("users", act.remove_user, back="/users"), methods=["POST"]),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if fill_facts:
            c.start_filler()
        try:
            yield
        finally:
            c.stop_filler()
            c.pool.close()

    app = Starlette(routes=routes, lifespan=lifespan)
    app.add_middleware(SecurityHeaders)
    app.state.console = c
    return app
