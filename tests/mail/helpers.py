"""Shared helpers for the mail tests: the hand-written .eml samples."""

from __future__ import annotations

from pathlib import Path

from mail.parse import ParsedMail, parse_message

SAMPLES = Path(__file__).parent / "samples"


def sample_bytes(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def parse_sample(name: str) -> ParsedMail:
    return parse_message(sample_bytes(name))


def all_samples() -> list[str]:
    return sorted(p.name for p in SAMPLES.glob("*.eml"))
