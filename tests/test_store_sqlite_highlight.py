"""store.highlight (shared by both stores): spans in the ORIGINAL text, agreeing with store.analysis."""

from __future__ import annotations

import html
import re
import sys
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from store import analysis
from store.highlight import IDEOGRAPH_SOURCE_BLOCKS, fragments, match_spans
from store.query import Term


def _marked(text: str, query: str) -> list[str]:
    return [text[s:e] for s, e in match_spans(text, [Term(query)])]


def test_spans_are_offsets_of_the_original_text():
    assert _marked("通过ＩＳＯ９００１认证", "iso9001认证") == ["ＩＳＯ９００１认证"]
    assert _marked("行政复 议两件，行政复议一件", "复议") == ["复 议", "复议"]
    assert _marked("复、议和复查议", "复议") == []
    assert _marked("面积100㎡的ﬁle，复议", "file") == ["ﬁle"]  # NFKC expands ligatures: offsets still map back
    assert _marked("面积100㎡的ﬁle，复议", "复议") == ["复议"]
    assert _marked("收费1,234元与234元", "234") == ["234"]  # "234" inside the number 1,234 is not a token
    assert _marked("iso90011 iso9001", "iso9001") == ["iso9001"]


def test_ideographs_written_as_radicals_or_compatibility_forms_are_found():
    """A field is skipped unless its original text holds each ideograph of the term or a character that
    normalises to it: the Kangxi radical ⾏ (PDF extractions), a compatibility ideograph, ㈱ (株)."""
    assert _marked("⾏政复议", "行政") == ["⾏政"]
    compat = "\uf900"  # 豈, a compatibility ideograph: NFKC makes it 豈 (U+8C48)
    assert _marked(f"{compat}不", "\u8c48不") == [f"{compat}不"]
    assert _marked("㈱公司", "株") == ["㈱"]
    assert _marked("行政复议", "行政诉讼") == []


def test_every_character_that_normalises_to_an_ideograph_is_in_the_listed_blocks():
    listed = {cp for low, high in IDEOGRAPH_SOURCE_BLOCKS for cp in range(low, high)}
    for cp in range(sys.maxunicode + 1):
        if cp in listed or 0x3400 <= cp <= 0x9FFF:  # unified ideographs are NFKC-stable
            continue
        folded = unicodedata.normalize("NFKC", chr(cp)).lower()
        assert not (folded != chr(cp) and analysis._CJK_RE.search(folded)), hex(cp)


def test_fragments_escape_everything_but_the_marks():
    (frag,) = fragments([("overview", "<b>行政复议</b> & 其他")], [Term("复议")])
    assert frag.section == "overview"
    assert frag.text == "&lt;b&gt;行政<mark>复议</mark>&lt;/b&gt; &amp; 其他"


def test_fragments_follow_field_order_and_are_capped():
    long = "。".join(["复议"] + ["无关内容" * 30] * 10 + ["复议"])
    frags = fragments([("title", "复议报告"), ("review", long)], [Term("复议")], max_fragments=2)
    assert [f.section for f in frags] == ["title", "review"]
    assert all(len(html.unescape(re.sub("</?mark>", "", f.text))) <= 240 for f in frags)


_TEXT = st.text(alphabet="复议公开申请 、ＡａAb1１,.ﬁ㎡⾔⾏\n", max_size=30)
_QUERY = st.text(alphabet="复议公开申请 、Ａab1,.", min_size=1, max_size=5).filter(lambda q: bool(analysis.tokenize(q)))


@settings(max_examples=300, deadline=None)
@given(text=_TEXT, query=_QUERY)
def test_spans_agree_with_the_reference_matcher(text: str, query: str):
    spans = match_spans(text, [Term(query)])
    assert bool(spans) == analysis.contains(text, query)
    for start, end in spans:
        # A merged span may cover adjacent matches; each begins with a match of the query.
        assert analysis.contains(text[start:end], query)
