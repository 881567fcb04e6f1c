"""Highlighted fragments of the original text, engine-independent (both stores call this for the returned page).

Matching follows ``store.analysis`` exactly (normalised token sequences with joinedness), computed on
the normalised text and mapped back to offsets in the ORIGINAL text, so a fragment shows what the
report says — full-width letters, stray spaces and all — with ``<mark>`` around each match and the
rest HTML-escaped.
"""

from __future__ import annotations

import functools
import html
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from store import analysis
from store.base import Fragment
from store.query import Term

CONTEXT_CHARS = 40  # characters of context on each side of a match
MAX_FRAGMENTS = 5  # per hit, across all fields
MAX_FRAGMENT_CHARS = 240  # a fragment never grows beyond this much original text


# The blocks holding every character whose NFKC form (lower-cased) contains an ideograph other than itself:
# CJK radicals and Kangxi radicals (common in PDF extractions), enclosed and compatibility forms (㈱, ㍿),
# compatibility ideographs. tests/test_store_sqlite_highlight.py checks the list against every code point.
IDEOGRAPH_SOURCE_BLOCKS = ((0x2E00, 0x3400), (0xF900, 0xFB00), (0x1F200, 0x1F300), (0x2F800, 0x2FB00))


@functools.cache
def _ideograph_sources() -> dict[str, str]:
    """ideograph → the other characters of a text that become (or contain) it once normalised."""
    out: dict[str, str] = {}
    for low, high in IDEOGRAPH_SOURCE_BLOCKS:
        for cp in range(low, high):
            ch = chr(cp)
            folded = unicodedata.normalize("NFKC", ch).lower()
            if folded != ch:
                for target in set(folded):
                    if analysis.is_cjk(target):
                        out[target] = out.get(target, "") + ch
    return out


@dataclass(frozen=True, slots=True)
class _Needle:
    first: str
    rest: tuple[tuple[str, bool], ...]
    # For each ideograph of the term, the characters of which the ORIGINAL text must hold one for a match (the
    # ideograph, and what normalises to it): most fields of a hit fail this and are skipped without normalising.
    probes: tuple[str, ...]

    def may_match(self, text: str) -> bool:
        for group in self.probes:  # plain loops: this runs for every field of every hit
            for ch in group:
                if ch in text:
                    break
            else:
                return False
        return True


@functools.lru_cache(maxsize=1024)
def _needle(text: str) -> _Needle | None:
    tokens = analysis.tokenize(text)
    if not tokens:
        return None
    sources = _ideograph_sources()
    probes = tuple(dict.fromkeys(t.text + sources.get(t.text, "") for t in tokens if t.cjk))
    return _Needle(tokens[0].text, tuple((t.text, t.joined) for t in tokens[1:]), probes)


def _normalize_mapped(text: str, folded: str) -> tuple[str, Sequence[int]]:
    """``analysis.normalize(text)`` plus, for each of its characters, the index of the original character.

    ``folded`` is ``NFKC(text).lower()``, already computed by the caller.
    """
    if len(folded) == len(text):
        if not analysis._CJK_SPACE_RE.search(folded):
            return folded, range(len(text))  # the usual case: nothing to remove, offsets unchanged
        src = list(range(len(text)))  # width folding and lower-casing are 1:1
    else:
        parts: list[str] = []
        src = []
        for i, ch in enumerate(text):
            n = unicodedata.normalize("NFKC", ch).lower()
            parts.append(n)
            src.extend([i] * len(n))
        folded = "".join(parts)
    out: list[str] = []
    out_src: list[int] = []
    last = 0
    for m in analysis._CJK_SPACE_RE.finditer(folded):
        out.append(folded[last : m.start()])
        out_src.extend(src[last : m.start()])
        last = m.end()
    out.append(folded[last:])
    out_src.extend(src[last:])
    return "".join(out), out_src


def match_spans(text: str, terms: Iterable[Term]) -> list[tuple[int, int]]:
    """Sorted, merged ``(start, end)`` spans of the original ``text`` matched by any of ``terms``."""
    return _spans(text, _needles(terms))


