"""Administrative divisions: which province / city / county / township a report belongs to.

Data: ``indexer/data/divisions.tsv.gz`` (Ministry of Civil Affairs list down to townships, 41,934 entries;
built by ``indexer/data/build_divisions.py``). Names found in the title or agency name are resolved to the
one chain of divisions they agree on; a name that exists in several places (the same 镇 in several
counties) is not guessed without a hint or another name that decides it.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from indexer.document import Region

DATA_FILE = Path(__file__).with_name("data") / "divisions.tsv.gz"
MUNICIPALITIES = frozenset({"北京市", "天津市", "上海市", "重庆市"})
# Places that publish under a name the division list does not carry.
ALIASES: dict[str, str] = {
    "平潭综合实验区": "350128",  # 福建省福州市平潭县
    "平潭": "350128",
}
# Place names OCR and PDF extraction misread into a look-alike character (沭 → 沐), folded back before matching.
MISREADINGS: dict[str, str] = {
    "沐阳": "沭阳",
    "盱胎": "盱眙",
}


def fold_misreadings(text: str) -> str:
    for wrong, right in MISREADINGS.items():
        if wrong in text:
            text = text.replace(wrong, right)
    return text


_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "自治州",
    "自治县",
    "省",
    "市",
    "县",
    "区",
    "盟",
    "旗",
)


@dataclass(frozen=True, slots=True)
class Division:
    code: str
    parent: str
    level: int  # 1 province, 2 city, 3 county, 4 township
    name: str


@dataclass(slots=True)
class Gazetteer:
    by_code: dict[str, Division]
    by_name: dict[str, list[str]]  # full names and short names of levels 1–3 → codes
    children: dict[str, list[str]]
    max_len: int
    # The first two characters of every name of two or more → the lengths of those names, longest first: a
    # position no name starts at costs one lookup instead of one per possible length.
    heads: dict[str, tuple[int, ...]]

    def chain(self, code: str) -> list[Division]:
        out: list[Division] = []
        while code and code in self.by_code:
            d = self.by_code[code]
            out.append(d)
            code = d.parent
        return out[::-1]


@cache
def gazetteer() -> Gazetteer:
    raw = DATA_FILE.read_bytes()
    by_code: dict[str, Division] = {}
    by_name: dict[str, list[str]] = {}
    children: dict[str, list[str]] = {}
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        code, parent, level, name = line.split("\t")
        d = Division(code, parent, int(level), name)
        by_code[code] = d
        children.setdefault(parent, []).append(code)
        by_name.setdefault(name, []).append(code)
        if d.level <= 2:  # short county names ("资源", "和政") hide in ordinary words
            short = short_name(name)
            if short != name and len(short) >= 2:
                by_name.setdefault(short, []).append(code)
    for alias, code in ALIASES.items():
        by_name.setdefault(alias, []).append(code)
    lengths: dict[str, set[int]] = {}
    for name in by_name:
        if len(name) >= 2:
            lengths.setdefault(name[:2], set()).add(len(name))
    heads = {head: tuple(sorted(ls, reverse=True)) for head, ls in lengths.items()}
    return Gazetteer(by_code, by_name, children, max(len(n) for n in by_name), heads)


def short_name(name: str) -> str:
    """ "河南省" → "河南", "卢氏县" → "卢氏" (used only to recognise names, never to report them)."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True, slots=True)
class Mention:
    text: str
    start: int
    codes: tuple[str, ...]


def mentions(text: str) -> list[Mention]:
    """Division names in ``text``, longest match at each position, non-overlapping (misreadings folded)."""
    text = fold_misreadings(text[:2000])
    g = gazetteer()
    by_name, heads = g.by_name, g.heads
    out: list[Mention] = []
    i, end = 0, len(text)
    while i < end:
        for length in heads.get(text[i : i + 2], ()):
            if length <= end - i and (codes := by_name.get(text[i : i + length])):
                out.append(Mention(text[i : i + length], i, tuple(codes)))
                i += length
                break
        else:
            i += 1
    return out


def region_of(code: str) -> Region:
    g = gazetteer()
    region = Region(code=code)
    for d in g.chain(code):
        if d.level == 1:
            region.province = d.name
            if d.name in MUNICIPALITIES:
                region.city = d.name
        elif d.level == 2:
            region.city = d.name
        elif d.level == 3:
            region.county = d.name
        else:
            region.township = d.name
    return region


def _ancestors(code: str) -> set[str]:
    return {d.code for d in gazetteer().chain(code)}


