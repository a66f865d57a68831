"""Listening to drafts: the web fixtures (an app with the demo commune, a fake renderer that
stores a real MP3) reused from the web tests."""

from tests.web.conftest import (  # noqa: F401  (fixtures reused from the web tests)
    FakeRenderer,
    app,
    auth,
    client,
    clock_start,
    pytest_runtest_makereport,
    renderer,
    sample_mp3,
)
