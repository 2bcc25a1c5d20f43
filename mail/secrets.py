"""Secrets by reference: the database stores where a password or token comes from, never the
secret itself (SPEC §7).

- ``env:NAME``: an environment variable
- ``file:/path``: the first line of a file readable by its owner only (mode 0600 or stricter)
- ``keyring:SERVICE/USER``: the system keyring (the optional ``keyring`` package)
- ``command:...``: the first line a command prints (XOAUTH2 access tokens, the way terminal mail
  clients reach Gmail and Microsoft 365: ``command:oama access user@gmail.com``)
"""

from __future__ import annotations

import os
import shlex
import stat
import subprocess
from pathlib import Path

SCHEMES = ("env", "file", "keyring", "command")
COMMAND_TIMEOUT = 30


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


def resolve(reference: str) -> str:
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
