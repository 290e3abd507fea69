"""Fixtures every test suite shares: the real PostgreSQL (and later broker) the tests start."""

pytest_plugins = ["bazaar_local.testing"]
