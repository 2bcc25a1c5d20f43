"""What every route module of the web side gets (`Web`): the desk, the settings (`WebConfig`),
the page renderer and the rate limiters; and the Content-Security-Policy of a page (`csp`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from automation.web_channel_settings import web_limits
from runtime.desk import Desk
from runtime.web.limits import RateLimiter

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"

# C1: nothing but the desk's own files; no inline script or style; forms post only here.
CSP_BASE = (
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make a form post's Origin "null"
    "Cross-Origin-Opener-Policy": "same-origin",
}


def csp(frame_ancestors: Sequence[str] = ("'none'",)) -> str:
    """The policy of a page; `frame_ancestors` are the origins that may embed it (an iframe)."""
    return "; ".join((*CSP_BASE, "frame-ancestors " + " ".join(frame_ancestors)))


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class WebConfig:
    """How this serving process behaves. `clock` is the limits' and the fill time's clock
    (tests move it instead of sleeping). The C5 limits on posts, chats and sizes are the desk's
    settings (automation.web_channel_settings.WEB_LIMITS), not these."""

    clock: Callable[[], datetime] = utcnow
    form_lifetime_seconds: float = 24 * 3600  # a form page's token expires after a day
    key_file: Path | None = None  # the form tokens' key (None: the data directory's)
    trust_forwarded: bool = False  # a proxy in front: the client address from X-Forwarded-For
    secure_cookies: bool = False  # C3: cookies are Secure under TLS (a proxy in front)
    limits_refresh_seconds: float = 30.0  # how long the C5 limits read from the desk are kept


@dataclass
class Web:
    """What every route module gets: the desk (its own, in this process), the config, the
    templates, and the rate limiters by name (`limiter`)."""

    desk: Desk
    config: WebConfig
    templates: Environment
    limiters: dict[str, RateLimiter] = field(default_factory=dict)
    _limits: tuple[float, dict[str, int]] = (0.0, {})

    async def limits(self) -> dict[str, int]:
        """The C5 limits: the desk's settings of `WEB_LIMITS`' names, else the SPEC's values;
        read again every half minute (of the config's clock), so an admin's change (`automation
        limits`, the settings screen) applies without a restart."""
        at, values = self._limits
        now = self.config.clock().timestamp()
        if not values or not 0 <= now - at <= self.config.limits_refresh_seconds:
            values = await self.desk.read(web_limits)
            self._limits = (now, values)
        return values

    def limiter(self, name: str, per_minute: int) -> RateLimiter:
        if name not in self.limiters:
            self.limiters[name] = RateLimiter(
                name, per_minute, 60.0, clock=self.config.clock, desk=self.desk
            )
        self.limiters[name].limit = per_minute  # the setting now, changed or not
        return self.limiters[name]

    def page(
        self,
        template: str,
        *,
        status_code: int = 200,
        frame_ancestors: Sequence[str] = ("'none'",),
        headers: dict[str, str] | None = None,
        **values: Any,
    ) -> HTMLResponse:
        html = self.templates.get_template(template).render(**values)
        response = HTMLResponse(html, status_code=status_code, headers=headers)
        response.headers["Content-Security-Policy"] = csp(frame_ancestors)
        return response

    def client_address(self, request: Request) -> str:
        """Who is asking, for the rate limits: the peer, or behind a proxy the address the
        proxy added last to X-Forwarded-For (earlier entries are the client's to forge)."""
        if self.config.trust_forwarded:
            forwarded = request.headers.get("x-forwarded-for", "")
            if forwarded.strip():
                return forwarded.split(",")[-1].strip()
        return request.client.host if request.client else "unknown"


def template_environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
    )
