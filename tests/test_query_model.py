"""The query model: parsing, validation and the brute-force reference semantics."""

import pytest

from store import analysis
from store.query import And, Not, Or, QueryError, Term, build_search, matches, parse_q, resolve_scope


def test_implicit_and_or_not_and_groups():
    tree = parse_q('依申请公开 (复议 OR 诉讼) -收费 "政府 信息"')
    assert tree == And(
        (
            Term("依申请公开"),
            Or((Term("复议"), Term("诉讼"))),
            Not(Term("收费")),
            Term("政府 信息", quoted=True),
        )
    )


@pytest.mark.parametrize("q", ["(a", "a OR", "OR a", "-a", '"open', ")", "()", "a (b", "-", "。，"])
def test_malformed_queries_raise_clear_errors(q):
    with pytest.raises(QueryError) as exc:
        parse_q(q)
    assert str(exc.value)


def test_hyphen_inside_word_is_not_exclusion():
    assert parse_q("covid-19") == Term("covid-19")


@pytest.mark.parametrize(
    ("text", "query", "expected"),
    [
        ("行政复议情况", "复议", True),
        ("复 议", "复议", True),  # stray spaces inside Chinese words are extraction noise
        ("复、议", "复议", False),
        ("复查议", "复议", False),
        ("依申请公开政府信息", "依申请公开", True),
        ("依申请 公开", "依申请公开", True),
        ("依申请，公开", "依申请公开", False),
        ("公开", "依申请公开", False),
        ("ＩＳＯ９００１认证", "iso9001认证", True),
        ("iso90011", "iso9001", False),
        ("收费金额0.5万元", "0.5", True),
    ],
)
def test_reference_matching_is_contiguous_token_sequence(text, query, expected):
    assert analysis.contains(text, query) is expected
    assert matches(parse_q(query), text) is expected


def test_scope_accepts_keys_chinese_names_and_parts():
    assert resolve_scope("problems") == "problems"
    assert resolve_scope("依申请公开") == "overview.application"
    assert resolve_scope("五、存在的主要问题及改进情况") == "problems"
    assert resolve_scope("title") == "title"
    with pytest.raises(QueryError):
        resolve_scope("不存在的章节")


def test_build_search_validates_every_field():
    q = build_search("复议", filters={"county": ["鲁山县", ""]}, metric=["applications.new.total >= 10"], size=5)
    assert q.filters == {"county": ("鲁山县",)}
    assert q.conditions[0].test(10) and not q.conditions[0].test(9.5) and not q.conditions[0].test(None)
    for kwargs, field in [
        ({"filters": {"nope": "x"}}, "nope"),
        ({"metric": ["applications.bogus >= 1"]}, "metric"),
        ({"metric": ["applications.new.total >> 1"]}, "metric"),
        ({"size": 1000}, "size"),
        ({"sort": "random"}, "sort"),
        ({"cursor": "!!!"}, "cursor"),
        ({"year_from": 2025, "year_to": 2020}, "year_from"),
    ]:
        with pytest.raises(QueryError) as exc:
            build_search("x", **kwargs)
        assert exc.value.field == field
