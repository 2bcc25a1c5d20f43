"""The web side of the desk (SPEC §13): one ASGI application (Starlette), served by uvicorn from
`deskline serve --http ADDR` (runtime.web.server) and by the tests' fixture (tests/web_helpers).

`create_app(desk)` builds it. Each capability is one module with a `routes(web) -> list[BaseRoute]`
function, registered in `ROUTE_MODULES` below: the form channel (runtime.web.forms) and the chat
channel (runtime.web.chat). A module builds its pages with `web.page(template, ...)` and reads the
desk through `web.desk` (runtime.web.context). Every response carries SECURITY_HEADERS and a
strict Content-Security-Policy (C1: no inline script or style, nothing from another site); a
route that must differ (an embeddable page's frame-ancestors) sets its own
`Content-Security-Policy` header, which the middleware then leaves alone (`csp()` builds one).

Pages are Deskline's own: Jinja templates in runtime/web/templates (autoescaped: what a visitor
typed is text), static files in runtime/web/static.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.desk import Desk
from runtime.web import chat, forms
from runtime.web.context import SECURITY_HEADERS, STATIC, Web, WebConfig, csp, template_environment

__all__ = ["Web", "WebConfig", "create_app", "csp"]

RouteModule = Callable[[Web], list[BaseRoute]]


# Every route module of the web side, in order; a new module (the chat channel's,
# runtime.web.chat) imports itself above and adds its `routes` here.
ROUTE_MODULES: list[RouteModule] = [forms.routes, chat.routes]


def create_app(desk: Desk, config: WebConfig | None = None) -> Starlette:
    """The application for `desk` (opened by the caller, in the serving process)."""
    web = Web(desk, config or WebConfig(), template_environment())
    routes: list[BaseRoute] = []
    for module in ROUTE_MODULES:
        routes.extend(module(web))
    routes.append(Mount("/static", app=StaticFiles(directory=STATIC), name="static"))

    async def not_found(request: Request, exc: Exception) -> Response:
        return web.page("error.html", status_code=404, title="Not found", text="No such page.")

    app = Starlette(routes=routes, exception_handlers={404: not_found})
    app.state.web = web
    app.add_middleware(SecurityHeaders)
    return app


class SecurityHeaders:
    """Adds SECURITY_HEADERS and the default Content-Security-Policy to every HTTP response
    that has none of its own (static files and errors included)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in (
                    *SECURITY_HEADERS.items(),
                    ("Content-Security-Policy", csp()),
                ):
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
