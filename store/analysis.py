"""Text analysis shared by both engines: what counts as a token and when a query matches.

Semantics (the contract the SQLite store and the Elasticsearch mapping both implement):

* Text is normalised with NFKC (full-width and half-width forms alike: "ＡＢＣ１２" == "abc12"),
  lower-cased, and whitespace between two CJK ideographs is deleted (extraction from PDF and Word
  scatters spaces inside Chinese words: "政府信息 公开" is "政府信息公开").
* Tokens are, in order: each CJK ideograph on its own, and each maximal run of other letters and
  digits (a "word"; digits may carry inner "," or "." as in "1,234" or "0.5", like Unicode word
  boundaries). Everything else (punctuation, spaces) separates tokens.
* Two consecutive ideograph tokens are *joined* when nothing stands between them (after the
  whitespace deletion). A query term or "quoted phrase" matches a field when its token sequence
  occurs contiguously in the field's token sequence and every ideograph pair has the same joinedness
  in both. So 复议 matches "行政复议" and "行政复 议" but not "复、议" or "复查议", and 依申请公开
  matches exactly where the text contains it.

This is what Elasticsearch gives with a char filter deleting whitespace between ideographs, the
standard tokenizer (one token per ideograph, UAX#29 words), ``cjk_width`` + ``lowercase`` and
``cjk_bigram`` (which joins only directly adjacent ideographs), plus a unigram sub-field for
one-character queries. Each engine may add index structures for speed as long as these semantics hold.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass

# CJK Unified Ideographs (+ Extension A, compatibility ideographs) and 〇.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3007"
_TOKEN_RE = re.compile(
    rf"(?P<cjk>[{_CJK}])"
    rf"|(?P<word>\d+(?:[.,]\d+)+|[^\W_{_CJK}]+)",
    re.UNICODE,
)
_CJK_RE = re.compile(rf"[{_CJK}]")


_CJK_SPACE_RE = re.compile(rf"(?<=[{_CJK}])\s+(?=[{_CJK}])")


# Full-width ASCII forms and the ideographic space, mapped as NFKC maps them: Chinese text is then
# usually NFKC-normalised already and the (several times slower) normalisation can be skipped.
_WIDE = {0x3000: " ", **{c: chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)}}


@dataclass(frozen=True, slots=True)
class Token:
    text: str  # normalised
    start: int  # offsets into the *normalised* text
    end: int
    cjk: bool
    joined: bool = False  # an ideograph directly after another ideograph


def normalize(text: str) -> str:
    """NFKC, lower case, and no whitespace between ideographs."""
    # NFKC(text) == NFKC(text with some characters replaced by their compatibility decomposition), so
    # after the cheap translation the result is the same, and usually already normalised.
    text = text.translate(_WIDE)
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return _CJK_SPACE_RE.sub("", text.lower())


def tokenize(text: str) -> list[Token]:
    """Tokens of ``text`` (normalised first)."""
    return list(iter_tokens(normalize(text)))


def iter_tokens(normalized: str) -> Iterator[Token]:
    prev_end, prev_cjk = -1, False
    for m in _TOKEN_RE.finditer(normalized):
        cjk = m.lastgroup == "cjk"
        yield Token(m.group(), m.start(), m.end(), cjk, joined=cjk and prev_cjk and prev_end == m.start())
        prev_end, prev_cjk = m.end(), cjk


def token_texts(text: str) -> list[str]:
    return [t.text for t in tokenize(text)]


def _signature(tokens: list[Token]) -> list[tuple[str, bool]]:
    return [(t.text, t.joined) for t in tokens]


def is_cjk(char: str) -> bool:
    return bool(_CJK_RE.fullmatch(char))


def contains(field_text: str, query_text: str) -> bool:
    """Reference implementation of the matching rule, by brute force (used by tests and as oracle)."""
    needle = _signature(tokenize(query_text))
    if not needle:
        return False
    # The first query token's joinedness does not matter (it may start mid-word: 复议 in 行政复议).
    needle[0] = (needle[0][0], False)
    hay = _signature(tokenize(field_text))
    n = len(needle)
    return any(hay[i][0] == needle[0][0] and hay[i + 1 : i + n] == needle[1:] for i in range(len(hay) - n + 1))
