"""Channels (SPEC §3) and the mail servers of an email channel (issue 4)."""

from __future__ import annotations

from typing import Any

from automation.admin.common import SettingsError, pipeline_or_default, require_admin
from automation.ports import AdminRepository, ChannelLike, UserLike
from automation.tickets import LIVE_SOURCES_EXCLUDED, SOURCES

CHANNEL_KINDS = SOURCES


def add_channel(
    repo: AdminRepository,
    user: UserLike,
    *,
    name: str,
    kind: str,
    address: str | None,
    pipeline_name: str | None,
    ticket_automation: bool | None,
) -> ChannelLike:
    require_admin(user)
    if kind not in CHANNEL_KINDS:
        raise SettingsError(f"channel kind must be one of {', '.join(CHANNEL_KINDS)}")
    if repo.channel_by_name(name) is not None:
        raise SettingsError(f"a channel named {name!r} exists already")
    if kind == "email":
        address = _checked_address(address)
    pipeline = pipeline_or_default(repo, pipeline_name)
    if ticket_automation is None:
        ticket_automation = kind not in LIVE_SOURCES_EXCLUDED
    return repo.add_channel(
        name=name,
        kind=kind,
        address=address.lower() if address else None,
        pipeline_id=pipeline.id,
        ticket_automation=ticket_automation,
    )


def set_channel(
    repo: AdminRepository,
    user: UserLike,
    name: str,
    *,
    address: str | None = None,
    pipeline_name: str | None = None,
    ticket_automation: bool | None = None,
    bulk_opens_tickets: bool | None = None,
) -> ChannelLike:
    require_admin(user)
    channel = channel_named(repo, name)
    if address is not None:
        channel.address = _checked_address(address).lower()
    if pipeline_name is not None:
        channel.pipeline_id = pipeline_or_default(repo, pipeline_name).id
    if ticket_automation is not None:
        channel.ticket_automation = ticket_automation
    if bulk_opens_tickets is not None:
        channel.bulk_opens_tickets = bulk_opens_tickets
    return channel


def channel_named(repo: AdminRepository, name: str) -> Any:
    """The channel named. Typed `Any`: callers read its mail settings, not part of
    `ChannelLike`."""
    channel = repo.channel_by_name(name)
    if channel is None:
        known = ", ".join(c.name for c in repo.channels()) or "none yet"
        raise SettingsError(f"no channel {name!r} (channels: {known})")
    return channel


def _checked_address(address: str | None) -> str:
    address = (address or "").strip()
    if not address or "@" not in address or any(c in address for c in "\r\n <>,;"):
        raise SettingsError(f"an email channel needs a valid --address, not {address!r}")
    return address


TLS_MODES = ("implicit", "starttls", "none")
AUTH_MODES = ("password", "xoauth2")
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")
MAIL_FIELDS = (
    "imap_host",
    "imap_port",
    "imap_tls",
    "imap_user",
    "imap_folder",
    "imap_secret",
    "smtp_host",
    "smtp_port",
    "smtp_tls",
    "smtp_user",
    "smtp_secret",
    "auth",
)


def set_channel_mail(repo: AdminRepository, user: UserLike, name: str, **changes: Any) -> Any:
    """IMAP and SMTP settings of an email channel. Secrets are references (env:, file:,
    keyring:, command:), never the secret: a bare password is refused (SPEC §7). Returns the
    channel typed `Any`: its mail settings are not part of `ChannelLike`."""
    from mail.secrets import SecretError, check_reference

    require_admin(user)
    channel = channel_named(repo, name)
    if channel.kind != "email":
        raise SettingsError(
            f"{name} is a {channel.kind} channel: only email channels have mail servers"
        )
    for field, value in changes.items():
        if field not in MAIL_FIELDS:
            raise SettingsError(f"unknown mail setting {field}")
        if value is None:
            continue
        if field.endswith("_tls") and value not in TLS_MODES:
            raise SettingsError(f"{field} must be one of {', '.join(TLS_MODES)}")
        if field == "auth" and value not in AUTH_MODES:
            raise SettingsError(f"auth must be one of {', '.join(AUTH_MODES)}")
        if field.endswith("_port") and not 0 < int(value) < 65536:
            raise SettingsError(f"{field} must be a port number")
        if field.endswith("_secret"):
            try:
                value = check_reference(value)
            except SecretError as exc:
                raise SettingsError(str(exc)) from None
        setattr(channel, field, value)
    for side in ("imap", "smtp"):
        host = getattr(channel, f"{side}_host")
        if getattr(channel, f"{side}_tls") == "none" and host and host not in LOOPBACK_HOSTS:
            raise SettingsError(f"{side} without TLS is allowed only for a loopback server")
    return channel
