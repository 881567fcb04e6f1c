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
import unicodedata
from collections.abc import Callable, Sequence

import numpy as np

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


# -- a whole batch at once ------------------------------------------------------------------------------
# ``normalize`` and ``normalized_index_text`` cost ~280 µs a report in Python (a regex step and list work per
# token); a batch of reports is done here with a few numpy passes over its code points instead (~30 µs a
# report), with the same result (tests compare the two on random text).

_FIELD, _REPORT = "\x00", "\x01"  # between fields (the shingle SEPARATOR) and between reports in a batch
_SPACE = 0x20


def _bmp_table(test: Callable[[str], bool]) -> np.ndarray:
    return np.fromiter((test(chr(c)) for c in range(0x10000)), dtype=bool, count=0x10000)


@functools.cache
def _tables() -> dict[str, np.ndarray]:
    """Per BMP code point: ideograph of the contract, word character (``[^\\W_]`` of ``re``, not an ideograph),
    decimal digit (``\\d``), whitespace (``\\s``); and the full-width mapping of ``analysis._WIDE`` (UTF-16)."""
    ideograph = _bmp_table(analysis.is_cjk)
    wide = np.arange(0x10000, dtype=np.uint16)
    for code, text in analysis._WIDE.items():
        wide[code] = ord(text)
    return {
        "cjk": ideograph,
        "word": _bmp_table(str.isalnum) & ~ideograph,
        "digit": _bmp_table(str.isdecimal),
        "space": _bmp_table(str.isspace),
        "wide": wide,
    }


def _lookup(table: str, chars: np.ndarray) -> np.ndarray:
    """``_tables()[table]`` of each code point (those beyond the BMP, rare, by asking Python)."""
    tab = _tables()[table]
    beyond = chars >= 0x10000
    if not beyond.any():
        return tab[chars]
    out = np.zeros(len(chars), dtype=bool)
    out[~beyond] = tab[chars[~beyond]]
    test = {"cjk": analysis.is_cjk, "word": str.isalnum, "digit": str.isdecimal, "space": str.isspace}[table]
    codes = np.unique(chars[beyond])
    hits = codes[[test(chr(c)) for c in codes.tolist()]]
    out[beyond] = np.isin(chars[beyond], hits)
    return out


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (exclusive) of the runs of True."""
    edges = np.diff(mask.astype(np.int8), prepend=np.int8(0), append=np.int8(0))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def index_texts_many(reports: Sequence[Sequence[str]]) -> tuple[list[str], list[list[str]]] | None:
    """For each report (its field texts): the fields through ``analysis.normalize`` joined by ``"\\x00"``, and each
    field's ``index_text``. None when a text holds ``"\\x00"`` or ``"\\x01"`` (do it one text at a time then)."""
    big = _REPORT.join(_FIELD.join(fields) for fields in reports)
    if big.count(_REPORT) != len(reports) - 1 or big.count(_FIELD) != sum(len(f) - 1 for f in reports):
        return None
    tables = _tables()
    # normalize(): full-width forms (on UTF-16 units: surrogates are never mapped), NFKC, lower case, …
    units = np.frombuffer(big.encode("utf-16-le", "surrogatepass"), dtype=np.uint16)
    big = tables["wide"][units].tobytes().decode("utf-16-le", "surrogatepass")
    if not unicodedata.is_normalized("NFKC", big):  # per report: NFKC keeps the separators (starters) in place
        big = _REPORT.join(unicodedata.normalize("NFKC", t) for t in big.split(_REPORT))
    chars = np.frombuffer(big.lower().encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.int64)
    cjk = _lookup("cjk", chars)
    # … and no whitespace run with an ideograph on both sides
    starts, ends = _runs(_lookup("space", chars))
    inner = (starts > 0) & (ends < len(chars))
    inner[inner] = cjk[starts[inner] - 1] & cjk[ends[inner]]
    if inner.any():
        depth = np.zeros(len(chars) + 1, dtype=np.int32)
        depth[starts[inner]] += 1
        depth[ends[inner]] -= 1
        keep = np.cumsum(depth[:-1]) == 0
        chars, cjk = chars[keep], cjk[keep]
    texts = chars.astype(np.uint32).tobytes().decode("utf-32-le", "surrogatepass").split(_REPORT)
    return texts, _streams(chars, cjk)


def _streams(chars: np.ndarray, cjk: np.ndarray) -> list[list[str]]:
    """``normalized_index_text`` of every field of normalised text (fields and reports separated as above):
    each token followed by one space, built as one array of code points."""
    n = len(chars)
    word = _lookup("word", chars)
    digit = _lookup("digit", chars)
    pair = np.zeros(n, dtype=bool)  # an ideograph followed by one: its bigram
    pair[:-1] = cjk[:-1] & cjk[1:]
    width = cjk.astype(np.int64) * 2 + pair  # ideograph (+ the next) + space
    width[word] = 1
    sep = (chars == ord(_FIELD)) | (chars == ord(_REPORT))
    width[sep] = 1
    # Words: each run of word characters is a token (``[^\W_]+``), except numbers such as 1,234.5
    # (``\d+(?:[.,]\d+)+``, tried first): an all-digit run followed by "." or "," and a run starting with a digit
    # continue into that run's leading digits, with the punctuation.
    starts, ends = _runs(word)
    token_end = np.zeros(n, dtype=bool)  # a space after it
    token_end[ends - 1] = True
    if starts.size > 1:
        nondigit = np.cumsum(word & ~digit)
        all_digits = (nondigit[ends - 1] - np.where(starts > 0, nondigit[starts - 1], 0)) == 0
        nxt = starts[1:]
        link = all_digits[:-1] & (nxt == ends[:-1] + 1) & digit[nxt]
        link &= np.isin(chars[ends[:-1]], (ord("."), ord(",")))
        if link.any():
            k = np.flatnonzero(link)
            width[ends[k]] = 1  # the punctuation is part of the token…
            token_end[ends[k] - 1] = False  # …which goes on into the next run
            into = k + 1
            cut = into[~all_digits[into]]  # runs with more than digits: the number ends at their first non-digit
            token_end[np.searchsorted(nondigit, nondigit[starts[cut] - 1] + 1) - 1] = True
    width[token_end] += 1
    at = np.cumsum(width) - width
    out = np.full(int(at[-1] + width[-1]) if n else 0, _SPACE, dtype=np.uint32)
    emit = width > 0
    out[at[emit]] = chars[emit]
    p = np.flatnonzero(pair)
    out[at[p] + 1] = chars[p + 1]
    text = out.tobytes().decode("utf-32-le", "surrogatepass")
    return [[f.rstrip(" ") for f in report.split(_FIELD)] for report in text.split(_REPORT)]
