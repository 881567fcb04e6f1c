"""大汉 JCMS (Hanweb) columns: list items inside ``<script type="text/xml"><datastore>``, paged by dataproxy.jsp.

A JCMS column page (``/col/colNNN/index.html``) embeds only the first group of its records::

    <script type="text/xml"><datastore><recordset>
      <record><![CDATA[<li><a href="/art/2025/1/20/art_1001_5.html" title="…">…</a></li>]]></record> …
    </recordset></datastore></script>
    var param_1234 = {col:1, appid:1, webid:1, path:'/', columnid:1001, sourceContentType:1, unitid:1234, …};
    $('#1234').jpage({perPage:4, groupSize:2, totalRecord:13, proxyUrl:'/module/web/jpage/dataproxy.jsp',
                      ajaxParam:param_1234, …});

Later groups come from ``dataproxy.jsp?startrecord=9&endrecord=16&perpage=4&col=1&…``, which answers the
same ``<datastore>`` XML with ``<totalrecord>`` and ``<totalpage>``. We ask with GET (the script POSTs the same
fields; JCMS accepts both), so every group is an ordinary archived response and a reindex reads the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlencode, urljoin

_RECORD = re.compile(r"<record[^>]*>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S | re.I)
_PARAM = re.compile(r"var\s+param_(\w+)\s*=\s*\{(.*?)\}", re.S)
_JPAGE = re.compile(r"\.jpage\(\s*\{(.*?)\}\s*\)", re.S)
_PAIR = re.compile(r"""(\w+)\s*:\s*(?:'([^']*)'|"([^"]*)"|([\w.$/-]+))""")
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)
MAX_RECORDS = 20_000  # a column announcing more is a typo or a trap; we page through this many at most


@dataclass(frozen=True, slots=True)
class JPage:
    """What a page's ``.jpage({...})`` call and its ``param_<unitid>`` object say about the column."""

    per_page: int
    group_size: int
    total: int
    proxy_url: str
    params: tuple[tuple[str, str], ...]  # the ajaxParam fields, in the page's order

    def group_urls(self, base: str) -> list[str]:
        """dataproxy.jsp URLs of every group after the first (the page embeds that one)."""
        group = max(1, self.per_page * self.group_size)
        total = min(self.total, MAX_RECORDS)
        proxy = urljoin(base, self.proxy_url)
        out = []
        for start in range(group + 1, total + 1, group):
            query = [("startrecord", str(start)), ("endrecord", str(min(start + group - 1, total)))]
            query += [("perpage", str(self.per_page)), *self.params]
            out.append(f"{proxy}?{urlencode(query)}")
        return out


def record_html(text: str) -> str:
    """The HTML of every ``<record><![CDATA[…]]></record>`` in a page or a dataproxy answer, joined."""
    return "\n".join(_RECORD.findall(text or ""))


def is_datastore(text: str) -> bool:
    return "<datastore" in (text or "")[:200_000].lower()


def jpage(text: str) -> JPage | None:
    """The column's paging, from ``.jpage({...})`` and the ``param_<unitid>`` it names; None if absent."""
    call = _JPAGE.search(text or "")
    if not call:
        return None
    fields = _pairs(call.group(1))
    try:
        per_page = int(fields.get("perPage", "15"))
        group_size = int(fields.get("groupSize", "1"))
        total = int(fields.get("totalRecord", "0"))
    except ValueError:
        return None
    proxy = fields.get("proxyUrl", "/module/web/jpage/dataproxy.jsp")
    params: tuple[tuple[str, str], ...] = ()
    name = fields.get("ajaxParam", "")
    for match in _PARAM.finditer(text):
        if not name or name == f"param_{match.group(1)}":
            params = tuple(_pairs(match.group(2)).items())
            break
    return JPage(per_page, group_size, total, proxy, params) if per_page > 0 and total > 0 else None


def total_records(text: str) -> int | None:
    """``<totalrecord>`` of a dataproxy answer."""
    match = _TOTAL.search(text or "")
    return int(match.group(1)) if match else None


def _pairs(body: str) -> dict[str, str]:
    return {m.group(1): next(g for g in m.groups()[1:] if g is not None) for m in _PAIR.finditer(body)}
