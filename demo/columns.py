"""HTML of the demo site's columns shaped like real government sites beyond static TRS lists.

Pure builders (strings in, strings out); ``demo.site`` decides which reports go where. The kinds:

* a 大汉 JCMS column: records in ``<script type="text/xml"><datastore>``, later groups from dataproxy.jsp;
* a column filled by JavaScript from a JSON file (nothing in the static HTML);
* a column of reports published only as files: a pdf.js viewer, ``<iframe>``, ``<object>``/``<embed>``,
  ``window.open``, ``data-href``, ``download.jsp?id=…`` named only by Content-Disposition;
* a directory of department and township 年报 columns.
"""

from __future__ import annotations

import json
from html import escape
from urllib.parse import quote

JCMS_COL = 1001
JCMS_UNIT = 4963
JCMS_PER_PAGE = 4
JCMS_GROUP = 2
JCMS_PROXY = "/module/web/jpage/dataproxy.jsp"
JCMS_WEBNAME = "闽侯县人民政府"
JCMS_PARAMS: tuple[tuple[str, str], ...] = (
    ("col", "1"),
    ("appid", "1"),
    ("webid", "1"),
    ("path", "/"),
    ("columnid", str(JCMS_COL)),
    ("sourceContentType", "1"),
    ("unitid", str(JCMS_UNIT)),
    ("webname", JCMS_WEBNAME),
    ("permissiontype", "0"),
)


def jcms_record(href: str, title: str, date: str) -> str:
    return (
        f'<record><![CDATA[<li><a href="{escape(href)}" target="_blank" title="{escape(title)}">'
        f"{escape(title)}</a><span>{date}</span></li>]]></record>"
    )


def jcms_datastore(records: list[str], total: int) -> str:
    """The ``<datastore>`` both the column page embeds and dataproxy.jsp answers."""
    pages = -(-total // JCMS_PER_PAGE)
    return (
        f'<datastore><nextgroup><![CDATA[<a href="{JCMS_PROXY}"></a>]]></nextgroup>'
        f"<recordset>{''.join(records)}</recordset>"
        f"<totalrecord>{total}</totalrecord><totalpage>{pages}</totalpage></datastore>"
    )


def jcms_column_html(name: str, first_group: list[str], total: int) -> str:
    """A JCMS column page: the first group of records in a text/xml script, the rest left to jpage."""
    param = ", ".join(f"{k}:{v}" if v.isdigit() else f"{k}:'{v}'" for k, v in JCMS_PARAMS)
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(name)}</title>
<script type="text/javascript" src="/module/jslib/jquery/jquery.js"></script>
<script type="text/javascript" src="/module/web/jpage/jpage.js"></script></head>
<body><div class="bt-head"><a href="/">首页</a> &gt; <a href="/col/col{JCMS_COL}/index.html">{escape(name)}</a></div>
<div class="main"><h2>{escape(name)}</h2>
<div id="{JCMS_UNIT}"><script type="text/xml">{jcms_datastore(first_group, total)}</script></div>
<script type="text/javascript">var param_{JCMS_UNIT} = {{{param}}};</script>
<script type="text/javascript">$(document).ready(function(){{ $('#{JCMS_UNIT}').jpage({{dataStore: dataStore,
barPosition: 'bottom', perPage: {JCMS_PER_PAGE}, groupSize: {JCMS_GROUP}, totalRecord: {total},
proxyUrl: '{JCMS_PROXY}', ajaxParam: param_{JCMS_UNIT}, themeName: 'default', showMode: 'full'}}); }});</script>
</div></body></html>
"""


def article_html(
    title: str, article: str, published: str, source: str, column_href: str = f"/col/col{JCMS_COL}/index.html"
) -> str:
    """A report page of the JCMS or the JavaScript column (its breadcrumb leads back to ``column_href``)."""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta name="ArticleTitle" content="{escape(title)}"></head>
<body><div class="bt-head"><a href="/">首页</a> &gt; <a href="{column_href}">政府信息公开年报</a></div>
<div class="main"><h1>{escape(title)}</h1><div class="info">发布日期：{published} 来源：{escape(source)}</div>
<div id="zoom">{article}</div></div></body></html>
"""


def js_column_html(name: str, json_path: str) -> str:
    """A column whose list is empty in the HTML and filled from ``json_path`` by a script."""
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(name)}</title></head>
<body><div class="main"><h2>{escape(name)}</h2><ul id="list" class="list_ul"></ul><div id="pager"></div></div>
<script>
fetch({json.dumps(json_path)}).then(function (r) {{ return r.json(); }}).then(function (data) {{
  var ul = document.getElementById('list');
  data.items.forEach(function (item) {{
    var li = document.createElement('li'), a = document.createElement('a');
    a.href = item.url; a.textContent = item.title; li.appendChild(a);
    var s = document.createElement('span'); s.textContent = item.date; li.appendChild(s);
    ul.appendChild(li);
  }});
}});
</script></body></html>
"""


def js_column_json(items: list[tuple[str, str, str]]) -> str:
    return json.dumps(
        {"total": len(items), "items": [{"url": u, "title": t, "date": d} for u, t, d in items]}, ensure_ascii=False
    )


def file_item(route: str, title: str, date: str, target: str, download: str = "") -> str:
    """One list item of the file-only column; ``target`` is the file or wrapper page URL, ``download`` a
    second route to the same file."""
    t = escape(title)
    if route == "viewer":
        href = f"/pdfjs/web/viewer.html?file={quote(target)}"
        also = f' <a href="{download}">下载</a>' if download else ""
        return f'<li><a href="{href}" target="_blank">{t}</a>{also}<span>{date}</span></li>'
    if route == "window.open":
        return f'<li><a href="javascript:void(0)" onclick="window.open(\'{target}\')">{t}</a><span>{date}</span></li>'
    if route == "data-href":
        return f'<li><a href="javascript:;" data-href="{target}">{t}</a><span>{date}</span></li>'
    if route.startswith("dl-"):
        return f'<li>{t}（<a href="{target}">附件下载</a>）<span>{date}</span></li>'
    return f'<li><a href="{target}" target="_blank" title="{t}">{t}</a><span>{date}</span></li>'  # wrapper pages


def file_wrapper_html(route: str, title: str, file_url: str, published: str) -> str:
    """A report page that only shows its file: in an ``<iframe>``, or an ``<object>`` with an ``<embed>``."""
    if route == "iframe":
        shown = f'<iframe src="{file_url}" width="100%" height="900" frameborder="0"></iframe>'
    else:
        shown = (
            f'<object data="{file_url}" type="application/pdf" width="100%" height="900">'
            f'<embed src="{file_url}" type="application/pdf" width="100%" height="900"></object>'
        )
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(title)}</title></head>
<body><div class="main"><h1>{escape(title)}</h1><div class="info">发布日期：{published}</div>
<div class="content">{shown}</div></div></body></html>
"""


def simple_list_html(name: str, items: list[str], crumbs: str = "") -> str:
    return f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{escape(name)}</title></head>
<body><div class="position">{crumbs}</div><div class="main"><h2>{escape(name)}</h2>
<ul class="list_ul">{"".join(items) or "<li>暂无信息</li>"}</ul></div></body></html>
"""
