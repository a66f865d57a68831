"""Emergency broadcast: compose, confirm, send at once to zones, and follow each site live."""
