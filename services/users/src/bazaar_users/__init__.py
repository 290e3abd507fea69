"""Bazaar users service: accounts, argon2 password hashes, and the signed access tokens."""
