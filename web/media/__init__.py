"""Content-addressed audio over HTTP for browsers and agents: ``GET /media/<sha256>.<ext>``."""
