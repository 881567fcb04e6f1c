"""Error messages for the pages, in Chinese (the API keeps its JSON with the English reason).

The query model and the schemas speak English to API users; a journalist reading the page gets the same
error in Chinese, with the technical wording kept only as a detail.
"""

from __future__ import annotations

import re

STATUS_TEXT: dict[int, str] = {
    400: "请求有误",
    401: "需要登录",
    403: "无权访问",
    404: "没有找到这个页面",
    405: "不支持这种访问方式",
    409: "操作冲突，请稍后再试",
    413: "提交的内容太大",
    429: "访问太频繁，请稍后再试",
    500: "服务器内部出错（已记录）",
    503: "服务暂时不可用，请稍后再试",
}

# (pattern of the English message, Chinese text; groups are filled in by name)
_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"unterminated quote at position (?P<pos>\d+)", "第 {pos} 个字符处的引号没有配对，请补上另一半引号"),
    (r"cannot read the query at position (?P<pos>\d+)", "无法识别第 {pos} 个字符处的内容"),
    (r"OR at position (?P<pos>\d+) needs a term after it", "第 {pos} 个字符处的 OR 后面缺少检索词"),
    (r"OR at position (?P<pos>\d+) needs a term before it", "第 {pos} 个字符处的 OR 前面缺少检索词"),
    (r"unexpected '\)' at position (?P<pos>\d+)", "第 {pos} 个字符处多了一个右括号"),
    (r"missing '\)' for '\(' at position (?P<pos>\d+)", "第 {pos} 个字符处的左括号没有配对的右括号"),
    (r"'-' at position (?P<pos>\d+) must be followed by a term", "第 {pos} 个字符处的减号（排除）后面缺少检索词"),
    (r"(?P<term>.+) at position (?P<pos>\d+) has no searchable characters", "检索词 {term} 中没有可检索的文字"),
    (r"(?P<term>.+) has no searchable characters", "检索词 {term} 中没有可检索的文字"),
    (r"unexpected (?P<term>.+) at position (?P<pos>\d+)", "第 {pos} 个字符处的 {term} 用法有误"),
    (r"empty query", "检索式是空的"),
    (r"no report (?P<v>'[^']*')…?", "没有编号为 {v} 的报告"),
    (r"no agency (?P<v>'[^']*')", "没有编号为 {v} 的机关"),
    (r"report (?P<v>'[^']*') has no archived original", "这份报告没有存档原件"),
    (r"report (?P<v>'[^']*') has no capture (?P<c>'[^']*')", "这份报告没有编号为 {c} 的存档版本"),
    (r"no archive yet: nothing has been crawled", "还没有存档：尚未抓取任何网站"),
    (r"the archived capture (?P<c>\S+) cannot be read right now", "存档版本 {c} 暂时无法读取"),
    (r"the search index is not available|search store unavailable.*", "检索服务暂时不可用，请稍后再试"),
    (r"a query cannot consist only of exclusions.*", "检索式不能只有排除词（-词），请加上要查找的词"),
    (r"query is longer than (?P<n>\d+) characters", "检索式超过 {n} 个字符"),
    (r"unknown section (?P<v>.+?)(;.*)?", "没有这个报告部分：{v}"),
    (r"unknown metric (?P<v>'[^']*').*", "没有这个指标：{v}"),
    (r"unknown sort (?P<v>'[^']*').*", "不支持这种排序：{v}"),
    (r"unknown filter (?P<v>'[^']*').*", "没有这个筛选项：{v}"),
    (r"year_from is after year_to", "起始年度晚于截止年度"),
    (r"invalid cursor.*|this cursor belongs to a different query.*", "翻页链接已失效，请重新检索"),
    (r"size must be between.*", "每页条数超出范围"),
    (r"Not a valid integer\.?", "应为整数"),
    (r"Must be greater than or equal to (?P<a>\d+) and less than or equal to (?P<b>\d+)\.?", "应在 {a} 到 {b} 之间"),
    (r"Unknown field\.?", "不认识的参数"),
    (r"Missing data for required field\.?", "必须填写"),
    (r"Longer than maximum length (?P<n>\d+)\.?", "超过 {n} 个字符"),
    (r"Must be one of: (?P<v>.+)\.", "应为以下之一：{v}"),
)
_COMPILED = tuple((re.compile(p + r"\Z", re.S), zh) for p, zh in _PATTERNS)

FIELD_NAMES: dict[str, str] = {
    "q": "检索词",
    "section": "范围",
    "year": "年度",
    "year_from": "起始年度",
    "year_to": "截止年度",
    "sort": "排序",
    "metric": "指标",
    "cursor": "翻页",
    "size": "每页条数",
    "county": "区县",
    "city": "城市",
    "province": "省份",
}


def zh_message(message: str) -> str:
    """The Chinese for one English error message; the message itself when it is Chinese or unknown."""
    text = message.strip()
    for pattern, zh in _COMPILED:
        m = pattern.match(text)
        if m:
            return zh.format(**{k: (v or "") for k, v in m.groupdict().items()})
    if re.search(r"[\u4e00-\u9fff]", text):
        return text.split(" / ", 1)[0].split(" (", 1)[0]
    return f"参数有误（{text}）"


def zh_field(name: str) -> str:
    return FIELD_NAMES.get(name, name)


def zh_reason(status: int, reason: str) -> str:
    """The page's headline for an error: Chinese for the standard statuses, else the translated reason."""
    if reason in ("", "not found", "invalid request", "invalid parameters") or reason == STATUS_TEXT.get(status):
        return STATUS_TEXT.get(status, "出错了")
    translated = zh_message(reason)
    if translated.startswith("参数有误（") and status in STATUS_TEXT:
        return STATUS_TEXT[status]
    return translated
