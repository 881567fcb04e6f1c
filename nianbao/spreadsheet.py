"""What spreadsheet programs do with CSV text cells: one starting with = + - @ tab or CR is run as a formula
(OWASP "CSV injection"). Every CSV nianbao writes passes its text cells through ``safe_text``."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(text: str) -> str:
    """Text as a spreadsheet shows it, never as a formula: a leading ' (OWASP's advice). Numbers are not text."""
    return "'" + text if text.startswith(FORMULA_START) else text
