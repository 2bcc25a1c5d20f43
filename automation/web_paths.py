"""Where form and chat channels live on the web (SPEC C1): the paths the web side
(runtime.web) serves them at, and `deskline channel list` and the settings screen show."""

from __future__ import annotations

from urllib.parse import quote

FORM_PATH = "/form/{channel_id}"  # the contact form page (GET) and its submissions (POST)
CHAT_PATH = "/chat/{name}"  # the standalone chat page and its API (runtime.web.chat)


def web_path(kind: str, channel_id: int, name: str) -> str | None:
    """The channel's page on the desk's web address, or None (email and messenger: no page)."""
    if kind == "form":
        return FORM_PATH.format(channel_id=channel_id)
    if kind == "chat":
        return CHAT_PATH.format(name=quote(name, safe=""))
    return None
