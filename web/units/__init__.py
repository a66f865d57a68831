"""Administrative units in the web: merging communes (issue 11)."""
