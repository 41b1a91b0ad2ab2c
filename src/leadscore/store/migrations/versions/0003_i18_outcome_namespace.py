"""Outcomes belong to a namespace (and optionally a model): tenants never share conversions.

Rule for outcomes stored before this revision, which named no namespace: an old outcome takes
the namespace of the predictions of its lead when exactly one namespace scored that lead (the
only team it can have come from). When none or several did, it gets the namespace ``""``, which
no request can name: it is kept, counted in no summary, history or export, and can be moved by
hand (``UPDATE outcomes SET namespace = '<ns>' WHERE namespace = ''``). Idempotency keys become
unique per namespace. ``model`` stays empty (the outcome counts for every model of its namespace).

Revision ID: 0003_i18
Revises: 0003_i20
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_i18"
down_revision = "0003_i20"
branch_labels = None
depends_on = None

UNASSIGNED = ""
_NAMES = {"uq": "%(table_name)s_%(column_0_name)s_key"}
"""0001's unique key has no name; this gives it PostgreSQL's default name, SQLite's batch mode included."""
_ONE_NAMESPACE = (
    "(SELECT COUNT(DISTINCT p.namespace) FROM predictions p WHERE p.lead_id = outcomes.lead_id) = 1"
)


def upgrade() -> None:
    with op.batch_alter_table("outcomes") as batch:
        batch.add_column(sa.Column("namespace", sa.String(253), nullable=False, server_default=UNASSIGNED))
        batch.add_column(sa.Column("model", sa.String(253), nullable=True))
    op.execute(
        "UPDATE outcomes SET namespace = "
        "(SELECT MIN(p.namespace) FROM predictions p WHERE p.lead_id = outcomes.lead_id) "
        f"WHERE {_ONE_NAMESPACE}"
    )
    with op.batch_alter_table("outcomes", naming_convention=_NAMES) as batch:
        batch.alter_column("namespace", server_default=None, existing_type=sa.String(253), existing_nullable=False)
        batch.drop_constraint("outcomes_idempotency_key_key", type_="unique")
        batch.create_unique_constraint("uq_outcomes_namespace_key", ["namespace", "idempotency_key"])
        batch.drop_index("ix_outcomes_lead_id")
        batch.create_index("ix_outcomes_namespace_lead", ["namespace", "lead_id"])


def downgrade() -> None:
    """Fails when two namespaces share an idempotency key (the old schema cannot hold both)."""
    with op.batch_alter_table("outcomes", naming_convention=_NAMES) as batch:
        batch.drop_index("ix_outcomes_namespace_lead")
        batch.create_index("ix_outcomes_lead_id", ["lead_id"])
        batch.drop_constraint("uq_outcomes_namespace_key", type_="unique")
        batch.create_unique_constraint("outcomes_idempotency_key_key", ["idempotency_key"])
        batch.drop_column("model")
        batch.drop_column("namespace")
