"""The users table, as SQLAlchemy Core sees it (the migrations create it)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, MetaData, Table, Text, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY

EMAIL_UNIQUE_INDEX = "users_email_lower_key"

metadata = MetaData()

users = Table(
    "users",
    metadata,
    Column("user_id", Uuid, primary_key=True),
    Column("email", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    Column("roles", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

Index(EMAIL_UNIQUE_INDEX, func.lower(users.c.email), unique=True)
