"""The event store's schema (Alembic) and the ``leadscore collector`` command line."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, select, text

from leadscore.cli.main import main
from leadscore.collector.cloudevents import parse_event
from leadscore.collector.feedback import parse_feedback
from leadscore.collector.ingest import record_event, record_feedback, record_outcomes
from leadscore.collector.outcomes import parse_outcomes
from leadscore.store.events import Base, EventStore, InferenceEvent, Outcome, open_store
from unit.collector.kserve_logger import headers, request_body, response_body, scored


@pytest.fixture
def store(store_url: str) -> Iterator[EventStore]:
    opened = open_store(store_url)
    yield opened
    opened.dispose()


def test_migrations_create_exactly_the_orm_schema(store: EventStore) -> None:
    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert differences == []


def _migrations() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", "leadscore.store:migrations")
    return config


def _head() -> str:
    """The one head revision the package ships (two heads would make this raise)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_migrations()).get_current_head()


def test_open_store_is_idempotent_and_records_the_head_revision(store_url: str, store: EventStore) -> None:
    again = open_store(store_url)
    try:
        with again.engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        assert versions == [_head()]
        assert set(inspect(again.engine).get_table_names()) >= {"inference_events", "predictions", "outcomes"}
    finally:
        again.dispose()


def test_migration_0002_rekeys_events_and_keeps_their_data(store_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    config = Config()
    config.set_main_option("script_location", "leadscore.store:migrations")
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0001")
            connection.execute(
                text("INSERT INTO inference_events (event_id, namespace, inference_service) VALUES ('e1', 'ns', 'm')")
            )
            command.upgrade(config, "head")
            keys = connection.execute(text("SELECT namespace, inference_service, event_id FROM inference_events"))
            assert keys.all() == [("ns", "m", "e1")]
            command.downgrade(config, "0001")
            assert connection.execute(text("SELECT event_id FROM inference_events")).scalars().all() == ["e1"]
    finally:
        engine.dispose()


def test_migration_0003_i18_gives_old_outcomes_the_one_namespace_that_scored_their_lead(store_url: str) -> None:
    """The documented rule (0003_i18's docstring, docs/collector.md) on a database the previous
    schema created: one namespace scored the lead -> that namespace; several or none -> "" (kept,
    named by no request); keys become unique per namespace."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    config = _migrations()
    scored = [("e1", 0, "L1", "a"), ("e2", 0, "L1", "a"), ("e3", 0, "L2", "a"), ("e4", 0, "L2", "b")]
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003_i20")
            for event_id, idx, lead_id, namespace in scored:
                connection.execute(text(
                    "INSERT INTO predictions (event_id, idx, lead_id, probability, model_version, namespace, "
                    "inference_service, predicted_at) VALUES (:e, :i, :l, 0.5, 'v1', :n, 'm', '2030-01-01 09:00:00')"),
                    {"e": event_id, "i": idx, "l": lead_id, "n": namespace})
            for key, lead_id in (("k1", "L1"), ("k2", "L2"), ("k3", "L3")):
                connection.execute(text(
                    "INSERT INTO outcomes (idempotency_key, lead_id, converted, value, occurred_at, received_at) "
                    "VALUES (:k, :l, :c, 10.0, '2030-01-02 09:00:00', '2030-01-02 09:00:00')"),
                    {"k": key, "l": lead_id, "c": True})
            command.upgrade(config, "0003_i18")
            moved = connection.execute(text("SELECT lead_id, namespace, model, converted, value FROM outcomes "
                                            "ORDER BY lead_id"))
            assert [tuple(r) for r in moved] == [("L1", "a", None, True, 10.0), ("L2", "", None, True, 10.0),
                                                 ("L3", "", None, True, 10.0)]
            connection.execute(text(  # another namespace may reuse a key now
                "INSERT INTO outcomes (idempotency_key, lead_id, converted, occurred_at, received_at, namespace) "
                "VALUES ('k1', 'L1', false, '2030-01-02 09:00:00', '2030-01-02 09:00:00', 'b')"))
            assert connection.execute(text("SELECT COUNT(*) FROM outcomes WHERE idempotency_key = 'k1'")) \
                .scalar_one() == 2
    finally:
        engine.dispose()


def test_migration_0003_adds_the_covariate_and_keeps_existing_predictions(store_url: str) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    config = Config()
    config.set_main_option("script_location", "leadscore.store:migrations")
    row = (
        "INSERT INTO predictions (event_id, idx, lead_id, probability, model_version, arm, experiment, namespace, "
        "inference_service, predicted_at) VALUES ('e1', 0, 'L1', 0.3, 'v1', 'control', 'ab', 'ns', 'm', "
        "'2030-01-01 09:00:00')"
    )
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0002")
            connection.execute(text(row))
            command.upgrade(config, "head")
            kept = connection.execute(text("SELECT lead_id, probability, arm, covariate FROM predictions"))
            assert kept.all() == [("L1", 0.3, "control", None)]
            connection.execute(text("UPDATE predictions SET covariate = 0.25"))
            assert connection.execute(text("SELECT covariate FROM predictions")).scalar_one() == 0.25
            command.downgrade(config, "0002")
            assert connection.execute(text("SELECT lead_id FROM predictions")).scalars().all() == ["L1"]
            assert "covariate" not in {c["name"] for c in inspect(connection).get_columns("predictions")}
    finally:
        engine.dispose()


def test_migration_0004_adds_contact_acceptance_and_sla_and_keeps_existing_rows(store_url: str) -> None:
    """A database the previous schema (0003_i18) created keeps its rows, which report none of
    the new fields; re-posting one of its outcomes after the upgrade stays a duplicate."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    config = _migrations()
    old = parse_outcomes({"lead_id": "L1", "converted": True, "value": 10.0, "occurred_at": "2026-01-02T09:00:00Z"})
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0003_i18")
            connection.execute(text(
                "INSERT INTO predictions (event_id, idx, lead_id, probability, tier, model_version, namespace, "
                "inference_service, predicted_at) VALUES ('e1', 0, 'L1', 0.9, 'high', 'v1', 'ns', 'm', "
                "'2030-01-01 09:00:00')"))
            connection.execute(text(
                "INSERT INTO outcomes (idempotency_key, namespace, lead_id, converted, value, occurred_at, "
                "received_at) VALUES (:k, 'ns', 'L1', :c, 10.0, '2026-01-02 09:00:00', '2026-01-02 09:00:00')"),
                {"k": old[0].key(), "c": True})
            command.upgrade(config, "0004")
            assert connection.execute(text("SELECT lead_id, tier, sla_seconds FROM predictions")).all() == [
                ("L1", "high", None)]
            assert connection.execute(text(
                "SELECT lead_id, converted, value, first_contacted_at, accepted FROM outcomes")).all() == [
                ("L1", True, 10.0, None, None)]
            command.downgrade(config, "0003_i18")
            assert "accepted" not in {c["name"] for c in inspect(connection).get_columns("outcomes")}
            assert connection.execute(text("SELECT lead_id FROM outcomes")).scalars().all() == ["L1"]
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    store = open_store(store_url)
    try:
        assert record_outcomes(store, "ns", old).duplicates == 1
    finally:
        store.dispose()


def test_migration_0005_adds_feedback_and_keeps_the_predictions_and_outcomes_of_0004(store_url: str) -> None:
    """A database the previous schema (0004) created, holding a prediction and an outcome, keeps
    both; feedback can be stored after the upgrade; downgrading drops only the feedback table."""
    from alembic import command
    from sqlalchemy import create_engine

    engine = create_engine(store_url)
    config = _migrations()
    old = parse_outcomes({"lead_id": "L1", "converted": True, "occurred_at": "2026-01-02T09:00:00Z",
                          "accepted": True})
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0004")
            connection.execute(text(
                "INSERT INTO predictions (event_id, idx, lead_id, probability, tier, model_version, namespace, "
                "inference_service, predicted_at, sla_seconds) VALUES ('e1', 0, 'L1', 0.9, 'high', 'v1', 'ns', "
                "'m', '2026-01-01 09:00:00', 1800)"))
            connection.execute(text(
                "INSERT INTO outcomes (idempotency_key, namespace, lead_id, converted, occurred_at, received_at, "
                "accepted) VALUES (:k, 'ns', 'L1', :c, '2026-01-02 09:00:00', '2026-01-02 09:00:00', :a)"),
                {"k": old[0].key(), "c": True, "a": True})
            assert "feedback" not in inspect(connection).get_table_names()
            command.upgrade(config, "0005")
            assert connection.execute(text("SELECT lead_id, tier, sla_seconds FROM predictions")).all() == [
                ("L1", "high", 1800.0)]
            assert connection.execute(text("SELECT lead_id, converted, accepted FROM outcomes")).all() == [
                ("L1", True, True)]
            assert connection.execute(text("SELECT COUNT(*) FROM feedback")).scalar_one() == 0
            command.downgrade(config, "0004")
            assert "feedback" not in inspect(connection).get_table_names()
            assert connection.execute(text("SELECT lead_id FROM outcomes")).scalars().all() == ["L1"]
            command.upgrade(config, "head")
    finally:
        engine.dispose()
    store = open_store(store_url)
    try:
        assert record_outcomes(store, "ns", old).duplicates == 1
        reports = parse_feedback({"lead_id": "L1", "action_type": "view", "interaction_duration": 320,
                                  "occurred_at": "2026-01-02T08:00:00Z"})
        assert record_feedback(store, "ns", reports).stored == 1
        assert record_feedback(store, "ns", reports).duplicates == 1
    finally:
        store.dispose()


def test_times_read_back_as_utc_whatever_zone_they_were_written_in(store: EventStore) -> None:
    eastern = datetime(2024, 1, 1, 7, 0, tzinfo=timezone(timedelta(hours=-5)))
    with store.transaction() as session:
        session.add(
            Outcome(
                idempotency_key="k", namespace="sales", lead_id="L1", converted=True, value=None,
                occurred_at=eastern, received_at=eastern,
            )
        )
    with store.transaction() as session:
        stored = session.scalars(select(Outcome)).one()
    assert stored.occurred_at == datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    assert stored.occurred_at.tzinfo is not None


def test_open_store_refuses_unknown_database_scheme() -> None:
    from leadscore.errors import ConfigError

    with pytest.raises(ConfigError, match=r"--db: cannot use database URL 'mysqlx://db'"):
        open_store("mysqlx://db")


def test_without_migrating_on_open_an_empty_database_is_refused_until_migrate_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'events.db'}"
    monkeypatch.setenv("LEADSCORE_DB_MIGRATE", "false")
    assert main(["collector", "--db", url, "prune"]) != 0
    assert (f"schema is at revision none (empty database), this version needs {_head()}; "
            "run `leadscore collector migrate`") in capsys.readouterr().err
    assert main(["collector", "--db", url, "migrate"]) == 0
    assert "event store schema is at head" in capsys.readouterr().out
    assert main(["collector", "--db", url, "prune"]) == 0  # at head: only checked, accepted
    assert "removed 0 unanswered requests" in capsys.readouterr().out


