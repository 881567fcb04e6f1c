"""The bundled offline demo government website and the deterministic report generator behind it."""
