"""Bazaar's local launcher: runs PostgreSQL, the broker and every service as local processes."""
