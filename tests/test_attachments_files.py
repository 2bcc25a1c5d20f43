"""The writer of saved attachments (SPEC D14, S9): new files only, mode 0600, never through a
symlink, `name (1).ext` on a clash in a directory, an explicit path replaced only when asked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from runtime.files import (
    FileExists,
    FileRefused,
    has_display,
    opener_command,
    save_at,
    save_in,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_save_in_writes_the_bytes_with_mode_0600(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    saved = save_in(tmp_path, "report.pdf", data)
    assert saved == tmp_path / "report.pdf"
    assert saved.read_bytes() == data
    assert mode(saved) == 0o600


def test_save_in_is_0600_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        saved = save_in(tmp_path, "open.txt", b"x")
    finally:
        os.umask(old)
    assert mode(saved) == 0o600


def test_a_taken_name_gets_a_number_before_the_extension(tmp_path: Path) -> None:
    first = save_in(tmp_path, "scan.png", b"one")
    second = save_in(tmp_path, "scan.png", b"two")
    third = save_in(tmp_path, "scan.png", b"three")
    plain = save_in(tmp_path, "README", b"a")
    plain2 = save_in(tmp_path, "README", b"b")
    assert [p.name for p in (first, second, third)] == ["scan.png", "scan (1).png", "scan (2).png"]
    assert [p.name for p in (plain, plain2)] == ["README", "README (1)"]
    assert first.read_bytes() == b"one" and third.read_bytes() == b"three"


def test_a_symlink_planted_at_the_name_is_never_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    (downloads / "passwd").symlink_to(victim)
    (downloads / "dangling.txt").symlink_to(tmp_path / "nowhere")
    saved = save_in(downloads, "passwd", b"attacker")
    dangling = save_in(downloads, "dangling.txt", b"attacker")
    assert saved.name == "passwd (1)" and not saved.is_symlink()
    assert dangling.name == "dangling (1).txt"
    assert victim.read_bytes() == b"precious"
    assert not (tmp_path / "nowhere").exists()


def test_the_directory_is_made_private_when_missing(tmp_path: Path) -> None:
    saved = save_in(tmp_path / "new" / "dir", "a.txt", b"x")
    assert saved.read_bytes() == b"x"
    assert mode(tmp_path / "new" / "dir") == 0o700


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a\x00b", "..", ".", ""])
def test_save_in_refuses_anything_but_one_name(tmp_path: Path, name: str) -> None:
    with pytest.raises(FileRefused):
        save_in(tmp_path / "dir", name, b"x")
    assert not (tmp_path / "escape").exists()


def test_an_explicit_path_is_created_new(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    assert save_at(target, b"data") == target
    assert target.read_bytes() == b"data"
    assert mode(target) == 0o600


def test_an_existing_explicit_path_needs_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    target.chmod(0o644)
    with pytest.raises(FileExists, match="--overwrite"):
        save_at(target, b"new")
    assert target.read_bytes() == b"old"
    save_at(target, b"new", overwrite=True)
    assert target.read_bytes() == b"new"
    assert mode(target) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary file left


def test_an_explicit_symlink_is_refused_then_replaced_not_followed(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"precious")
    link = tmp_path / "link"
    link.symlink_to(victim)
    with pytest.raises(FileExists):
        save_at(link, b"attacker")
    save_at(link, b"mine", overwrite=True)
    assert not link.is_symlink()
    assert link.read_bytes() == b"mine"
    assert victim.read_bytes() == b"precious"


def test_an_explicit_directory_or_missing_parent_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileRefused, match="directory"):
        save_at(tmp_path, b"x", overwrite=True)
    with pytest.raises(FileRefused):
        save_at(tmp_path / "missing" / "file", b"x")


def test_no_opener_without_a_display(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("OPENER", "my-viewer --new")
    assert not has_display()
    assert opener_command(tmp_path / "a.png") is None


def test_opener_is_the_users_choice_then_the_desktops(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("sys.platform", "linux")
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    monkeypatch.setenv("OPENER", "my-viewer --new")
    target = tmp_path / "a b.png"
    assert opener_command(target) == ["my-viewer", "--new", str(target)]
    monkeypatch.delenv("OPENER")
    found = opener_command(target)
    assert found is None or (found[0].endswith("xdg-open") and found[1] == str(target))
