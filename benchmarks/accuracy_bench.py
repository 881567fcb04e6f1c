"""Parser accuracy: every table field of every hand-read report, counted exact / missing / WRONG, per input form.

Run: ``python -m benchmarks accuracy``. Inputs: the real reports in tests/fixtures/reports/ (hand-read values in
its expected.json), the form fixtures in tests/fixtures/forms/ (expected.json there), and the reports in
``../shared/seeds`` and ``../shared/samples`` beside the repository when present (read under the same file name's
hand-read values; files already in the fixtures with the same bytes are counted once; others are listed as not
hand-read). A field is *exact* when the parser gives the printed value, *missing* when it gives None for a value
the report prints, *wrong* when it gives any other number (or one the report does not print). Target: 0 wrong.

Also runs as a script against another checkout's parser (before/after figures):
``PYTHONPATH=/path/to/old/checkout python benchmarks/accuracy_bench.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORTS = ROOT / "tests" / "fixtures" / "reports"
FORMS = ROOT / "tests" / "fixtures" / "forms"
SHARED = ROOT.parent / "shared"

# The hand-read values come from this checkout; the parser is imported later, from wherever PYTHONPATH says (run as
# a script against another checkout, see above), so this checkout is on the path only while the values load.
sys.path.insert(0, str(ROOT))
from tests import parser_builders as b  # noqa: E402
from tests.hand_read import ACTIVE, COLS, REVIEW, printed_metrics, table3_rows  # noqa: E402

sys.path.remove(str(ROOT))


def sample_truth(exp: dict) -> dict[str, float | int | None]:
    """The printed value of every field (None: not printed), from tests/fixtures/reports/expected.json's format."""
    out = printed_metrics(exp)
    for key in exp.get("computed", []):  # nianbao's sums, not printed: not a field of the report
        out.pop(key, None)
    return out


def form_truth(exp: dict) -> dict[str, float | int | None]:
    if "printed" in exp:  # a fixture with its own numbers: every other field of its template is 0
        template = exp["template"]
        out = {f"{row}.{c}": 0 for row in table3_rows(template) for c in COLS}
        out.update({key: 0 for key in [*ACTIVE[template], *REVIEW]})
        out.update(exp["printed"])
        out.update({key: None for key in exp["none"]})
        return out
    out: dict[str, float | int | None] = {}
    for key, _label, values in b.APP_ROWS:
        blank = key in exp["blank_rows"]
        out.update({f"{key}.{c}": None if blank else v for c, v in zip(COLS, values, strict=True)})
    out.update(b.ACTIVE_VALUES)
    out.update(dict(zip(REVIEW, exp["review"], strict=True)))
    return out


def _form_of(name: str) -> str:
    if name.endswith(".html"):
        return "HTML"
    if name.endswith(".md"):
        return "markdown (PDF conversion)"
    if name.startswith("pingtan-"):
        return "flattened text (page.txt)"
    return "text with tab tables (seed)"


def cases() -> tuple[list[tuple[str, str, Path, dict]], list[str]]:
    """(name, form, path, truth) of every hand-read input, and the shared files without hand-read values."""
    out: list[tuple[str, str, Path, dict]] = []
    seen: set[str] = set()
    expected = {k: v for k, v in json.loads((REPORTS / "expected.json").read_text("utf-8")).items() if k[0] != "_"}
    for name, exp in sorted(expected.items()):
        path = REPORTS / name
        seen.add(hashlib.sha256(path.read_bytes()).hexdigest())
        out.append((name, _form_of(name), path, sample_truth(exp)))
    forms = {k: v for k, v in json.loads((FORMS / "expected.json").read_text("utf-8")).items() if k[0] != "_"}
    for name, exp in sorted(forms.items()):
        out.append((name, exp["form"], FORMS / name, form_truth(exp)))
    unread: list[str] = []
    for folder in (SHARED / "seeds", SHARED / "samples"):
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if path.name.endswith("README.md") or hashlib.sha256(path.read_bytes()).hexdigest() in seen:
                continue
            if path.name in expected:
                out.append((f"shared/{path.name}", _form_of(path.name), path, sample_truth(expected[path.name])))
            else:
                unread.append(f"{folder.name}/{path.name}")
    return out, unread


def score(got: dict, truth: dict) -> tuple[int, int, int, list[str]]:
    exact = missing = wrong = 0
    wrong_keys: list[str] = []
    for key, want in truth.items():
        value = got.get(key)
        if want is not None and value is None:
            missing += 1
        elif value is None:
            continue  # not printed, not given: right
        elif want is not None and abs(value - want) < 1e-6:
            exact += 1
        else:
            wrong += 1
            wrong_keys.append(f"{key}={value} (printed {want})")
    return exact, missing, wrong, wrong_keys


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list every wrong field")
    args = parser.parse_args(argv)
    from indexer.parse import parse_file

    items, unread = cases()
    by_form: dict[str, Counter] = defaultdict(Counter)
    for name, form, path, truth in items:
        exact, missing, wrong, wrong_keys = score(parse_file(path).metrics, truth)
        by_form[form].update(reports=1, exact=exact, missing=missing, wrong=wrong)
        by_form["all"].update(reports=1, exact=exact, missing=missing, wrong=wrong)
        if wrong and args.verbose:
            print(f"  {name}: WRONG {', '.join(wrong_keys)}")
        elif wrong:
            print(f"  {name}: {wrong} wrong")
    print(f"{'form':32} {'reports':>7} {'fields':>7} {'exact':>7} {'missing':>8} {'WRONG':>6}")
    figures = {}
    for form, c in sorted(by_form.items(), key=lambda kv: (kv[0] == "all", kv[0])):
        fields = c["exact"] + c["missing"] + c["wrong"]
        print(f"{form:32} {c['reports']:>7} {fields:>7} {c['exact']:>7} {c['missing']:>8} {c['wrong']:>6}")
        figures[form] = dict(c)
    if unread:
        print(f"not hand-read (no expected values): {', '.join(unread)}")
    return figures


if __name__ == "__main__":
    main()
    sys.exit(0)
