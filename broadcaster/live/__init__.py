"""Live sessions: the streaming server (Icecast) and the feed from the browser to it."""
