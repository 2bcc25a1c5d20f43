"""Where form and chat channels live on the web (SPEC C1): the paths the web side
(runtime.web) serves them at, and `deskline channel list` shows."""

from __future__ import annotations

FORM_PATH = "/form/{channel_id}"  # the contact form page (GET) and its submissions (POST)
CHAT_PATH = "/chat/{channel_id}"  # the standalone chat page


def web_path(kind: str, channel_id: int) -> str | None:
    """The channel's page on the desk's web address, or None (email and messenger: no page)."""
    if kind == "form":
        return FORM_PATH.format(channel_id=channel_id)
    if kind == "chat":
        return CHAT_PATH.format(channel_id=channel_id)
    return None
