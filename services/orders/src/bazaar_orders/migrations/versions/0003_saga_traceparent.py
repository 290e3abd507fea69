"""The trace a saga's steps join: the request that placed the order.

A step run by the sweeper (after a crash, or a retry that came due) has no request around it;
with the traceparent kept beside the saga it still lands in the order's trace.

Revision ID: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("order_sagas", sa.Column("traceparent", sa.String(55), nullable=True))


def downgrade() -> None:
    op.drop_column("order_sagas", "traceparent")