def _needles(terms: Iterable[Term]) -> list[_Needle]:
    return [n for n in (_needle(t.text) for t in terms) if n is not None]


def _spans(text: str, needles: list[_Needle]) -> list[tuple[int, int]]:
    if not needles or not text:
        return []
    needles = [n for n in needles if n.may_match(text)]
    if not needles:
        return []
    folded = unicodedata.normalize("NFKC", text).lower()
    if not any(n.first in folded for n in needles):
        return []  # most fields of a hit do not match: skip the offset map
    norm, src = _normalize_mapped(text, folded)
    spans: list[tuple[int, int]] = []
    for needle in needles:
        # Verify only where the first token's text occurs, tokenising forward from there.
        pos = norm.find(needle.first)
        while pos != -1:
            end = _match_at(norm, pos, needle)
            if end is not None:
                spans.append((src[pos], src[end - 1] + 1))
            pos = norm.find(needle.first, pos + 1)
    return _merge(spans)


def _sync_point(norm: str, pos: int) -> int:
    """The nearest offset at or before ``pos`` where tokenising can start (no token spans it)."""
    k = pos
    while k > 0 and (norm[k - 1] in ".," or (norm[k - 1].isalnum() and not analysis.is_cjk(norm[k - 1]))):
        k -= 1
    return k


def _match_at(norm: str, pos: int, needle: _Needle) -> int | None:
    """End offset (normalised) of a match of ``needle`` whose first token starts at ``pos``, or None."""
    tokens = analysis._TOKEN_RE.finditer(norm, pos if analysis.is_cjk(norm[pos]) else _sync_point(norm, pos))
    first = next(tokens, None)
    while first is not None and first.start() < pos:
        first = next(tokens, None)
    if first is None or first.start() != pos or first.group() != needle.first:
        return None  # "234" inside "1,234" or "abc" inside "xabc" is not a token of its own
    prev_end, prev_cjk, end = first.end(), first.lastgroup == "cjk", first.end()
    for text, joined in needle.rest:
        m = next(tokens, None)
        if m is None or m.group() != text:
            return None
        cjk = m.lastgroup == "cjk"
        if (cjk and prev_cjk and prev_end == m.start()) != joined:
            return None
        prev_end, prev_cjk, end = m.end(), cjk, m.end()
    return end


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _windows(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Group spans into context windows: (window start, window end, spans inside)."""
    out: list[tuple[int, int, list[tuple[int, int]]]] = []
    for start, end in spans:
        if out and start - out[-1][1] <= CONTEXT_CHARS and end - out[-1][0] <= MAX_FRAGMENT_CHARS:
            w_start, _, inside = out[-1]
            inside.append((start, end))
            out[-1] = (w_start, min(len(text), end + CONTEXT_CHARS), inside)
        else:
            out.append((max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS), [(start, end)]))
    return out


def render(text: str, start: int, end: int, spans: Sequence[tuple[int, int]]) -> str:
    """``text[start:end]`` HTML-escaped, with each span wrapped in ``<mark>``."""
    parts: list[str] = []
    pos = start
    for s, e in spans:
        s, e = max(s, start), min(e, end)
        if s >= e:
            continue
        parts.append(html.escape(text[pos:s]))
        parts.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    parts.append(html.escape(text[pos:end]))
    return "".join(parts)


def fragments(
    fields: Iterable[tuple[str, str]], terms: Sequence[Term], max_fragments: int = MAX_FRAGMENTS
) -> list[Fragment]:
    """Fragments for ``fields`` given as ``(section key or "title", original text)`` in display order."""
    out: list[Fragment] = []
    needles = _needles(terms)
    if not needles:
        return out
    for section, text in fields:
        for start, end, inside in _windows(text, _spans(text, needles)):
            # An ellipsis where the window cuts the text, so a reader knows the sentence goes on.
            head, tail = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
            out.append(Fragment(section, head + render(text, start, end, inside) + tail))
            if len(out) >= max_fragments:
                return out
    return out
