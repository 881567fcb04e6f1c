"""The boolean query tree (store.query) as an FTS5 MATCH expression."""

from __future__ import annotations

from indexer.document import SECTION_KEYS
from store.query import SCOPE_TITLE, And, Node, Not, Or, QueryError, Term
from store.sqlite_fts import term_phrase

# FTS5 column per searchable field; section keys contain dots, which FTS5 column names cannot.
FTS_COLUMNS: dict[str, str] = {SCOPE_TITLE: "title", **{key: key.replace(".", "__") for key in SECTION_KEYS}}


def fts_expression(node: Node, scope: str | None = None) -> str:
    """Translate a parsed query; ``scope`` limits every phrase to one column (a section key or "title")."""
    if scope is not None and scope not in FTS_COLUMNS:
        raise QueryError(f"unknown section {scope!r}", field="section")
    column = FTS_COLUMNS[scope] if scope else None
    return _expr(simplify(node), column)


def simplify(node: Node) -> Node:
    """Push negations inward where needed (De Morgan), so every NOT has a positive left side in FTS5."""
    if isinstance(node, Term):
        return node
    if isinstance(node, Not):
        inner = simplify(node.item)
        if isinstance(inner, Not):
            return inner.item
        if isinstance(inner, And) and all(isinstance(i, Not) for i in inner.items):
            return Or(tuple(_negate(i) for i in inner.items))
        if isinstance(inner, Or) and any(isinstance(i, Not) for i in inner.items):
            return simplify(And(tuple(_negate(i) for i in inner.items)))
        return Not(inner)
    items = tuple(simplify(i) for i in node.items)
    return And(items) if isinstance(node, And) else Or(items)


def _negate(node: Node) -> Node:
    return node.item if isinstance(node, Not) else Not(node)


def _expr(node: Node, column: str | None) -> str:
    if isinstance(node, Term):
        phrase = term_phrase(node.text)
        return f"{column} : {phrase}" if column else phrase
    if isinstance(node, Or):
        if any(isinstance(i, Not) for i in node.items):
            raise QueryError("an OR alternative cannot be only an exclusion; put the '-term' next to a term")
        return "(" + " OR ".join(_expr(i, column) for i in node.items) + ")"
    if isinstance(node, Not):
        raise QueryError("a query cannot consist only of exclusions ('-term'); add a term to search for")
    positives = [i for i in node.items if not isinstance(i, Not)]
    negatives = [i.item for i in node.items if isinstance(i, Not)]
    if not positives:
        raise QueryError("a query cannot consist only of exclusions ('-term'); add a term to search for")
    expr = "(" + " AND ".join(_expr(i, column) for i in positives) + ")"
    for neg in negatives:
        expr = f"({expr} NOT {_expr(neg, column)})"
    return expr
