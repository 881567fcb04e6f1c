"""`nianbao search` in a terminal: fragments indented under their hit, and filter values that match nothing
named as such (with the closest indexed names), instead of "0 reports" and empty facet lines."""

from __future__ import annotations

import difflib
import html
import textwrap

from store.base import Store
from store.query import build_search

INDENT = "    "


def fragment_lines(section: str, text: str) -> str:
    """One fragment: "  [section]" then its lines indented, matches in [brackets], HTML entities decoded."""
    plain = html.unescape(text.replace("<mark>", "[").replace("</mark>", "]"))
    body = textwrap.indent("\n".join(line.strip() for line in plain.splitlines() if line.strip()), INDENT)
    return f"  [{section}]\n{body}"


def unknown_filter_values(store: Store, filters: dict[str, list[str]], suggestions: int = 5) -> list[str]:
    """A line per filter value the index does not hold, e.g. "no such county indexed: '不存在县'"."""
    lines = []
    for name, values in filters.items():
        result = store.search(build_search("", facets=[name], size=1, highlight=False))
        known = [str(v.value) for f in result.facets for v in f.values]
        for value in values:
            if value in known:
                continue
            close = difflib.get_close_matches(value, known, n=suggestions, cutoff=0.2)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; {len(known)} values indexed"
            lines.append(f"no such {name} indexed: {value!r}{hint}")
    return lines
