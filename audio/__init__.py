"""Text to mastered media: TTS engines, mastering, chimes and the content-addressed store."""

import warnings

# pydub 0.25 imports the stdlib audioop, deprecated since Python 3.11 (audioop-lts replaces it on
# 3.13). Import it once here, quietly, so `-W error` runs and pytest's filterwarnings=error work.
with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", message="'audioop' is deprecated", category=DeprecationWarning
    )
    import pydub  # noqa: F401
