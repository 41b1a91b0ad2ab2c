"""Feedback: what users did with a lead (explicit reports and implicit session interactions).

A new table only: no existing row changes. Keys are unique per namespace, as outcomes' are.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("model", sa.String(253), nullable=True),
        sa.Column("lead_id", sa.String(255), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("action_type", sa.String(32), nullable=False),
        sa.Column("user_rating", sa.Float(), nullable=True),
        sa.Column("interaction_duration", sa.Float(), nullable=True),
        sa.Column("contact_successful", sa.Boolean(), nullable=True),
        sa.Column("conversion_value", sa.Float(), nullable=True),
        sa.Column("session_id", sa.String(255), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("namespace", "idempotency_key", name="uq_feedback_namespace_key"),
    )
    op.create_index("ix_feedback_namespace_lead", "feedback", ["namespace", "lead_id"])
    op.create_index("ix_feedback_namespace_occurred_at", "feedback", ["namespace", "occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_namespace_occurred_at", table_name="feedback")
    op.drop_index("ix_feedback_namespace_lead", table_name="feedback")
    op.drop_table("feedback")
