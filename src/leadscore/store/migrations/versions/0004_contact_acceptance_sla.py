"""Outcomes report first contact and lead acceptance; predictions keep their tier's SLA.

``outcomes.first_contacted_at`` (when sales first reached the lead) and ``outcomes.accepted``
(sales accepted the lead) feed the tier SLA report and the A/B lead-acceptance rate;
``predictions.sla_seconds`` is the contact deadline the predictor's response gave the lead's
tier. All three are nullable: existing rows keep their data and report none of them.

Revision ID: 0004
Revises: 0003_i18
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003_i18"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("first_contacted_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("accepted", sa.Boolean(), nullable=True))
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("sla_seconds", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("sla_seconds")
    with op.batch_alter_table("outcomes") as batch:
        batch.drop_column("accepted")
        batch.drop_column("first_contacted_at")