def test_migrate_on_open_refuses_a_value_that_is_not_a_boolean(monkeypatch: pytest.MonkeyPatch) -> None:
    from leadscore.errors import ConfigError
    from leadscore.store.events import migrate_on_open

    assert migrate_on_open() is True
    monkeypatch.setenv("LEADSCORE_DB_MIGRATE", "sometimes")
    with pytest.raises(ConfigError, match=r"LEADSCORE_DB_MIGRATE: Input should be a valid boolean, unable to "
                       r"interpret input \(got 'sometimes'\)"):
        migrate_on_open()


def _seed(store_url: str) -> None:
    store = open_store(store_url)
    try:
        for kind, body in (
            ("request", request_body("L1", "L2", "L3")),
            ("response", response_body(scored("L1"), scored("L2"), scored("L3"))),
        ):
            record_event(store, *parse_event(headers("cli-1", kind, time="2024-02-01T10:00:00Z"), body))
        record_outcomes(
            store,
            "sales",
            parse_outcomes(
                [
                    {"lead_id": "L1", "converted": True, "occurred_at": "2024-02-03T00:00:00Z"},
                    {"lead_id": "L2", "converted": False, "occurred_at": "2024-02-03T00:00:00Z"},
                ]
            ),
        )
    finally:
        store.dispose()


