"""Store the pre-treatment covariate of each prediction: the control model's probability.

Regression adjustment of an A/B test (CUPED/CUPAC) needs, for every exposed lead, a score the
treatment cannot have moved; the predictor returns it as ``control_probability`` in sticky
experiments. Existing predictions keep their data and have no covariate (NULL).

Revision ID: 0003_i20
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_i20"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("covariate", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("covariate")
