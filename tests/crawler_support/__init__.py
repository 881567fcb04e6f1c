"""Helpers for the crawler tests: real HTTP servers on 127.0.0.x with scripted faults, and page builders."""
