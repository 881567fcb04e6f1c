"""Do two parser builds read every report the same? A speed change must leave each document byte-identical.

``python -m benchmarks.parse_same corpus DIR [--reports 300]`` writes the inputs once: generated reports in
every form (HTML in each render style, UTF-8 and GBK; text; Markdown; the text flattened onto one line and
dumped one cell per line) plus every file of tests/fixtures, ../shared/seeds and ../shared/samples.
``… parse DIR OUT.jsonl`` parses each input with the ``indexer`` on the path (run it with the other build's
``PYTHONPATH`` and python to get its documents) and ``… compare A.jsonl B.jsonl`` names every input whose
document differs. The documents are compared as ``json.dumps(doc.to_dict())``: key order counts too.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REAL = (ROOT / "tests" / "fixtures", ROOT.parent / "shared" / "seeds", ROOT.parent / "shared" / "samples")
HINT = "hint-"  # inputs whose name starts with this are parsed with their region as a hint


def _flattened(text: str) -> str:
    """The whole text on one line, as a page copied without its line breaks."""
    return " ".join(line.replace("\t", " ") for line in text.splitlines() if line.strip()) + "\n"


def _cell_per_line(text: str, blanks: bool) -> str:
    """Every cell on its own line (an XPath //text() dump); blank cells dropped or kept."""
    out: list[str] = []
    for line in text.splitlines():
        for cell in line.split("\t"):
            if cell.strip() or blanks:
                out.append(cell.strip())
    return "\n".join(out) + "\n"


def write_corpus(directory: Path, reports: int) -> int:
    from demo import render
    from demo.generator import generate_corpus
    from tests import parser_builders as b

    directory.mkdir(parents=True, exist_ok=True)
    written = 0

    def put(name: str, data: bytes) -> None:
        nonlocal written
        (directory / name).write_bytes(data)
        written += 1

    for i, report in enumerate(generate_corpus(reports, seed=17)):
        region = "/".join(x for x in (report.region.province, report.region.city, report.region.county) if x)
        prefix = f"{HINT}{region.replace('/', '_')}-" if i % 5 == 0 else ""
        for style in (0, 1, 2):
            styled = dataclasses.replace(report, style=style)
            put(f"{prefix}g{i:04d}-s{style}.html", render.to_html(styled))
        if i % 4 == 0:
            put(f"g{i:04d}-gbk.html", render.to_html(report, "gbk"))
        text = render.to_text(report)
        put(f"{prefix}g{i:04d}.txt", text.encode())
        put(f"g{i:04d}.md", render.to_markdown(report).encode())
        if i % 10 == 0:
            put(f"g{i:04d}-flat.txt", _flattened(text).encode())
            put(f"g{i:04d}-cells.txt", _cell_per_line(text, blanks=i % 20 == 0).encode())
    put("builder.txt", b.text_report().encode())
    put("builder-pipe.md", b.text_report(sep="|").encode())
    put("builder-utf8.html", b.html_report())
    put("builder-gbk.html", b.html_report("gbk"))
    for base in REAL:
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_file() and path.suffix in (".txt", ".md", ".html", ".htm", ".docx", ".xlsx"):
                put(f"real-{base.name}-{path.relative_to(base).as_posix().replace('/', '_')}", path.read_bytes())
    return written


def parse_corpus(directory: Path, out: Path) -> tuple[int, float]:
    from indexer.parse import parse_bytes

    done, cpu = 0, 0.0
    with out.open("w", encoding="utf-8") as f:
        for path in sorted(directory.iterdir()):
            region = path.name[len(HINT) :].split("-")[0].replace("_", "/") if path.name.startswith(HINT) else None
            data = path.read_bytes()
            start = time.process_time()
            doc = parse_bytes(data, url=f"same/{path.name}", filename=path.name, region=region)
            cpu += time.process_time() - start
            f.write(json.dumps({"name": path.name, "doc": doc.to_dict()}, ensure_ascii=False) + "\n")
            done += 1
    return done, cpu


def compare(a: Path, b: Path) -> int:
    left = {json.loads(x)["name"]: x for x in a.read_text(encoding="utf-8").splitlines()}
    right = {json.loads(x)["name"]: x for x in b.read_text(encoding="utf-8").splitlines()}
    differ = sorted(n for n in left.keys() | right.keys() if left.get(n) != right.get(n))
    for name in differ[:20]:
        print(f"differs: {name}")
    print(f"{len(left)} / {len(right)} documents, {len(differ)} differ")
    return 1 if differ or not left else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("corpus", help="write the inputs")
    c.add_argument("dir", type=Path)
    c.add_argument("--reports", type=int, default=300)
    p = sub.add_parser("parse", help="parse each input with the indexer on the path")
    p.add_argument("dir", type=Path)
    p.add_argument("out", type=Path)
    m = sub.add_parser("compare", help="name the inputs whose documents differ")
    m.add_argument("a", type=Path)
    m.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    if args.command == "corpus":
        print(f"{write_corpus(args.dir, args.reports)} inputs in {args.dir}")
        return 0
    if args.command == "parse":
        done, cpu = parse_corpus(args.dir, args.out)
        print(f"{done} documents → {args.out} ({cpu:.2f} CPU-s parsing, {done / max(cpu, 1e-9):.1f} per CPU-s)")
        return 0
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
