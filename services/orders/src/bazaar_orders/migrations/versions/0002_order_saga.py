"""The order saga: saga state per order, idempotency keys, the outbox, rejection reasons.

Revision ID: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from chassis import create_outbox_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_UNFINISHED = "state NOT IN ('DONE', 'REJECTED', 'CANCELLED')"


def upgrade() -> None:
    op.add_column("orders", sa.Column("rejection_reason", sa.String(32), nullable=True))
    op.create_check_constraint(
        "orders_rejection_reason_valid",
        "orders",
        "(rejection_reason IS NULL) OR (status = 'REJECTED' AND rejection_reason IN"
        " ('out_of_stock', 'unknown_product', 'payment_declined', 'timed_out'))",
    )
    op.create_table(
        "order_sagas",
        sa.Column(
            "order_id",
            sa.Uuid(),
            sa.ForeignKey("orders.order_id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("state", sa.String(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_token", sa.String(64), nullable=False),
        sa.Column("rejection_reason", sa.String(32), nullable=True),
        sa.Column("rejection_detail", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "state IN ('RESERVING', 'AUTHORIZING', 'CAPTURING', 'VOIDING', 'RELEASING',"
            " 'REFUNDING', 'RELEASING_CANCELLED', 'DONE', 'REJECTED', 'CANCELLED')",
            name="order_sagas_state_valid",
        ),
        sa.CheckConstraint("attempts >= 0", name="order_sagas_attempts_not_negative"),
    )
    op.create_index(
        "order_sagas_due_idx",
        "order_sagas",
        ["next_attempt_at"],
        postgresql_where=sa.text(_UNFINISHED),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("customer_id", sa.Uuid(), primary_key=True),
        sa.Column("key", sa.Text(), primary_key=True),
        sa.Column("request_hash", sa.Text(), nullable=False),
        sa.Column(
            "order_id",
            sa.Uuid(),
            sa.ForeignKey("orders.order_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    create_outbox_table(op)


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("idempotency_keys")
    op.drop_index("order_sagas_due_idx", table_name="order_sagas")
    op.drop_table("order_sagas")
    op.drop_constraint("orders_rejection_reason_valid", "orders")
    op.drop_column("orders", "rejection_reason")
