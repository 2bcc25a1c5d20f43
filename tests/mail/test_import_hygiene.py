"""The mail package is domain code: it imports neither Textual nor SQLAlchemy (GUIDE layers)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import sys
import mail.classify, mail.compose, mail.parse, mail.quote
from mail.parse import parse_message
parse_message(b"From: a@b.test\\nContent-Type: text/html\\n\\n<p>hi</p>\\n")
bad = sorted(m for m in sys.modules if m.split(".")[0] in
             {"textual", "sqlalchemy", "app", "widgets", "storage", "automation"})
print(",".join(bad))
"""


def test_mail_imports_no_ui_or_database_code() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
