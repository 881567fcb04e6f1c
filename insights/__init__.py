"""Analysis for journalists, derived across reports after indexing (issue 8).

* ``series``: one publisher's reports linked across years (robust to 县政府 / 县人民政府 / …办公室);
* ``yoy``: changes of the key metrics from the previous year (catalogue metrics ``yoy.<key>.abs/.rel``);
* ``cross_checks`` / ``content_checks``: ``cross.*`` checks in ``doc.checks``;
* ``shingles`` + ``lsh``: copied narrative (``copied.previous_ratio``, ``copied.peers_ratio``);
* ``refresh``: the stage itself (store → records spilled to disk (``spill``) → derived publisher by publisher
  (``stage``) → the changed values written with ``Store.update_derived``);
* ``timeline``, ``rankings``, ``missing``, ``batch``: what the API serves from the store.
"""

from insights.refresh import RefreshStats, refresh

__all__ = ["RefreshStats", "refresh"]
