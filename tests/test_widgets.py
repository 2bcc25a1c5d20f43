"""Small pieces of the screens: cell-exact cutting, ages, untrusted text (SPEC §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rich.cells import cell_len

from widgets.lists import fit
from widgets.text import age, line, plain


def test_fit_counts_terminal_cells_not_characters():
    """Wide (CJK) names must not push the age column off the row."""
    for text in ("山田 花子", "請求書について", "abc", "a much longer subject line"):
        for width in (1, 5, 8, 20):
            assert cell_len(fit(text, width)) == width
    assert fit("abcdefghij", 5) == "abcd…"
    assert fit("abc", 5) == "abc  "


def test_age_is_at_most_three_cells():
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    cases = {
        timedelta(seconds=30): "now",
        timedelta(minutes=5): "5m",
        timedelta(hours=3): "3h",
        timedelta(days=2): "2d",
        timedelta(weeks=3): "3w",
        timedelta(weeks=500): "99w",
        timedelta(minutes=-5): "now",  # a clock slightly ahead elsewhere
    }
    for delta, expected in cases.items():
        assert age(now - delta, now) == expected
    assert age(None, now) == ""


def test_untrusted_text_loses_control_sequences_and_is_never_markup():
    """§7: ESC sequences, C0/C1 controls and bidi overrides go; markup stays characters."""
    raw = "[bold red]x[/] \x1b]0;title\x07\x1b[31mred\u202e\x9b2J\r\nnext"
    cleaned = line(raw)
    assert "\x1b" not in cleaned and "\x07" not in cleaned and "\u202e" not in cleaned
    assert "\x9b" not in cleaned and "\n" not in cleaned
    assert cleaned.startswith("[bold red]x[/]")
    content = plain("[@click=app.quit]click[/]")
    assert content.plain == "[@click=app.quit]click[/]" and not content.spans
