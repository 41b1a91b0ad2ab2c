"""Alembic environment: runs on the connection ``upgrade_schema`` hands over.

The collector never shells out to ``alembic``; it calls ``command.upgrade`` with an open
connection in ``config.attributes``. Developers can still autogenerate a new revision
against a scratch database with ``sqlalchemy.url`` set in a Config of their own.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from leadscore.store.events import Base

config = context.config


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER most things
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as own_connection:
        _run(own_connection)
    engine.dispose()
