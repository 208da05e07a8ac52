"""``/login`` and ``/logout``: a new session for the right password, within the attempt limit."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from sync.console.sessions import COOKIE, Login, authenticate, end_session, start_session
from sync.console.web import Console, csrf_ok, error_json, is_form, read_body, safe_next

__all__ = ["login_page", "login_post", "logout_post", "me"]

log = logging.getLogger("crmsync.console")


async def login_page(c: Console, request: Request) -> Response:
    if await c.login_of(request) is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return c.render(request, "login.html", None, next=safe_next(request.query_params.get("next")))


async def login_post(c: Console, request: Request) -> Response:
    """Form fields ``username``, ``password`` (and ``next``); JSON with ``Accept: application/json``."""
    wants_json = "application/json" in request.headers.get("accept", "")
    fields = await request.form() if is_form(request) else None
    username = str(fields.get("username") or "") if fields else ""
    password = str(fields.get("password") or "") if fields else ""
    target = safe_next(str(fields.get("next") or "") if fields else "")
    address = request.client.host if request.client else ""
    wait = c.limiter.retry_after(username, address)

    def refused(status: int, message: str) -> Response:
        response: Response
        if wants_json:
            response = error_json(status, message)
        else:
            response = c.render(
                request, "login.html", None, status=status, error=message, next=target, username=username
            )
        if status == 429:
            response.headers["retry-after"] = str(wait)
        return response

    if wait:
        log.warning("console login refused for %r from %s: too many failed attempts", username, address)
        return refused(429, f"too many failed logins; try again in {wait} s")
    role = await c.call(authenticate, username, password)
    if role is None:
        c.limiter.failed(username, address)
        log.warning("console login failed for %r from %s", username, address)
        return refused(401, "wrong user name or password")
    c.limiter.succeeded(username)
    token, csrf = await c.call(start_session, username, address, request.cookies.get(COOKIE))
    log.info("console login: %s (%s) from %s", username, role, address)
    response: Response
    if wants_json:
        response = JSONResponse({"name": username, "role": role, "csrf_token": csrf})
    else:
        response = RedirectResponse(target, status_code=303)
    c.cookie(response, COOKIE, token)
    return response


async def logout_post(c: Console, request: Request) -> Response:
    form = is_form(request)
    login = await c.login_of(request)
    if login is None:
        return RedirectResponse("/login", status_code=303) if form else error_json(401, "not logged in")
    if not csrf_ok(request, await read_body(request), login):
        return error_json(403, "missing or wrong CSRF token")
    await c.call(end_session, request.cookies.get(COOKIE, ""))
    log.info("console logout: %s", login.username)
    response: Response = RedirectResponse("/login", status_code=303) if form else JSONResponse({"ok": True})
    response.delete_cookie(COOKIE, path="/")
    return response


async def me(c: Console, request: Request, login: Login) -> Response:
    return JSONResponse({"name": login.username, "role": login.role, "csrf_token": login.csrf_token})
