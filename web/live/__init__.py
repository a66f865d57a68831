"""Going live from the browser (issue 14)."""
