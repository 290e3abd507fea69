"""The payments database (SQLAlchemy Core). Migrations in ``migrations/versions`` create it."""

from __future__ import annotations

from sqlalchemy import (
    CHAR,
    CheckConstraint,
    Column,
    DateTime,
    ForeignKey,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

metadata = MetaData()

STATUSES = "('AUTHORIZED', 'DECLINED', 'CAPTURED', 'VOIDED', 'REFUNDED')"
KINDS = "('AUTHORIZE', 'CAPTURE', 'VOID', 'REFUND')"

payments = Table(
    "payments",
    metadata,
    Column("payment_id", Uuid, primary_key=True),
    Column("order_id", Uuid, nullable=False),
    # customer_id, amount, currency and payment_token are NULL only on a void tombstone.
    Column("customer_id", Uuid),
    Column("amount", Numeric(10, 2)),
    Column("currency", CHAR(3)),
    Column("payment_token", Text),
    Column("status", String(16), nullable=False),
    Column("decline_reason", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    # One payment per order: the unique index decides between concurrent authorizations.
    UniqueConstraint("order_id", name="payments_order_id_key"),
    CheckConstraint("amount > 0", name="payments_amount_positive"),
    CheckConstraint(f"status IN {STATUSES}", name="payments_status_valid"),
    CheckConstraint(
        "(customer_id IS NOT NULL AND amount IS NOT NULL AND currency IS NOT NULL"
        " AND payment_token IS NOT NULL) OR status = 'VOIDED'",
        name="payments_money_unless_tombstone",
    ),
)

payment_operations = Table(
    "payment_operations",
    metadata,
    Column("payment_id", Uuid, ForeignKey("payments.payment_id"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("amount", Numeric(10, 2), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Each operation happens at most once per payment, whatever the application does.
    PrimaryKeyConstraint("payment_id", "kind", name="payment_operations_pkey"),
    CheckConstraint("amount > 0", name="payment_operations_amount_positive"),
    CheckConstraint(f"kind IN {KINDS}", name="payment_operations_kind_valid"),
)
