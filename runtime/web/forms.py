"""The form channel's pages (SPEC C2, C5): filled in below."""

from __future__ import annotations

from starlette.routing import BaseRoute

from runtime.web.context import Web


def routes(web: Web) -> list[BaseRoute]:
    return []
