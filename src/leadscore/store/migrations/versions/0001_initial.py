"""Initial event store: inference events, predictions, outcomes.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "inference_events",
        sa.Column("event_id", sa.String(255), primary_key=True),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("inference_service", sa.String(253), nullable=False),
        sa.Column("request_instances", sa.JSON(), nullable=True),
        sa.Column("request_received_at", _TIME, nullable=True),
        sa.Column("response_received_at", _TIME, nullable=True),
    )
    op.create_table(
        "predictions",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("lead_id", sa.String(255), nullable=False),
        sa.Column("features", sa.JSON(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("action", sa.String(64), nullable=True),
        sa.Column("model_version", sa.String(128), nullable=False),
        sa.Column("arm", sa.String(63), nullable=True),
        sa.Column("experiment", sa.String(253), nullable=True),
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("inference_service", sa.String(253), nullable=False),
        sa.Column("predicted_at", _TIME, nullable=False),
        sa.UniqueConstraint("event_id", "idx", name="uq_predictions_event_idx"),
    )
    op.create_index("ix_predictions_lead_id", "predictions", ["lead_id"])
    op.create_index("ix_predictions_experiment", "predictions", ["namespace", "experiment"])
    op.create_index("ix_predictions_predicted_at", "predictions", ["predicted_at"])
    op.create_table(
        "outcomes",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("idempotency_key", sa.String(255), nullable=False, unique=True),
        sa.Column("lead_id", sa.String(255), nullable=False),
        sa.Column("converted", sa.Boolean(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("occurred_at", _TIME, nullable=False),
        sa.Column("received_at", _TIME, nullable=False),
    )
    op.create_index("ix_outcomes_lead_id", "outcomes", ["lead_id"])


def downgrade() -> None:
    op.drop_table("outcomes")
    op.drop_table("predictions")
    op.drop_table("inference_events")
