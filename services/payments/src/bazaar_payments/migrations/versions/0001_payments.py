"""Payments, their money ledger, and the outbox.

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chassis import create_outbox_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

STATUSES = "('AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'REFUNDED')"
KINDS = "('AUTHORIZE', 'CAPTURE', 'VOID', 'REFUND')"


def upgrade() -> None:
    op.create_table(
        "payments",
        sa.Column("payment_id", sa.Uuid(), primary_key=True),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid()),
        sa.Column("amount", sa.Numeric(10, 2)),
        sa.Column("currency", sa.CHAR(3)),
        sa.Column("payment_token", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("decline_reason", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("order_id", name="payments_order_id_key"),
        sa.CheckConstraint("amount > 0", name="payments_amount_positive"),
        sa.CheckConstraint(f"status IN {STATUSES}", name="payments_status_valid"),
        # Only a void tombstone goes without money; every real payment has all of it.
        sa.CheckConstraint(
            "(customer_id IS NOT NULL AND amount IS NOT NULL AND currency IS NOT NULL"
            " AND payment_token IS NOT NULL) OR status = 'VOIDED'",
            name="payments_money_unless_tombstone",
        ),
    )
    op.create_table(
        "payment_operations",
        sa.Column("payment_id", sa.Uuid(), sa.ForeignKey("payments.payment_id"), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("payment_id", "kind", name="payment_operations_pkey"),
        sa.CheckConstraint("amount > 0", name="payment_operations_amount_positive"),
        sa.CheckConstraint(f"kind IN {KINDS}", name="payment_operations_kind_valid"),
    )
    create_outbox_table(op)


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("payment_operations")
    op.drop_table("payments")
