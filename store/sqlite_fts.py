"""How Chinese text becomes FTS5 tokens, and query terms become FTS5 phrases (the SQLite store's analysis).

FTS5 has no Chinese tokenizer, so text is pre-tokenised here and stored through FTS5's ``ascii``
tokenizer, which only splits on ASCII spaces and punctuation (every non-ASCII character is a token
character) and so keeps our tokens intact. The stream follows ``store.analysis``:

* a run of joined ideographs ``c1 c2 … cn`` becomes the overlapping bigrams ``c1c2 c2c3 … c(n-1)cn``
  followed by the trailing unigram ``cn`` — exactly one token per ideograph, each starting with it;
* every other word (letters, digits, ``1,234``, ``0.5``) is one token as itself.

A query term maps to an FTS5 phrase over the same stream: a joined pair is its bigram, an ideograph
that ends a run inside the query is the unigram (the text's run must end there too), and an ideograph
that ends the query is a prefix (``复*`` matches both ``复议`` and a trailing ``复``). Because every
ideograph is the start of exactly one token, phrase positions line up and joinedness is enforced by
construction: ``复议`` never matches ``复、议`` (no ``复议`` bigram there) and ``复、议`` never matches
``复议`` (no unigram ``复`` there).
"""

from __future__ import annotations

import functools
import hashlib
import operator
import re

from store import analysis

# Same token classes as store.analysis, but a whole CJK *run* per match so a text needs few regex steps.
_RUN_RE = re.compile(
    rf"(?P<cjk>[{analysis._CJK}]+)|(?P<word>\d+(?:[.,]\d+)+|[^\W_{analysis._CJK}]+)",
    re.UNICODE,
)

# The tokenizer the FTS5 table is created with: our tokens contain only non-ASCII characters,
# ASCII letters/digits, "." and ",", and are separated by single spaces.
FTS_TOKENIZER = "ascii tokenchars '.,'"
# Bump when the token stream changes: deleting rows from the contentless table re-derives their tokens.
TOKENS_VERSION = "1"
# Text exercising every rule of store.analysis: if its stream changes (someone edits the analysis),
# an index built before cannot be updated safely and must be rebuilt.
_PROBE = "行政复 议、依申请公开 ＡＢＣ１２ covid-19 1,234.5元 0.5 﨑〇 Ünïcode_x"


def tokens_fingerprint() -> str:
    """TOKENS_VERSION plus a digest of the probe's stream, stored with the index."""
    return f"{TOKENS_VERSION}:{hashlib.sha256(index_text(_PROBE).encode('utf-8')).hexdigest()[:12]}"


def index_text(text: str) -> str:
    """The FTS5 token stream of a field's text (space-separated)."""
    return normalized_index_text(analysis.normalize(text))


def normalized_index_text(normalized: str) -> str:
    """``index_text`` of a text already passed through ``analysis.normalize``."""
    if not normalized:
        return ""
    out: list[str] = []
    for m in _RUN_RE.finditer(normalized):
        run = m.group()
        if m.lastgroup == "cjk":
            out.extend(map(operator.add, run, run[1:]))  # the bigrams…
            out.append(run[-1])  # …and the trailing unigram
        else:
            out.append(run)
    return " ".join(out)


@functools.lru_cache(maxsize=4096)  # a query's terms are translated several times (validation, cache key, MATCH)
def term_phrase(text: str) -> str:
    """The FTS5 phrase (with a trailing ``*`` for a final prefix) matching a query term."""
    tokens = analysis.tokenize(text)
    if not tokens:
        raise ValueError(f"{text!r} has no searchable characters")
    parts: list[str] = []
    prefix = False
    last = len(tokens) - 1
    for i, tok in enumerate(tokens):
        if not tok.cjk:
            parts.append(tok.text)
            continue
        nxt = tokens[i + 1] if i < last else None
        if nxt is not None and nxt.joined:
            parts.append(tok.text + nxt.text)
        elif i == last and i > 0 and tok.joined:
            continue  # already covered by the bigram before it
        else:
            parts.append(tok.text)
            prefix = i == last
    return '"' + " ".join(parts) + '"' + ("*" if prefix else "")
