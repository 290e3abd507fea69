"""Bazaar payments: authorizations against a (simulated) processor, capture, void, refund."""
