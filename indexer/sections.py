"""The six sections of the template and the five sub-items of 一、总体情况, found in the report text.

Headings are matched by their key words, not their numerals: agencies renumber ("三、政府信息公开行政复议…"
after a restarted count), repeat ("### 一、总体情况" twice), drop ("五、" missing) or reword them ("…及明年工作
计划"). Flattened extractions put headings mid-line, so headings are searched anywhere a numeral starts one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from indexer.document import SECTION_NAMES, Section

_NUM_TAIL = r"\s*[、.．,，]?\s*"
# Key words of each section heading, after its numeral ("二、"), in template order.
_SECTION_PATTERNS: tuple[tuple[str, str], ...] = (
    ("overview", r"总体情况|概述"),
    ("active", r"主动公开政府信息(?:的)?情况"),
    ("applications", r"收到和处理政府信息公开申请(?:的)?情况"),
    ("review", r"(?:政府信息公开|因政府信息公开工作被申请)?(?:行政法?复议)[、和与及]\s*(?:提起)?行政诉讼(?:的)?情况"),
    ("problems", r"(?:政府信息公开工作)?存在的主要问题(?:及改进情况|和改进情况|及改进措施)?(?:及明年工作计划)?"),
    ("other", r"其他需要报告的事项"),
)
_OVERVIEW_PATTERNS: tuple[tuple[str, str], ...] = (
    ("overview.active", r"主动公开"),
    ("overview.application", r"依申请公开|政府信息公开申请|公开申请"),
    ("overview.management", r"政府信息管理|信息管理"),
    ("overview.platform", r"平台建设"),
    ("overview.supervision", r"监督保障|机制保障"),
)
_SUB_NUM = r"(?:[（(]\s*[一二三四五六七八九]\s*[)）]|(?<![\u4e00-\u9fff])[一二三四五六七八九][、.．]?)"

# Compiled once. A section heading: not "第二十条", not "（二）", not inside a longer numeral; flattened text may
# run straight into it. The numeral comes first and the look-behind after it (over the character before it and
# the numeral itself): a pattern that starts with a character set lets re skip to its next numeral, 3-4x faster
# than trying the look-behind at every position.
_SECTION_RES = tuple(
    (key, re.compile(rf"[一二三四五六七八九十](?<![一二三四五六七八九十第（(].){_NUM_TAIL}(?:{words})"))
    for key, words in _SECTION_PATTERNS
)
_OVERVIEW_RES = tuple(
    (key, re.compile(rf"(?:^|(?<=[\s。；;]))(?:#+\s*)?{_SUB_NUM}\s*[^\n。，,]{{0,8}}?(?:{words})"))
    for key, words in _OVERVIEW_PATTERNS
)


@dataclass(frozen=True, slots=True)
class Found:
    key: str
    start: int  # heading start
    body: int  # text start after the heading line
    title: str


def _heading_line(text: str, start: int, end_limit: int) -> tuple[int, str]:
    """(body start, title): the heading's line, unless the body runs on after it on the same line."""
    nl = text.find("\n", start)
    nl = len(text) if nl < 0 else nl
    rest = text[end_limit:nl]
    if len(rest) > 24 or "。" in rest or re.search(r"\d", rest):
        return end_limit, text[start:end_limit].strip()
    return nl, text[start:nl].strip()


def find_sections(text: str) -> list[Section]:
    """Split ``text`` into template sections plus overview sub-items; a heading missing gives no section."""
    found: list[Found] = []
    pos = 0
    for key, pattern in _SECTION_RES:
        m = pattern.search(text, pos)
        if m is None:
            continue
        body, title = _heading_line(text, m.start(), m.end())
        found.append(Found(key, m.start(), body, title))
        pos = body
    sections: list[Section] = []
    for i, f in enumerate(found):
        end = found[i + 1].start if i + 1 < len(found) else len(text)
        sections.append(Section(key=f.key, title=f.title.lstrip("# "), text=text[f.body : end].strip()))
    overview = next((s for s in sections if s.key == "overview"), None)
    if overview is not None:
        sections.extend(find_overview_items(overview.text))
    return sections


def find_overview_items(text: str) -> list[Section]:
    """The five sub-items of 一、总体情况 ("（一）主动公开", "一完善工作机制", …) in order of appearance."""
    hits: list[tuple[int, int, str, str]] = []
    taken: set[str] = set()
    for key, pattern in _OVERVIEW_RES:
        m = pattern.search(text)
        if m and key not in taken:
            end, title = _heading_line(text, m.start(), m.end())
            if any(abs(m.start() - h[0]) < 2 for h in hits):
                continue
            hits.append((m.start(), m.end(), key, title))
            taken.add(key)
    hits.sort()
    items: list[Section] = []
    for i, (start, head_end, key, _title) in enumerate(hits):
        end = hits[i + 1][0] if i + 1 < len(hits) else len(text)
        line_end = text.find("\n", start)
        title_end = line_end if 0 <= line_end < end and line_end - start <= 40 else head_end
        title = text[start:title_end].strip().rstrip("：:")
        items.append(Section(key=key, title=title or SECTION_NAMES[key], text=text[start:end].strip()))
    return items
