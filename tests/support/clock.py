"""The suite's fixed "now": far from any day the tests run on, so none depends on the date."""

from __future__ import annotations

from datetime import UTC, datetime

# 08:00 on Monday 4 March 2030 in Vietnam (UTC+7).
FIXED_NOW = datetime(2030, 3, 4, 1, 0, tzinfo=UTC)
