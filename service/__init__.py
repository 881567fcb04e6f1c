"""Service: the Flask API (/api/v1) and the server-rendered search page."""
