"""Log in and out."""
