"""The bundled offline demo government website and the deterministic report generator behind it.

Modules:
  ``universe``  agencies: the demo's real counties and towns, and an index-addressable corpus universe
  ``phrases``   phrase banks for report narratives
  ``generator`` ``generate_corpus(n, seed)`` / ``make_report(agency, year)`` → ``GeneratedReport`` with true metrics
  ``tables``    the three statistical tables as cell grids with spans (shared by every renderer)
  ``render``    ``to_html`` / ``to_text`` / ``to_markdown`` / ``to_docx`` / ``to_pdf``
  ``seeds``     the five real seed reports in ``data/``
  ``site``      ``build_site``, ``DemoSite``, ``serve``, ``expected_reports``
  ``columns``   HTML of the site's JCMS, file-only, JavaScript-filled and directory columns
"""
