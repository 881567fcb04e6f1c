"""HTML shapes of Chinese government sites: a 年报 column (list page with pager), report pages, news."""

from __future__ import annotations

from html import escape

SECTIONS = (
    "一、总体情况",
    "二、主动公开政府信息情况",
    "三、收到和处理政府信息公开申请情况",
    "四、政府信息公开行政复议、行政诉讼情况",
    "五、存在的主要问题及改进情况",
    "六、其他需要报告的事项",
)


def listing(title: str, links: list[tuple[str, str]], *, pager: str = "", charset: str = "utf-8") -> str:
    items = "\n".join(f'<li><a href="{escape(href)}" target="_blank">{escape(text)}</a><span>2025-01-20</span></li>'
                      for href, text in links)  # fmt: skip
    return f"""<!DOCTYPE html><html><head><meta charset="{charset}"><title>{escape(title)}</title></head>
<body><div class="nav"><a href="/">首页</a> <a href="/xwzx/">新闻中心</a></div>
<h2 class="column">{escape(title)}</h2><ul class="list">{items}</ul><div class="page">{pager}</div></body></html>"""


def report(title: str, *, attachments: list[tuple[str, str]] = (), body: str = "", charset: str = "utf-8") -> str:
    sections = "".join(f"<p><strong>{s}</strong></p><p>{escape(body or '本年度工作情况如下。')}</p>" for s in SECTIONS)
    files = "".join(f'<p>附件：<a href="{escape(h)}">{escape(t)}</a></p>' for h, t in attachments)
    return f"""<!DOCTYPE html><html><head><meta charset="{charset}">
<meta name="ArticleTitle" content="{escape(title)}"><title>{escape(title)}_政府信息公开</title></head>
<body><div class="nav"><a href="/">首页</a></div><h1>{escape(title)}</h1>
<div class="TRS_Editor"><p>根据《中华人民共和国政府信息公开条例》，编制本报告。</p>
{sections}{files}</div></body></html>"""


def news(title: str, text: str = "今日召开工作会议。") -> str:
    return f"""<!DOCTYPE html><html><head><meta charset="utf-8"><title>{escape(title)}</title></head>
<body><h1>{escape(title)}</h1><p>{escape(text)}</p><a href="/">首页</a></body></html>"""
