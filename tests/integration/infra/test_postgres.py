"""The PostgreSQL fixtures give a real server that keeps what it is told."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.integration


def test_postgres_url_round_trips_rows_when_written_and_read_back(postgres_url: str) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE infra_round_trip (id int PRIMARY KEY, name text)"))
            conn.execute(sa.text("INSERT INTO infra_round_trip VALUES (1, 'lead-1'), (2, 'lead-2')"))
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, name FROM infra_round_trip ORDER BY id")).all()
            version = conn.execute(sa.text("SHOW server_version")).scalar_one()
        assert [tuple(r) for r in rows] == [(1, "lead-1"), (2, "lead-2")]
        assert version.split(".")[0].isdigit()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS infra_round_trip"))
        engine.dispose()


def test_postgres_database_is_empty_when_given_to_a_test(postgres_database: str) -> None:
    engine = sa.create_engine(postgres_database)
    try:
        with engine.connect() as conn:
            tables = conn.execute(sa.text(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'")).scalar_one()
            name = conn.execute(sa.text("SELECT current_database()")).scalar_one()
        assert tables == 0
        assert name.startswith("test_")
    finally:
        engine.dispose()


def test_postgres_refuses_a_wrong_password_when_connecting_over_tcp(postgres_url: str) -> None:
    wrong = sa.engine.make_url(postgres_url).set(password="not-the-password")
    engine = sa.create_engine(wrong)
    try:
        with pytest.raises(sa.exc.OperationalError, match="password authentication failed"):
            engine.connect()
    finally:
        engine.dispose()
