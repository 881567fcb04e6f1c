"""Indexer: extract text and tables from archived originals, parse them into the canonical report
document (``indexer.document``) with the metric catalogue (``indexer.catalogue``), validate, index."""
