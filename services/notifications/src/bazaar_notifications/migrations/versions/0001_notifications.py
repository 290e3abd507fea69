"""The notification log, and the consumer's inbox (processed event ids).

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chassis import create_inbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("notification_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        # One notification per event, even if the inbox were ever bypassed.
        sa.Column("event_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "kind IN ('order_confirmed', 'order_rejected', 'order_cancelled')",
            name="notifications_kind_valid",
        ),
    )
    op.create_index(
        "notifications_customer_listing_idx",
        "notifications",
        ["customer_id", sa.text("created_at DESC"), sa.text("notification_id DESC")],
    )
    create_inbox_table(op)


def downgrade() -> None:
    op.drop_table("inbox")
    op.drop_index("notifications_customer_listing_idx", table_name="notifications")
    op.drop_table("notifications")
