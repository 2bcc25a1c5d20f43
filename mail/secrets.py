"""Secrets by reference: the database stores where a password or token comes from, never the
secret itself (SPEC §7).

- ``env:NAME``: an environment variable
- ``file:/path``: the first line of a file readable by its owner only (mode 0600 or stricter)
- ``keyring:SERVICE/USER``: the system keyring (the optional ``keyring`` package)
- ``command:...``: the first line a command prints (XOAUTH2 access tokens, the way terminal mail
  clients reach Gmail and Microsoft 365: ``command:oama access user@gmail.com``)

SPEC S8: whoever can write the database could otherwise make the mail worker run any command or
send any file it can read to a host of their choosing. So every reference, whatever its scheme,
must also be allowed for its host in a host-local allow-list file that only the worker's account
can change (`allow_list_path()`: $DESKLINE_SECRETS_ALLOW, else secrets.allow in Deskline's
configuration directory). One line per reference, its host(s) first:

    # host[,host...]   reference (exactly as stored on the channel)
    imap.example.org,smtp.example.org  command:oama access help@example.org
    smtp.example.org                   file:/home/desk/.smtp-password

Blank lines and lines starting with # are skipped. A reference that is not listed for the host
it is sent to is refused, naming the file.
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

SCHEMES = ("env", "file", "keyring", "command")
COMMAND_TIMEOUT = 30
ALLOW_ENV = "DESKLINE_SECRETS_ALLOW"
ALLOW_NAME = "secrets.allow"


class SecretError(Exception):
    """A secret that cannot be had; the message says which and why, never the secret."""


def check_reference(reference: str) -> str:
    """Validate the form of a reference (not the secret); return it stripped."""
    scheme, sep, rest = reference.strip().partition(":")
    if not sep or scheme not in SCHEMES or not rest.strip():
        raise SecretError(
            "a secret is given by reference: env:VARIABLE, file:/path, keyring:SERVICE/USER or "
            "command:COMMAND (the database never stores a password)"
        )
    return reference.strip()


def allow_list_path() -> Path:
    """$DESKLINE_SECRETS_ALLOW, else secrets.allow in the configuration directory (platformdirs;
    $XDG_CONFIG_HOME/deskline when set). Never a setting in the database (S8)."""
    given = os.environ.get(ALLOW_ENV)
    if given:
        return Path(given).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    if xdg:
        return Path(xdg) / "deskline" / ALLOW_NAME
    from platformdirs import user_config_dir

    return Path(user_config_dir("deskline")) / ALLOW_NAME


def _trusted(path: Path) -> None:
    """The file and its folder are this account's and no one else can write them."""
    for item, what in ((path, "file"), (path.parent, "folder")):
        info = item.stat()
        if info.st_uid != os.geteuid():
            raise SecretError(f"the secrets allow-list {what} {item} is not this account's")
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            raise SecretError(
                f"the secrets allow-list {what} {item} can be changed by other accounts: "
                f"chmod go-w {item}"
            )


def allowed(path: Path | None = None) -> dict[str, set[str]]:
    """The allow-list: reference -> the hosts it may be sent to. SecretError (naming the file)
    if it cannot be trusted; an absent file allows nothing."""
    path = path or allow_list_path()
    if not path.exists():
        return {}
    _trusted(path)
    found: dict[str, set[str]] = {}
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        hosts, _, reference = line.partition(" ")
        reference = reference.strip()
        if not reference:
            continue
        names = {h.strip().lower() for h in hosts.split(",") if h.strip()}
        found.setdefault(reference, set()).update(names)
    return found


def check_allowed(reference: str, host: str, path: Path | None = None) -> None:
    """SecretError unless `reference` is allowed for `host` in the allow-list (S8)."""
    path = path or allow_list_path()
    reference = reference.strip()
    hosts = allowed(path).get(reference, set())
    if (host or "").strip().lower() not in hosts:
        scheme = reference.partition(":")[0]
        raise SecretError(
            f"the {scheme}: secret for {host or 'this server'} is not allowed on this machine: "
            f"add the line `{host or 'HOST'} {reference}` to {path} (a file only the mail "
            "worker's account can change)"
        )


def resolve(reference: str, *, host: str) -> str:
    """The secret of `reference`, for a connection to `host`: allowed by the allow-list
    first (S8), then read."""
    check_allowed(check_reference(reference), host)
    scheme, _, rest = check_reference(reference).partition(":")
    rest = rest.strip()
    if scheme == "env":
        return _from_env(rest)
    if scheme == "file":
        return _from_file(Path(rest).expanduser())
    if scheme == "keyring":
        return _from_keyring(rest)
    return _from_command(rest)


def _from_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SecretError(f"the environment variable {name} is not set")
    return value


def _from_file(path: Path) -> str:
    try:
        info = path.stat()
    except OSError as exc:
        raise SecretError(f"cannot read the secret file {path}: {exc.strerror}") from None
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretError(f"the secret file {path} is readable by others: chmod 600 {path}")
    lines = path.read_text("utf-8").splitlines()
    if not lines or not lines[0].strip():
        raise SecretError(f"the secret file {path} is empty")
    return lines[0].strip()


def _from_keyring(target: str) -> str:
    service, _, user = target.partition("/")
    try:
        import keyring  # optional dependency
    except ImportError:
        raise SecretError(
            "keyring: secrets need the keyring package (pip install keyring)"
        ) from None
    value = keyring.get_password(service, user)
    if not value:
        raise SecretError(f"no keyring entry for service {service!r}, user {user!r}")
    return str(value)


def _from_command(command: str) -> str:
    try:
        proc = subprocess.run(
            shlex.split(command), capture_output=True, text=True, timeout=COMMAND_TIMEOUT
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SecretError(f"the secret command failed: {exc}") from None
    if proc.returncode != 0:
        raise SecretError(f"the secret command exited with {proc.returncode}")
    first = proc.stdout.strip().splitlines()
    if not first:
        raise SecretError("the secret command printed nothing")
    return first[0].strip()
