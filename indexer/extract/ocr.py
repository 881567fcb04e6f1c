"""Scanned PDFs and images: ``pdftoppm`` + ``tesseract -l chi_sim`` when installed, else flag "needs_ocr".

OCR output is plain text; tables come back flattened, which the flattened-table reader handles.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from indexer.extract import Extracted
from indexer.extract.text import extract_text_str

TIMEOUT = 300
MAX_PAGES = 40


def available() -> bool:
    if not shutil.which("tesseract"):
        return False
    try:
        langs = subprocess.run(["tesseract", "--list-langs"], capture_output=True, timeout=20, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return False
    return b"chi_sim" in langs


def _needs_ocr(out: Extracted, what: str) -> Extracted:
    out.flags.append("needs_ocr")
    out.warnings.append(
        ("needs_ocr", f"{what}没有文本层，需要 OCR（未安装 tesseract chi_sim）/ no text layer; OCR not available")
    )
    return out


def _tesseract(image: Path) -> str:
    proc = subprocess.run(
        ["tesseract", str(image), "stdout", "-l", "chi_sim", "--psm", "6"],
        capture_output=True,
        timeout=TIMEOUT,
        check=False,
    )
    return proc.stdout.decode("utf-8", errors="replace") if proc.returncode == 0 else ""


def _ocr_text(text: str, out: Extracted) -> Extracted:
    if not text.strip():
        return _needs_ocr(out, "扫描件")
    read = extract_text_str(text)
    read.title = out.title
    read.warnings = [*out.warnings, ("ocr", "文本由 OCR 识别，数字可能有误 / text read by OCR; numbers may be misread")]
    read.flags = [*out.flags, "ocr"]
    return read


def ocr_pdf(data: bytes, out: Extracted) -> Extracted:
    if not (available() and shutil.which("pdftoppm")):
        return _needs_ocr(out, "PDF ")
    with tempfile.TemporaryDirectory(prefix="nianbao-ocr-") as tmp:
        src = Path(tmp) / "scan.pdf"
        src.write_bytes(data)
        try:
            subprocess.run(
                ["pdftoppm", "-r", "300", "-gray", "-png", "-l", str(MAX_PAGES), str(src), str(Path(tmp) / "p")],
                capture_output=True,
                timeout=TIMEOUT,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return _needs_ocr(out, "PDF ")
        text = "\n".join(_tesseract(p) for p in sorted(Path(tmp).glob("p*.png")))
    return _ocr_text(text, out)


def extract_image(data: bytes) -> Extracted:
    out = Extracted()
    if not available():
        return _needs_ocr(out, "图片")
    with tempfile.TemporaryDirectory(prefix="nianbao-ocr-") as tmp:
        image = Path(tmp) / "scan.img"
        image.write_bytes(data)
        try:
            text = _tesseract(image)
        except (OSError, subprocess.SubprocessError):
            return _needs_ocr(out, "图片")
    return _ocr_text(text, out)
