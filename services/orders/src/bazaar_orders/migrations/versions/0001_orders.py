"""Orders and their items (the seed's RDS schema, DESIGN.md §2).

Revision ID: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("order_id", sa.Uuid(), primary_key=True),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("total_amount", sa.Numeric(10, 2), nullable=False),
        sa.Column("currency", sa.CHAR(3), nullable=False, server_default=sa.text("'USD'")),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "status IN ('PENDING', 'CONFIRMED', 'REJECTED', 'CANCELLED')",
            name="orders_status_valid",
        ),
        sa.CheckConstraint("total_amount >= 0", name="orders_total_not_negative"),
    )
    op.create_index(
        "orders_customer_listing_idx",
        "orders",
        ["customer_id", sa.text("created_at DESC"), sa.text("order_id DESC")],
    )
    op.create_index("orders_status_idx", "orders", ["status"])
    op.create_table(
        "order_items",
        sa.Column("item_id", sa.Uuid(), primary_key=True),
        sa.Column(
            "order_id",
            sa.Uuid(),
            sa.ForeignKey("orders.order_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("line_no", sa.SmallInteger(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(10, 2), nullable=False),
        sa.CheckConstraint("quantity BETWEEN 1 AND 100", name="order_items_quantity_range"),
        sa.CheckConstraint("unit_price >= 0", name="order_items_unit_price_not_negative"),
        sa.UniqueConstraint("order_id", "line_no", name="order_items_order_line_key"),
    )


def downgrade() -> None:
    op.drop_table("order_items")
    op.drop_index("orders_status_idx", table_name="orders")
    op.drop_index("orders_customer_listing_idx", table_name="orders")
    op.drop_table("orders")
