"""Builders, actors and assertions shared by the test suites."""
