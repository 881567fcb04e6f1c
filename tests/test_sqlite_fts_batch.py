"""The batch text analysis of the SQLite store (``sqlite_fts.index_texts_many``, numpy over a whole batch) gives
exactly what the one-text-at-a-time definition gives: ``analysis.normalize`` and ``normalized_index_text``."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from store import analysis
from store.sqlite_fts import index_texts_many, normalized_index_text

# Characters that exercise every rule: ideographs, full-width forms and the ideographic space, whitespace of
# several kinds, numbers with "." and "," (and digits of other scripts), letters that NFKC or lower() change
# (ligatures, half-width katakana with a voicing mark, Greek final sigma), characters beyond the BMP.
_ALPHABET = "依申请公开复议〇﨑⼀ 　\t\n\x85\u2028、，。.,1234５٣ＡＢａbcΣσÜ_x-ｶﾞ①ⅰﬀ😀𠮷"
_FIELD = st.text(alphabet=_ALPHABET, max_size=24)
_REPORTS = st.lists(st.lists(_FIELD, min_size=1, max_size=4), min_size=1, max_size=5)


def _one_at_a_time(reports: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    normalized = [[analysis.normalize(f) for f in fields] for fields in reports]
    return ["\x00".join(n) for n in normalized], [[normalized_index_text(f) for f in n] for n in normalized]


@settings(max_examples=400, deadline=None)
@given(reports=_REPORTS)
def test_batch_analysis_equals_the_definition(reports: list[list[str]]):
    assert index_texts_many(reports) == _one_at_a_time(reports)


def test_numbers_words_and_ideographs():
    reports = [["收到申请1,234.5件 covid-19 0.5元", "1,234abc 12ab,3 a1,2"], ["", "行政复 议"]]
    texts, streams = index_texts_many(reports)
    assert streams == [
        ["收到 到申 申请 请 1,234.5 件 covid 19 0.5 元", "1,234 abc 12ab 3 a1 2"],
        ["", "行政 政复 复议 议"],
    ]
    assert (texts, streams) == _one_at_a_time(reports)


def test_a_text_holding_a_separator_is_left_to_the_caller():
    assert index_texts_many([["a\x00b"]]) is None
    assert index_texts_many([["a\x01b", "c"]]) is None
