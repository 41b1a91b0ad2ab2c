"""Key logged inferences by (namespace, inference service, ce-id), not ce-id alone.

KServe's agent reuses a caller's ``Ce-Id`` header; a caller that sends the same id to two
models would otherwise have the second model's predictions dropped as duplicates.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_TIME = sa.DateTime(timezone=True)
_COLUMNS = "namespace, inference_service, event_id, request_instances, request_received_at, response_received_at"


def _events_table(name: str, key: list[str], key_name: str) -> None:
    op.create_table(
        name,
        sa.Column("namespace", sa.String(253), nullable=False),
        sa.Column("inference_service", sa.String(253), nullable=False),
        sa.Column("event_id", sa.String(255), nullable=False),
        sa.Column("request_instances", sa.JSON(), nullable=True),
        sa.Column("request_received_at", _TIME, nullable=True),
        sa.Column("response_received_at", _TIME, nullable=True),
        sa.PrimaryKeyConstraint(*key, name=key_name),
    )


def _rekey_events(key: list[str], key_name: str) -> None:
    """Copy into a table with the new key and swap it in (SQLite cannot alter a primary key).

    PostgreSQL keeps a constraint's name through a table rename, so each direction names the
    new key differently from the one it replaces (0001's key has PostgreSQL's default name).
    """
    _events_table("inference_events_rekeyed", key, key_name)
    op.execute(f"INSERT INTO inference_events_rekeyed ({_COLUMNS}) SELECT {_COLUMNS} FROM inference_events")
    op.drop_table("inference_events")
    op.rename_table("inference_events_rekeyed", "inference_events")


def _rekey_predictions(columns: list[str]) -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_constraint("uq_predictions_event_idx", type_="unique")
        batch.create_unique_constraint("uq_predictions_event_idx", columns)


def upgrade() -> None:
    _rekey_events(["namespace", "inference_service", "event_id"], "pk_inference_events")
    _rekey_predictions(["namespace", "inference_service", "event_id", "idx"])


def downgrade() -> None:
    _rekey_predictions(["event_id", "idx"])
    _rekey_events(["event_id"], "inference_events_pkey")
