"""Adapters: the ports met by PostgreSQL (SQLAlchemy Core) and by the products service (HTTP)."""
