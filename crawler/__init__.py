"""Crawler: discover report pages on government sites, fetch politely, archive as WARC, catalog."""