def test_cli_export_writes_labelled_leads_and_reports_what_it_left_out(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(store_url)
    output = tmp_path / "out" / "training.parquet"
    assert main(["collector", "export", "--since", "2024-02-01", "--output", str(output), "--db", store_url,
                 "--namespace", "sales"]) == 0
    assert capsys.readouterr().out.strip() == (
        f"wrote 2 leads (1 converted) to {output}; left out 1 without outcome, 0 without features"
    )
    frame = pd.read_parquet(output)
    assert list(frame.columns) == ["lead_id", "predicted_at", "source", "annual_income", "pages_viewed", "converted"]
    assert frame["predicted_at"].iloc[0] == pd.Timestamp("2024-02-01T10:00:00Z")
    assert frame.sort_values("lead_id")["converted"].tolist() == [1, 0]


def _seed_verticals(store_url: str, root: Path) -> None:
    """In namespace sales: pc-model v3 (a P&C card) scored P1, P2; health-model v3 (a health card)
    scored H1 and P2 (a colliding lead id, another model); pc-model v2, whose version retention
    deleted, scored P0. Every lead has an outcome."""
    store = open_store(store_url)
    try:
        for event_id, isvc, version, leads in (("e1", "pc-model", "v3", ("P1", "P2")),
                                                ("e2", "health-model", "v3", ("H1", "P2")),
                                                ("e3", "pc-model", "v2", ("P0",))):
            for kind, body in (("request", request_body(*leads)),
                               ("response", response_body(*(scored(i, version=version) for i in leads)))):
                raw = headers(event_id, kind, isvc=isvc, time="2024-02-01T10:00:00Z")
                record_event(store, *parse_event(raw, body))
        record_outcomes(store, "sales", parse_outcomes([
            {"lead_id": i, "converted": i != "P2", "occurred_at": "2024-02-03T00:00:00Z"}
            for i in ("P0", "P1", "P2", "H1")]))
    finally:
        store.dispose()
    for model, vertical in (("pc-model", "pc"), ("health-model", "health")):
        card = root / "sales" / model / "v3" / "model_card.json"
        card.parent.mkdir(parents=True)
        card.write_text(f'{{"version": "v3", "vertical": "{vertical}"}}')


def test_cli_export_by_vertical_keeps_the_leads_of_versions_trained_for_it(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "artifacts"
    _seed_verticals(store_url, root)
    output = tmp_path / "pc.parquet"
    assert main(["collector", "export", "--since", "2024-02-01", "--output", str(output), "--db", store_url,
                 "--namespace", "sales", "--vertical", "pc", "--artifact-root", str(root)]) == 0
    assert capsys.readouterr().out.strip().endswith(
        "the leads of health-model/v3, pc-model/v2 (another vertical or no model card)")
    frame = pd.read_parquet(output)
    assert sorted(zip(frame["lead_id"], frame["converted"], strict=True)) == [("P1", 1), ("P2", 0)]
    assert main(["collector", "export", "--since", "2024-02-01", "--output", str(output), "--db", store_url,
                 "--namespace", "sales", "--vertical", "health", "--artifact-root", str(root)]) == 0
    frame = pd.read_parquet(output)
    assert sorted(zip(frame["lead_id"], frame["converted"], strict=True)) == [("H1", 1), ("P2", 0)]


def test_cli_export_by_vertical_needs_the_artifact_root_and_a_known_vertical(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEADSCORE_ARTIFACT_ROOT", raising=False)
    _seed_verticals(store_url, tmp_path / "artifacts")
    base = ["collector", "export", "--since", "2024-02-01", "--output", str(tmp_path / "x.parquet"),
            "--db", store_url, "--namespace", "sales"]
    assert main([*base, "--vertical", "pc"]) == 2
    assert "--artifact-root: required with --vertical" in capsys.readouterr().err
    assert main([*base, "--vertical", "auto"]) == 2
    assert "'--vertical': Value error, 'auto' is not one of 'pc', 'health', 'commercial', 'generic'" \
        in capsys.readouterr().err
    assert main([*base, "--vertical", "commercial", "--artifact-root", str(tmp_path / "artifacts")]) == 3
    assert "--vertical commercial (other or unknown vertical: health-model/v3, pc-model/v2, pc-model/v3)" \
        in capsys.readouterr().err


def test_cli_export_fails_with_dataset_error_when_nothing_is_recent_enough(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(store_url)
    code = main(
        [
            "collector",
            "export",
            "--since",
            "2024-02-01T10:00:01+00:00",
            "--output",
            str(tmp_path / "x.parquet"),
            "--db",
            store_url,
            "--namespace",
            "sales",
        ]
    )
    assert code == 3
    assert capsys.readouterr().err.startswith(
        "error: --since 2024-02-01T10:00:01+00:00, --namespace sales: no scored lead")
    assert not (tmp_path / "x.parquet").exists()


def test_cli_export_refuses_a_since_that_is_not_a_date(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["collector", "export", "--since", "last week", "--output", str(tmp_path / "x.parquet"),
                 "--namespace", "sales"])
    assert code == 2
    assert "--since: expected a date like 2026-01-31, an ISO timestamp or an age like 180d, got 'last week'" in (
        capsys.readouterr().err
    )


def test_cli_export_reads_an_age_as_that_long_before_now(store_url: str, tmp_path: Path) -> None:
    from leadscore.cli.times import parse_time

    now = datetime(2024, 6, 1, tzinfo=UTC)
    assert parse_time("180d", "--since", now) == now - timedelta(days=180)
    assert parse_time("1d12h", "--since", now) == now - timedelta(hours=36)
    _seed(store_url)  # scored on 2024-02-01: an age reaching back past it finds them
    age = (datetime.now(UTC) - datetime(2024, 1, 1, tzinfo=UTC)).days
    output = tmp_path / "x.parquet"
    assert main(["collector", "--db", store_url, "export", "--since", f"{age}d", "--output", str(output),
                 "--namespace", "sales"]) == 0
    assert len(pd.read_parquet(output)) == 2


def test_cli_export_uses_the_group_db_option_when_given_before_the_command(store_url: str, tmp_path: Path) -> None:
    _seed(store_url)
    output = tmp_path / "training.parquet"
    assert main(["collector", "--db", store_url, "export", "--since", "2024-01-01", "--output", str(output),
                 "--namespace", "sales"]) == 0
    assert len(pd.read_parquet(output)) == 2


def test_cli_prune_forgets_only_old_requests_without_response(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(store_url)
    old = datetime.now(UTC) - timedelta(days=10)
    try:
        for event_id, kind in (("orphan", "request"), ("paired", "request"), ("paired", "response")):
            body = request_body("L1") if kind == "request" else response_body(scored("L1"))
            record_event(store, *parse_event(headers(event_id, kind), body), old)
        record_event(store, *parse_event(headers("fresh", "request"), request_body("L2")))
    finally:
        store.dispose()
    assert main(["collector", "prune", "--older-than-days", "7", "--db", store_url]) == 0
    assert capsys.readouterr().out.startswith("removed 1 unanswered requests logged before ")
    store = open_store(store_url)
    try:
        with store.transaction() as session:
            left = session.scalars(select(InferenceEvent.event_id).order_by(InferenceEvent.event_id)).all()
    finally:
        store.dispose()
    assert left == ["fresh", "paired"]


def test_cli_prune_with_retention_forgets_predictions_outcomes_and_events_older_than_it(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from leadscore.store.events import Prediction

    store = open_store(store_url)
    now = datetime.now(UTC)
    try:
        for event_id, lead_id, age in (("old", "L-old", 200), ("new", "L-new", 10)):
            for kind in ("request", "response"):
                body = request_body(lead_id) if kind == "request" else response_body(scored(lead_id))
                record_event(store, *parse_event(headers(event_id, kind), body), now - timedelta(days=age))
        record_outcomes(store, "sales", parse_outcomes([
            {"lead_id": "L-old", "converted": True, "occurred_at": (now - timedelta(days=190)).isoformat()},
            {"lead_id": "L-new", "converted": True, "occurred_at": (now - timedelta(days=5)).isoformat()},
        ]))
    finally:
        store.dispose()
    assert main(["collector", "prune", "--retention-days", "180", "--db", store_url]) == 0
    assert ("removed 1 predictions, 1 outcomes, 0 feedback and 1 logged events older than 180 days"
            in capsys.readouterr().out)
    store = open_store(store_url)
    try:
        with store.transaction() as session:
            kept = (session.scalars(select(Prediction.lead_id)).all(), session.scalars(select(Outcome.lead_id)).all(),
                    session.scalars(select(InferenceEvent.event_id)).all())
    finally:
        store.dispose()
    assert kept == (["L-new"], ["L-new"], ["new"])


def test_open_store_reads_plain_postgresql_urls_with_psycopg_3() -> None:
    from leadscore.errors import StorageError

    with pytest.raises(
        StorageError, match=r"cannot open event store postgresql\+psycopg://nobody:\*\*\*@127.0.0.1:1/x"
    ):
        open_store("postgresql://nobody:secret@127.0.0.1:1/x")
