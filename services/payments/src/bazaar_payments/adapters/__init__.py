"""Adapters behind the payments service's ports: PostgreSQL and the simulated processor."""
