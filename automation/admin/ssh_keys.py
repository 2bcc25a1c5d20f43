"""Users' SSH public keys (the SSH door, SPEC §11): only admins add and remove them, a key
belongs to one user (S1), and the audit of logins is an admin's (S5).

`repo` is the storage repository (`storage.repository.ssh_keys` adds these queries to it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncssh

from automation.admin.common import SettingsError, require_admin
from automation.ports import UserLike


@dataclass(frozen=True)
class PublicKey:
    key_type: str
    key_data: str  # base64 of the key's blob, as in an authorized_keys line
    fingerprint: str  # SHA256:..., as `ssh-keygen -l` prints it
    comment: str


def parse_public_keys(text: str) -> list[PublicKey]:
    """Every key of an OpenSSH public key file (one per line; blank and # lines skipped)."""
    lines = [line.strip() for line in text.splitlines()]
    keys = [parse_public_key(line) for line in lines if line and not line.startswith("#")]
    if not keys:
        raise SettingsError("no public key given (expected a line like 'ssh-ed25519 AAAA... me')")
    return keys


def parse_public_key(line: str) -> PublicKey:
    try:
        key = asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError) as exc:
        shown = line if len(line) <= 40 else line[:37] + "..."
        raise SettingsError(f"not an OpenSSH public key: {shown!r} ({exc})") from exc
    key_type, key_data = key.export_public_key("openssh").decode().split()[:2]
    comment = key.get_comment() or ""
    return PublicKey(key_type, key_data, key.get_fingerprint("sha256"), comment)


def add_ssh_keys(repo: Any, actor: UserLike, user_name: str, text: str) -> list[PublicKey]:
    """Add each key of `text` to the user; a key already on the desk is refused, naming its
    owner (S1), and then none is added."""
    require_admin(actor)
    user = _user_named(repo, user_name)
    keys = parse_public_keys(text)
    for key in keys:
        known = repo.ssh_key_by_fingerprint(key.fingerprint)
        if known is not None:
            owner = "this user" if known.user_id == user.id else f"the user {known.user.name}"
            raise SettingsError(f"the key {key.fingerprint} is already {owner}'s")
    if len({key.fingerprint for key in keys}) < len(keys):
        raise SettingsError("the same key is given twice")
    for key in keys:
        repo.add_ssh_key(
            user,
            key_type=key.key_type,
            key_data=key.key_data,
            fingerprint=key.fingerprint,
            comment=key.comment,
        )
    return keys


def remove_ssh_key(repo: Any, actor: UserLike, user_name: str, fingerprint: str) -> None:
    require_admin(actor)
    user = _user_named(repo, user_name)
    key = repo.ssh_key_by_fingerprint(_with_prefix(fingerprint))
    if key is None or key.user_id != user.id:
        raise SettingsError(f"{user.name} has no key {fingerprint} (see `deskline user key list`)")
    repo.delete_ssh_key(key)


def ssh_keys_seen_by(repo: Any, actor: UserLike, user_name: str | None) -> list[Any]:
    """The keys an actor may list: an admin every user's, a rep only their own."""
    if user_name is None:
        return repo.ssh_keys() if actor.is_admin else repo.ssh_keys(actor)
    user = _user_named(repo, user_name)
    if not actor.is_admin and user.name != actor.name:
        raise SettingsError(f"{actor.name} is not an admin: only admins see others' keys")
    return repo.ssh_keys(user)


def logins_seen_by(repo: Any, actor: UserLike, *, limit: int | None = None) -> list[Any]:
    if not actor.is_admin:
        raise SettingsError(f"{actor.name} is not an admin: only admins read the login audit")
    return repo.ssh_logins(limit=limit)


def _with_prefix(fingerprint: str) -> str:
    return fingerprint if fingerprint.startswith("SHA256:") else f"SHA256:{fingerprint}"


def _user_named(repo: Any, name: str) -> Any:
    user = repo.user_by_name(name)
    if user is None:
        raise SettingsError(f"no user {name!r} (see `deskline user list`)")
    return user
