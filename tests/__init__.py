"""The test suite: a package, so tests/schedules is tests.schedules and never shadows the
schedules package."""
