"""Legacy Word (.doc) and WPS files: converted to text by an installed tool, else flagged.

Tried in order: ``antiword``, ``catdoc``, LibreOffice ``soffice --convert-to txt``. None installed → the
document is kept with flag "unsupported_format" (the archive keeps the original for a later re-parse).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from indexer.extract import Extracted, ExtractError
from indexer.extract.text import decode_bytes, extract_text_str

TIMEOUT = 60


def _run(cmd: list[str]) -> bytes | None:
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 and proc.stdout.strip() else None


def extract_doc(data: bytes) -> Extracted:
    with tempfile.TemporaryDirectory(prefix="nianbao-doc-") as tmp:
        src = Path(tmp) / "report.doc"
        src.write_bytes(data)
        text: bytes | None = None
        if shutil.which("antiword"):
            text = _run(["antiword", "-m", "UTF-8.txt", str(src)])
        if text is None and shutil.which("catdoc"):
            text = _run(["catdoc", "-d", "utf-8", str(src)])
        office = shutil.which("soffice") or shutil.which("libreoffice")
        if text is None and office:
            _run([office, "--headless", "--convert-to", "txt:Text (encoded):UTF8", "--outdir", tmp, str(src)])
            out_file = Path(tmp) / "report.txt"
            text = out_file.read_bytes() if out_file.exists() and out_file.stat().st_size else None
    if text is None:
        raise ExtractError(
            "unsupported_format",
            "DOC/WPS 需要 antiword、catdoc 或 LibreOffice 转换 / DOC/WPS needs antiword, catdoc or LibreOffice",
        )
    decoded, _ = decode_bytes(text)
    return extract_text_str(decoded)