def parse_hint(hint: Region | str | None) -> str:
    """The division code a hint names ("河南省/平顶山市/鲁山县" or a Region), "" when it names none."""
    if hint is None:
        return ""
    if isinstance(hint, Region):
        if hint.code and hint.code in gazetteer().by_code:
            return hint.code
        parts = [hint.province, hint.city, hint.county, hint.township]
    else:
        parts = re.split(r"[/／>,，\s]+", hint.strip())
    code = ""
    g = gazetteer()
    for part in (p for p in parts if p):
        found = [c for c in g.by_name.get(part, []) if not code or code in _ancestors(c)]
        if len(found) != 1:
            break
        code = found[0]
    return code


def url_slugs(url: str) -> set[str]:
    """Path segments of a URL that may name a place in pinyin ("/zfxxgk/ndbg/zhanhe/…" → {"zhanhe", …})."""
    path = re.sub(r"^[a-z]+://[^/]*", "", url.lower()).split("?")[0]
    return {seg for seg in re.split(r"[/_\-.]", path) if seg.isalpha() and 3 <= len(seg) <= 24}


@cache
def _slugs_of(name: str) -> frozenset[str]:
    """How a site spells a division in its paths: full pinyin or initials, with or without the suffix (kept:
    the same few hundred ambiguous names come back in report after report)."""
    from pypinyin import lazy_pinyin  # loaded only when a place name is ambiguous

    out: set[str] = set()
    for form in {name, short_name(name)}:
        if len(form) < 2:
            continue
        syllables = lazy_pinyin(form)
        out.add("".join(syllables))
        out.add("".join(s[0] for s in syllables if s))
    return frozenset(out)


def _named_by_url(codes: list[str], slugs: set[str]) -> list[str]:
    """The candidate codes one of whose divisions (below the province) the URL path names."""
    g = gazetteer()
    return [c for c in codes if any(_slugs_of(d.name) & slugs for d in g.chain(c)[1:])]


def resolve(text: str, hint: Region | str | None = None, url: str = "") -> tuple[Region, list[tuple[str, str]]]:
    """The region named by ``text`` (title, agency name), narrowed by ``hint``; warnings when ambiguous.

    A name found in several places is settled by the URL when its path names exactly one of them in pinyin
    (sites file reports under "/ndbg/zhanhe/"); otherwise it is not guessed."""
    warnings: list[tuple[str, str]] = []
    base = parse_hint(hint)
    found = mentions(text)
    candidates: dict[str, set[str]] = {}  # code → mention texts it explains
    for m in found:
        for code in m.codes:
            if base and base not in _ancestors(code) and code not in _ancestors(base):
                continue
            candidates.setdefault(code, set()).add(m.text)
    scored: list[tuple[int, int, str]] = []
    for code in candidates:
        chain = _ancestors(code)
        explained = set().union(*(candidates[c] for c in candidates if c in chain))
        scored.append((len(explained), len(chain), code))
    if not scored:
        return (region_of(base) if base else Region()), warnings
    scored.sort(reverse=True)
    best_score, best_depth, best = scored[0]
    ties = [c for s, d, c in scored if s == best_score and d == best_depth]
    if len(ties) > 1 and url and len(by_url := _named_by_url(ties, url_slugs(url))) == 1:
        ties = by_url
        best = by_url[0]
    if len(ties) > 1:
        common = set.intersection(*(_ancestors(c) for c in ties))
        fallback = max(common, key=lambda c: len(_ancestors(c)), default=base)
        names = "、".join(sorted({"/".join(d.name for d in gazetteer().chain(c)) for c in ties})[:4])
        warnings.append(("ambiguous_region", f"地名有歧义 / ambiguous place name: {names}; give a region hint"))
        best = fallback or base
        if not best:
            return Region(), warnings
    if base and base not in _ancestors(best):
        best = base
    best = _township_by_suffix(text, best) or best
    return region_of(best), warnings


def _township_by_suffix(text: str, county: str) -> str:
    """ "鲁山县库区乡" names 昭平台库区乡 by its usual short form: match within the known county only."""
    g = gazetteer()
    d = g.by_code.get(county)
    if d is None or d.level != 3:
        return ""
    county_name = d.name
    at = text.find(county_name)
    tail = text[at + len(county_name) :] if at >= 0 else text
    m = re.match(r"\s*([\u4e00-\u9fff]{1,8}?(?:乡|镇|街道))", tail)
    if not m:
        return ""
    short = m.group(1)
    hits = [c for c in g.children.get(county, []) if g.by_code[c].name.endswith(short) or short in g.by_code[c].name]
    return hits[0] if len(hits) == 1 else ""
