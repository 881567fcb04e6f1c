"""Search stores behind one interface (``store.base.Store``): embedded SQLite/FTS5 or Elasticsearch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nianbao.settings import Settings
    from store.base import Store


def create_store(settings: Settings) -> Store:
    """The store the settings select: Elasticsearch when a URL is set, else the embedded default."""
    if settings.elasticsearch_url:
        from store.es_store import ElasticStore

        return ElasticStore(settings.elasticsearch_url, settings.elasticsearch_index, settings.elasticsearch_analyzer)
    from store.sqlite_store import SqliteStore

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return SqliteStore(settings.index_path)


@contextmanager
def open_store(settings: Settings) -> Iterator[Store]:
    st = create_store(settings)
    try:
        yield st
    finally:
        st.close()
