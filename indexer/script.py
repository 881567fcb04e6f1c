"""Traditional script (繁體): recognised, and converted to simplified for matching and analysis.

Some sites offer a traditional-script version of every page (重慶市…年度報告). The parser reads labels,
place names and agency names in simplified script, and search runs on simplified text; the original text is
kept beside it (``Section.original``). Conversion: zhconv (MediaWiki's conversion tables).
"""

from __future__ import annotations

import re

from indexer.extract import Extracted, Table

# Characters common in every report that exist only in traditional script: a handful of them is a clear sign.
_TRADITIONAL_ONLY = re.compile("[報開資訊務區縣機關與為處請發個議訴總數計責會實體時經辦廳續項於鄉鎮這應當據]")
MIN_SIGNS = 8
SAMPLE_CHARS = 4000


def is_traditional(text: str) -> bool:
    """True when the start of ``text`` is written in traditional script."""
    return len(_TRADITIONAL_ONLY.findall(text, 0, SAMPLE_CHARS)) >= MIN_SIGNS


def to_simplified(text: str) -> str:
    from zhconv import convert  # loaded only for traditional-script reports

    return convert(text, "zh-cn")


def simplified(extracted: Extracted) -> Extracted:
    """A copy of ``extracted`` with every text block, table cell, title and metadata value in simplified script."""
    blocks = [
        Table([[to_simplified(c) for c in row] for row in b.rows]) if isinstance(b, Table) else to_simplified(b)
        for b in extracted.blocks
    ]
    return Extracted(
        blocks=blocks,
        title=to_simplified(extracted.title),
        meta={k: to_simplified(v) for k, v in extracted.meta.items()},
        warnings=list(extracted.warnings),
        flags=list(extracted.flags),
    )
