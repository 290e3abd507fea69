"""Bazaar notifications service."""
