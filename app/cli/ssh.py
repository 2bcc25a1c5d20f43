"""The SSH door: `serve`, `user key add|list|remove` and `audit logins` (SPEC §11)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir

from app.cli.errors import UserError
from app.cli.output import clean
from app.cli.shared import act, opened
from app.cli.tables import Col, print_table
from automation import admin
from automation.admin import ssh_keys
from runtime import files, identity, ssh_children, ssh_server
from runtime.identity import current_user
from runtime.web import server as web_server
from runtime.web.context import WebConfig
from storage.repository import SqlRepository

# Remote commands a key may run (SPEC S4): read-only, each as (command, action) or (command,).
REMOTE_COMMANDS = (
    ("tickets",),
    ("ticket", "show"),
    ("conversations",),
    ("search",),
    ("outbox",),
    ("held",),
    ("attachment", "list"),
    ("attachment", "get"),
    ("attachment", "put"),
    ("attachment", "staged"),
    ("notifications",),
    ("user", "keymap"),
)
REFUSED_OPTIONS = ("--db", "--as")
SERVER_FILES_REFUSED = (
    "over SSH files stay on your side: ssh to the desk with `attachment get MESSAGE N -o - > FILE`"
)
NO_EDITOR = shlex.join(
    ["sh", "-c", "echo 'Over SSH a reply is written in the app itself.'; sleep 2; exit 1", "sh"]
)
WRITING_WORDS = {"held": ("release", "drop"), "notifications": ("read",)}


def register(sub: argparse._SubParsersAction) -> None:
    _register_keys(_actions_of(sub.choices["user"]))
    _register_keymap(_actions_of(sub.choices["user"]))
    _register_staging(_actions_of(sub.choices["attachment"]))
    audit = sub.add_parser("audit", help="who logged in over SSH, who changed settings (admins)")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    p = asub.add_parser("logins", help="SSH logins, newest first: user, key, address, times")
    p.add_argument("--limit", type=int, default=1000, metavar="N", help="at most N (1000)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_logins)
    p = asub.add_parser(
        "settings", help="every settings change, newest first: when, who, what, old -> new"
    )
    p.add_argument("--limit", type=int, default=1000, metavar="N", help="at most N (1000)")
    p.add_argument("--apply", metavar="ID", help="only the changes of this automation apply")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_audit_settings)

    p = sub.add_parser(
        "serve",
        help="serve the desk over SSH: each user's key opens the app as that user",
        description="An SSH server for the desk: a known key gets the terminal app as its "
        "user (ssh -t), or runs one read-only command (ssh HOST tickets --json). The mail "
        "worker runs beside it unless --no-mail.",
    )
    p.add_argument("--listen", default=ssh_server.DEFAULT_LISTEN, metavar="ADDR:PORT")
    p.add_argument("--host-key", metavar="PATH", help="the host key file (made if missing)")
    p.add_argument("--no-mail", action="store_true", default=argparse.SUPPRESS)
    p.add_argument("--sessions-per-user", type=int, default=5, metavar="N")
    p.add_argument("--idle-minutes", type=float, default=60, metavar="N")
    p.add_argument(
        "--http",
        metavar="ADDR:PORT",
        help="also serve the web pages of form and chat channels here (off unless given)",
    )
    p.add_argument(
        "--no-ssh",
        action="store_true",
        help="no SSH door (with --http: only the web pages and the mail worker)",
    )
    p.add_argument(
        "--behind-proxy",
        action="store_true",
        help="with --http: a TLS reverse proxy is in front (the client address is the last "
        "X-Forwarded-For entry; cookies are Secure)",
    )
    p.set_defaults(func=cmd_serve)


def _actions_of(parser: argparse.ArgumentParser) -> argparse._SubParsersAction:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise LookupError("the user command has no actions")


def _register_keys(usub: argparse._SubParsersAction) -> None:
    key = usub.add_parser("key", help="users' SSH public keys (for deskline serve)")
    ksub = key.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    p = ksub.add_parser("add", help="add the public key(s) of FILE (- reads stdin) to USER")
    p.add_argument("user")
    p.add_argument("file", metavar="FILE|-")
    p.set_defaults(func=cmd_key_add)
    p = ksub.add_parser("list", help="keys of USER (admins: of everyone)")
    p.add_argument("user", nargs="?")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_key_list)
    p = ksub.add_parser("remove", help="remove USER's key FINGERPRINT (SHA256:...)")
    p.add_argument("user")
    p.add_argument("fingerprint")
    p.set_defaults(func=cmd_key_remove)


def _register_keymap(usub: argparse._SubParsersAction) -> None:
    keymap = usub.add_parser(
        "keymap", help="your own keys, kept in the desk (they follow you over SSH)"
    )
    ksub = keymap.add_subparsers(dest="keymap_command", metavar="ACTION", required=True)
    p = ksub.add_parser("show", help="your keymap: binding id = keys")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keymap_show)
    p = ksub.add_parser(
        "set", help="replace your keymap with the [keys] of a keys.toml (- reads stdin)"
    )
    p.add_argument("file", metavar="FILE|-")
    p.set_defaults(func=cmd_keymap_set)
    p = ksub.add_parser("clear", help="back to the default keys (and keys.toml, locally)")
    p.set_defaults(func=cmd_keymap_clear)


def _register_staging(asub: argparse._SubParsersAction) -> None:
    p = asub.add_parser(
        "put",
        help="keep a file (stdin) for your next reply: the composer attaches it",
        description="Reads the file from standard input (`ssh desk attachment put NAME < FILE` "
        "from your own machine) and keeps it for you; the next reply or note you open in the "
        "composer takes every file kept this way as its attachments.",
    )
    p.add_argument("name", metavar="NAME", help="the file's name in the email")
    p.set_defaults(func=cmd_attachment_put)
    p = asub.add_parser("staged", help="the files kept for your next reply (attachment put)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_attachment_staged)


# --- keymaps and staged files (SPEC S3) ------------------------------------------------------

MAX_STAGED_BYTES = 25 * 1024 * 1024


async def cmd_keymap_show(args: argparse.Namespace) -> int:
    keys = await act(args, lambda repo, user: repo.user_keymap(user.id))
    if args.json:
        print(json.dumps({"version": 1, "keys": keys}, indent=2))
    elif not keys:
        print("No keymap of your own in the desk: the default keys (and keys.toml locally)")
    else:
        print("[keys]")
        for name, value in sorted(keys.items()):
            print(f"{name} = {json.dumps(value)}")
    return 0


async def cmd_keymap_set(args: argparse.Namespace) -> int:
    import tomllib

    from app.tui import binding_ids

    text = sys.stdin.read() if args.file == "-" else _read_text(args.file)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{args.file}: {exc}") from exc
    keys = data.get("keys", {})
    if not isinstance(keys, dict) or not all(isinstance(v, str) for v in keys.values()):
        raise UserError('[keys] must map binding ids to strings like "j,down"')
    unknown = sorted(set(keys) - binding_ids())
    if unknown:
        raise UserError(f"unknown binding ids: {', '.join(unknown)} (`deskline help keys`)")
    await act(args, lambda repo, user: repo.set_user_keymap(user.id, keys))
    print(f"Keymap saved in the desk: {len(keys)} binding{'s' if len(keys) != 1 else ''}")
    return 0


async def cmd_keymap_clear(args: argparse.Namespace) -> int:
    await act(args, lambda repo, user: repo.set_user_keymap(user.id, {}))
    print("Keymap cleared: the default keys")
    return 0


def _read_text(path: str) -> str:
    if files.server_files_refused():
        raise UserError("over SSH the keymap comes on stdin: `user keymap set - < keys.toml`")
    try:
        return Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read {path}: {exc}") from exc


async def cmd_attachment_put(args: argparse.Namespace) -> int:
    import mimetypes

    from mail.filenames import safe_filename

    name = safe_filename(args.name, 1, "application/octet-stream")
    data = sys.stdin.buffer.read(MAX_STAGED_BYTES + 1)
    if len(data) > MAX_STAGED_BYTES:
        raise UserError(f"{name}: more than {MAX_STAGED_BYTES // (1024 * 1024)} MB")
    if not data:
        raise UserError(f"{name}: nothing on standard input (attachment put NAME < FILE)")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    count = await act(
        args,
        lambda repo, user: (
            repo.stage_attachment(user.id, name, kind, data),
            len(repo.staged_attachments(user.id)),
        )[1],
    )
    print(f"Kept {clean(name)} ({len(data)} bytes); {count} file(s) wait for your next reply")
    return 0


async def cmd_attachment_staged(args: argparse.Namespace) -> int:
    rows = await act(
        args,
        lambda repo, user: [
            {
                "id": row.id,
                "filename": row.filename,
                "content_type": row.content_type,
                "size": len(row.data),
                "added_at": row.added_at.isoformat(),
            }
            for row in repo.staged_attachments(user.id)
        ],
    )
    if args.json:
        print(json.dumps({"version": 1, "staged": rows}, indent=2))
    elif not rows:
        print("No file waits for your next reply")
    else:
        for row in rows:
            print(f"{clean(row['filename'])}  {row['content_type']}  {row['size']} bytes")
    return 0


# --- keys -------------------------------------------------------------------------------------


async def cmd_key_add(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text()
    keys = await act(args, lambda repo, user: ssh_keys.add_ssh_keys(repo, user, args.user, text))
    for key in keys:
        print(f"Key {key.fingerprint} ({key.key_type}) added to {args.user}")
    return 0


async def cmd_key_list(args: argparse.Namespace) -> int:
    def rows(repo: SqlRepository, user: Any) -> list[dict[str, Any]]:
        return [
            {
                "user": key.user.name,
                "type": key.key_type,
                "fingerprint": key.fingerprint,
                "comment": key.comment,
                "added_at": key.added_at.isoformat(),
            }
            for key in ssh_keys.ssh_keys_seen_by(repo, user, args.user)
        ]

    found = await act(args, rows)
    if args.json:
        print(json.dumps({"version": 1, "keys": found}, indent=2))
        return 0
    print_table(
        (Col("User"), Col("Type", fixed=True), Col("Fingerprint", fixed=True), Col("Comment")),
        [[clean(r["user"]), r["type"], r["fingerprint"], clean(r["comment"])] for r in found],
    )
    return 0


async def cmd_key_remove(args: argparse.Namespace) -> int:
    await act(
        args, lambda repo, user: ssh_keys.remove_ssh_key(repo, user, args.user, args.fingerprint)
    )
    print(f"Key {args.fingerprint} of {args.user} removed")
    return 0


async def cmd_audit_settings(args: argparse.Namespace) -> int:
    """SPEC S11: the append-only settings audit, for admins."""

    def rows(repo: SqlRepository, user: Any) -> list[dict[str, Any]]:
        admin.require_admin(user)
        return [
            {
                "at": change.at.isoformat(),
                "actor": change.actor_name,
                "apply_id": change.apply_id,
                "kind": change.kind,
                "object": change.object_key,
                "action": change.action,
                "old": change.old,
                "new": change.new,
            }
            for change in repo.settings_changes(limit=args.limit, apply_id=args.apply)
        ]

    async with opened(args) as desk:
        found = await desk.read(lambda repo: rows(repo, current_user(repo, args.as_user)))
    if args.json:
        print(json.dumps({"version": 1, "changes": found}, indent=2))
        return 0
    print_table(
        (Col("When", fixed=True), Col("Who"), Col("What"), Col("Change")),
        [
            [
                r["at"][:19].replace("T", " "),
                clean(r["actor"]) + (f" (apply {r['apply_id']})" if r["apply_id"] else ""),
                clean(f"{r['kind']} {r['object']} {r['action']}"),
                clean(_old_new(r["old"], r["new"])),
            ]
            for r in found
        ],
    )
    return 0


def _old_new(old: dict[str, Any], new: dict[str, Any]) -> str:
    keys = list(dict.fromkeys([*old, *new]))
    parts = [f"{k}: {_short(old.get(k))} -> {_short(new.get(k))}" for k in keys if k != "id"]
    return "; ".join(parts)


def _short(value: Any) -> str:
    text = "-" if value is None else json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= 40 else text[:39] + "…"


async def cmd_audit_logins(args: argparse.Namespace) -> int:
    def rows(repo: SqlRepository, user: Any) -> list[dict[str, Any]]:
        return [
            {
                "user": login.user_name,
                "fingerprint": login.fingerprint,
                "address": login.source_address,
                "kind": login.kind,
                "started_at": login.started_at.isoformat(),
                "ended_at": login.ended_at.isoformat() if login.ended_at else None,
                "outcome": login.outcome,
            }
            for login in ssh_keys.logins_seen_by(repo, user, limit=args.limit)
        ]

    found = await act(args, rows)
    if args.json:
        print(json.dumps({"version": 1, "logins": found}, indent=2))
        return 0
    print_table(
        (
            Col("Started", fixed=True),
            Col("Ended", fixed=True),
            Col("User"),
            Col("Address", fixed=True),
            Col("Outcome"),
        ),
        [
            [
                r["started_at"][:19].replace("T", " "),
                (r["ended_at"] or "-")[:19].replace("T", " "),
                clean(r["user"]),
                r["address"],
                clean(r["outcome"]),
            ]
            for r in found
        ],
    )
    return 0


# --- serve ------------------------------------------------------------------------------------


async def cmd_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="deskline serve: %(message)s")
    async with opened(args):  # the schema is this version's (then closed: S5)
        pass
    # Imported once here: every session forked from this process shares it (S5).
    from app.tui import run_app

    if args.no_ssh and not args.http:
        raise UserError("--no-ssh leaves nothing to serve: give --http ADDR:PORT", exit_code=2)
    web_sock = _bind_http(args.http) if args.http else None
    try:
        host, port = ssh_server.parse_listen(args.listen)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc), exit_code=2) from exc
    if args.no_ssh:
        assert web_sock is not None
        return await _serve_web_only(args, web_sock)
    key_path = (
        Path(args.host_key)
        if args.host_key
        else Path(user_data_dir("deskline")) / (ssh_server.HOST_KEY_NAME)
    )
    host_key, made = ssh_server.load_host_key(key_path)
    url = args.db

    def app(name: str) -> int:
        # S3: a session writes, opens and edits no file of the server; replies are written in
        # the app and files travel over `ssh desk attachment get`.
        files.refuse_server_files(SERVER_FILES_REFUSED)
        os.environ["VISUAL"] = os.environ["EDITOR"] = NO_EDITOR
        identity.bind_session_user(name)  # the key said who (S7: not the server's login)
        return run_app(url, as_user=name, mail=False)  # sessions run no mail worker (S5)

    def command(name: str, argv: list[str]) -> int:
        from app.cli.main import main

        identity.bind_session_user(name)
        return main(["--db", url, "--as", name, *argv])

    limits = ssh_server.DoorLimits(
        sessions_per_user=args.sessions_per_user, idle_seconds=args.idle_minutes * 60
    )
    door = ssh_server.Door(url, ssh_server.Launcher(app, command, remote_refusal), limits)
    mail_pid = None
    if not getattr(args, "no_mail", False):
        mail_pid = ssh_children.fork_service(lambda: command_as_system(url))
    web_where = web_server.base_url(web_sock) if web_sock is not None else None
    web_pid = _fork_web(url, web_sock, behind_proxy=args.behind_proxy)
    try:
        await door.start(host, port, host_key)
    except OSError as exc:
        _stop_child(mail_pid)
        _stop_child(web_pid)
        raise UserError(f"cannot listen on {args.listen}: {exc.strerror or exc}") from exc
    print(f"Deskline serves {clean(door_where(args.db))} over SSH on {host}:{port}")
    print(f"Host key {host_key.get_fingerprint('sha256')} ({'new, ' if made else ''}{key_path})")
    _say_services(mail_pid, web_pid, web_where)
    await _until_stopped()
    await door.close()
    _stop_child(mail_pid)
    _stop_child(web_pid)
    return 0


def _bind_http(address: str) -> socket.socket:
    """The web side's listening socket, bound now so a bad or busy address is said at once
    (C1: the web side runs only when --http is given)."""
    try:
        host, port = web_server.parse_address(address)
    except (ValueError, OSError) as exc:
        raise UserError(str(exc), exit_code=2) from exc
    try:
        return web_server.bind(host, port)
    except OSError as exc:
        raise UserError(f"cannot listen on {address}: {exc.strerror or exc}") from exc


def _fork_web(url: str, sock: socket.socket | None, *, behind_proxy: bool) -> int | None:
    """The web server in its own process (S5: the parent holds no database connection)."""
    if sock is None:
        return None
    config = WebConfig(trust_forwarded=behind_proxy, secure_cookies=behind_proxy)
    pid = ssh_children.fork_service(
        lambda: web_server.run_in_child(url, sock, config), keep=(sock.fileno(),)
    )
    sock.close()
    return pid


def _say_services(mail_pid: int | None, web_pid: int | None, web_where: str | None) -> None:
    print(
        "Mail worker: " + ("off (--no-mail)" if mail_pid is None else f"running (pid {mail_pid})")
    )
    if web_where is not None:
        print(
            f"Web pages: {web_where} (pid {web_pid}); "
            "`deskline channel list` shows each form's and chat's address"
        )
    sys.stdout.flush()


async def _serve_web_only(args: argparse.Namespace, sock: socket.socket) -> int:
    """`serve --http ADDR --no-ssh`: the web pages and the mail worker, no SSH door (and so
    no host key)."""
    url = args.db
    mail_pid = None
    if not getattr(args, "no_mail", False):
        mail_pid = ssh_children.fork_service(lambda: command_as_system(url))
    where = web_server.base_url(sock)
    web_pid = _fork_web(url, sock, behind_proxy=args.behind_proxy)
    print(f"Deskline serves {clean(door_where(args.db))} on the web (no SSH door)")
    _say_services(mail_pid, web_pid, where)
    await _until_stopped()
    _stop_child(mail_pid)
    _stop_child(web_pid)
    return 0


def command_as_system(url: str) -> int:
    from app.cli.main import main

    return main(["--db", url, "sync"])


def door_where(url: str) -> str:
    return url.removeprefix("sqlite:///")


async def _until_stopped() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    await stop.wait()


def _stop_child(pid: int | None) -> None:
    if pid is None:
        return
    try:
        os.killpg(pid, signal.SIGTERM)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def remote_refusal(argv: list[str]) -> str | None:
    """Why `ssh desk ARGV` may not run (None: it may): an allow-list of read-only commands,
    no --db or --as, no path but stdout (SPEC S4)."""
    allowed = [" ".join(words) for words in REMOTE_COMMANDS]
    if not argv or not any(tuple(argv[: len(w)]) == w for w in REMOTE_COMMANDS):
        return "over SSH only these commands run: " + ", ".join(allowed)
    for word in argv:
        name = word.split("=", 1)[0]
        if len(name) > 2 and any(option.startswith(name) for option in REFUSED_OPTIONS):
            return f"{name} is not accepted over SSH: the key says who you are and which desk"
    for word in WRITING_WORDS.get(argv[0], ()):
        if word in argv[1:]:
            return f"`{argv[0]} {word}` changes the desk: over SSH only reading commands run"
    if argv[:2] == ["attachment", "get"]:
        return _output_refusal(argv[2:])
    if argv[:3] == ["user", "keymap", "set"] and argv[3:] != ["-"]:
        return "over SSH the keymap comes on stdin: `user keymap set - < keys.toml`"
    return None


def _output_refusal(rest: list[str]) -> str | None:
    """`attachment get` writes to stdout only (`-o -`): no path on the server (SPEC S3)."""
    said = "over SSH a file goes to your side: `attachment get MSG N -o - > FILE`"
    outputs = [w for w in rest if w.startswith(("-o", "--o"))]
    if outputs not in (["-o"], ["--output"], ["-o-"], ["--output=-"]):
        return said
    if outputs in (["-o"], ["--output"]):
        at = rest.index(outputs[0])
        if rest[at + 1 : at + 2] != ["-"]:
            return said
    return None
