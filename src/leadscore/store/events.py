"""Event store: predictions logged by KServe's inference logger and outcomes reported by CRMs.

One schema, two databases: PostgreSQL in a cluster, a SQLite file as the embedded default.
The schema is owned by Alembic (``leadscore/store/migrations``) and upgraded to head every
time a store is opened, so a new collector version never runs against an old schema. Where a
deployment migrates once instead (the Helm chart's migration hook runs ``leadscore collector
migrate``), ``LEADSCORE_DB_MIGRATE=false`` makes opening only check that the schema is at head.

Everything that must be idempotent is an insert that ignores conflicts on a natural key
(``(namespace, inference_service, event_id, idx)`` for predictions, ``(namespace,
idempotency_key)`` for outcomes): re-delivery by the logger or a CRM retry is then a no-op
without a read-before-write race.

Tenants never mix: an outcome belongs to a namespace (and optionally a model, the inference
service's name) and only ever meets predictions of that namespace (and model), so two teams
whose CRMs both number leads ``12345`` see their own conversions only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from typing import Any, NamedTuple, TypeVar

from pydantic import Field
from pydantic_settings import SettingsConfigDict
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    DateTime,
    Delete,
    Dialect,
    Engine,
    Float,
    Index,
    Integer,
    String,
    TypeDecorator,
    UniqueConstraint,
    and_,
    case,
    create_engine,
    delete,
    distinct,
    event,
    false,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from leadscore.errors import ConfigError, StorageError
from leadscore.settings import EnvSettings

DEFAULT_DB_URL = "sqlite:///leadscore-events.db"


class StoreSettings(EnvSettings):
    """``LEADSCORE_DB_URL`` and ``LEADSCORE_DB_MIGRATE``; an empty variable counts as unset."""

    model_config = SettingsConfigDict(env_ignore_empty=True)

    db_url: str = Field(DEFAULT_DB_URL, min_length=1, description="SQLAlchemy URL of the event store.")
    db_migrate: bool = Field(True, description="Upgrade the schema on open (false: only check that it is at head).")


MIGRATE_ENV = StoreSettings.variable("db_migrate")

_ID = BigInteger().with_variant(Integer, "sqlite")
R = TypeVar("R")  # SQLite only auto-increments INTEGER keys




def migrate_on_open() -> bool:
    """``$LEADSCORE_DB_MIGRATE``: true (the default) upgrades the schema on open, false only checks it."""
    return StoreSettings.from_env().db_migrate


def default_url() -> str:
    """``$LEADSCORE_DB_URL``, else a SQLite file in the working directory."""
    return StoreSettings.from_env().db_url


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always read back timezone-aware.

    SQLite has no time zones and hands back naive values; without this, comparing an
    outcome's time with a prediction's would raise on one database and work on the other.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        utc = aware.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of the event store; Alembic's env reads its metadata."""


class InferenceEvent(Base):
    """One logged inference (one ``ce-id``): its request and response halves as they arrive.

    The row is the rendezvous point of the two halves, which the logger sends
    independently and in either order; it is also locked while a half is recorded, so the
    second half always sees the first. Keyed by service as well as ``ce-id``: KServe reuses
    a caller's ``Ce-Id`` header, and a caller may send the same one to two models.
    """

    __tablename__ = "inference_events"

    namespace: Mapped[str] = mapped_column(String(253), primary_key=True)
    inference_service: Mapped[str] = mapped_column(String(253), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_instances: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    request_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    response_received_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Prediction(Base):
    """One scored lead: what the model said, to whom, in which arm of which experiment."""

    __tablename__ = "predictions"
    __table_args__ = (
        UniqueConstraint("namespace", "inference_service", "event_id", "idx", name="uq_predictions_event_idx"),
        Index("ix_predictions_experiment", "namespace", "experiment"),
        Index("ix_predictions_predicted_at", "predicted_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(255))
    idx: Mapped[int] = mapped_column(Integer)
    lead_id: Mapped[str] = mapped_column(String(255), index=True)
    features: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True), nullable=True)
    probability: Mapped[float] = mapped_column(Float)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    tier: Mapped[str | None] = mapped_column(String(32), nullable=True)
    action: Mapped[str | None] = mapped_column(String(64), nullable=True)
    model_version: Mapped[str] = mapped_column(String(128))
    arm: Mapped[str | None] = mapped_column(String(63), nullable=True)
    experiment: Mapped[str | None] = mapped_column(String(253), nullable=True)
    namespace: Mapped[str] = mapped_column(String(253))
    inference_service: Mapped[str] = mapped_column(String(253))
    predicted_at: Mapped[datetime] = mapped_column(UTCDateTime)
    covariate: Mapped[float | None] = mapped_column(Float, nullable=True)
    """The control arm's probability for this lead (sticky experiments): the pre-treatment covariate."""
    sla_seconds: Mapped[float | None] = mapped_column(Float, nullable=True)
    """The contact deadline the response gave the lead's tier, in seconds (None: none given)."""


class Outcome(Base):
    """One CRM report about a lead of one namespace (and, when ``model`` is set, of one model);
    joined to that namespace's predictions by ``lead_id`` at query time (``_matches``)."""

    __tablename__ = "outcomes"
    __table_args__ = (
        UniqueConstraint("namespace", "idempotency_key", name="uq_outcomes_namespace_key"),
        Index("ix_outcomes_namespace_lead", "namespace", "lead_id"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    namespace: Mapped[str] = mapped_column(String(253))
    model: Mapped[str | None] = mapped_column(String(253), nullable=True)
    lead_id: Mapped[str] = mapped_column(String(255))
    converted: Mapped[bool] = mapped_column(Boolean)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    first_contacted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    accepted: Mapped[bool | None] = mapped_column(Boolean, nullable=True)


class Feedback(Base):
    """One thing a user did with a lead of one namespace (and, when ``model`` is set, of one
    model): an explicit report or one interaction of an implicit session (``source``)."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("namespace", "idempotency_key", name="uq_feedback_namespace_key"),
        Index("ix_feedback_namespace_lead", "namespace", "lead_id"),
        Index("ix_feedback_namespace_occurred_at", "namespace", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(255))
    namespace: Mapped[str] = mapped_column(String(253))
    model: Mapped[str | None] = mapped_column(String(253), nullable=True)
    lead_id: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(16))
    action_type: Mapped[str] = mapped_column(String(32))
    user_rating: Mapped[float | None] = mapped_column(Float, nullable=True)
    interaction_duration: Mapped[float | None] = mapped_column(Float, nullable=True)
    contact_successful: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    conversion_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    session_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class EventStore:
    """An engine whose schema is at head, and the session factory bound to it."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole, or rolled back whole if anything raises."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets the summary read while events are written; the busy timeout queues writers.

    ``synchronous`` stays at its default (FULL): a 200 for an outcome means it survives a
    power cut, which NORMAL would not promise in WAL mode.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def open_store(url: str, migrate: bool = True) -> EventStore:
    """Connect to ``url``, upgrade its schema to head (or, with ``migrate`` false, refuse a
    schema that is not at head), and return the store."""
    try:
        parsed = make_url(url)
        if parsed.drivername in ("postgresql", "postgres"):
            # Plain postgresql:// would pick psycopg2, which no leadscore image carries.
            parsed = parsed.set(drivername="postgresql+psycopg")
        is_sqlite = parsed.get_backend_name() == "sqlite"
        engine = create_engine(
            parsed,
            pool_pre_ping=not is_sqlite,
            connect_args={"timeout": 30, "check_same_thread": False} if is_sqlite else {},
        )
    except (ArgumentError, NoSuchModuleError) as exc:
        raise ConfigError(f"--db: cannot use database URL {url!r}: {exc}") from exc
    if is_sqlite:
        event.listen(engine, "connect", _sqlite_pragmas)
    try:
        if migrate:
            upgrade_schema(engine)
        else:
            check_schema(engine)
    except OperationalError as exc:
        engine.dispose()
        reason = " ".join(str(exc.orig).split())  # drivers write several lines; errors are one
        raise StorageError(f"cannot open event store {parsed.render_as_string()}: {reason}") from exc
    return EventStore(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("leadscore.store") / "migrations"))
    return config


def check_schema(engine: Engine) -> None:
    """Refuse a database whose schema is not the head revision this version ships."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        engine.dispose()
        raise StorageError(
            f"event store schema is at revision {current or 'none (empty database)'}, this version needs {head}; "
            f"run `leadscore collector migrate` (the chart's migration hook) or set {MIGRATE_ENV}=true"
        )


def upgrade_schema(engine: Engine) -> None:
    """Apply every Alembic migration shipped in the package that this database lacks."""
    from alembic import command

    config = _alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def _insert(session: Session, model: type[Base]) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT DO NOTHING."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise StorageError(f"event store: unsupported database {dialect!r}; use PostgreSQL or SQLite")


def insert_new(session: Session, model: type[Prediction] | type[Outcome] | type[Feedback],
               rows: Sequence[dict[str, Any]]) -> int:
    """Insert ``rows``, silently skipping those whose natural key exists; returns how many were new."""
    if not rows:
        return 0
    statement = _insert(session, model).on_conflict_do_nothing().returning(model.id)
    return len(session.execute(statement, list(rows)).all())


def outcome_keys(session: Session, namespace: str, lead_ids: Sequence[str],
                 key_prefix: str) -> dict[tuple[str, datetime], str]:
    """(lead, occurred_at) -> key of ``namespace``'s stored outcomes of ``lead_ids`` whose key
    starts with ``key_prefix`` (the derived keys of outcomes sent without one)."""
    if not lead_ids:
        return {}
    rows = session.execute(
        select(Outcome.lead_id, Outcome.occurred_at, Outcome.idempotency_key).where(
            Outcome.namespace == namespace, Outcome.lead_id.in_(sorted(set(lead_ids))),
            Outcome.idempotency_key.startswith(key_prefix),
        )
    ).all()
    return {(lead, when): key for lead, when, key in rows}


class EventKey(NamedTuple):
    """What identifies one logged inference: its service and its ``ce-id``."""

    namespace: str
    inference_service: str
    event_id: str


def _of_event(model: type[InferenceEvent] | type[Prediction], key: EventKey) -> list[ColumnElement[bool]]:
    return [
        model.namespace == key.namespace,
        model.inference_service == key.inference_service,
        model.event_id == key.event_id,
    ]


def claim_event(session: Session, key: EventKey) -> InferenceEvent:
    """The event's row, created if new and locked for the rest of the transaction.

    Both halves of an inference go through here first: PostgreSQL makes the second
    INSERT wait for the first transaction and ``FOR UPDATE`` serialises the rest; SQLite
    takes its database write lock on the INSERT. Either way the later half sees the earlier.
    """
    session.execute(_insert(session, InferenceEvent).values(**key._asdict()).on_conflict_do_nothing())
    return session.execute(select(InferenceEvent).where(*_of_event(InferenceEvent, key)).with_for_update()).scalar_one()


def _deleted(session: Session, statement: Delete) -> int:
    """How many rows a DELETE removed: the rowcount of its cursor result (0 when the driver has none)."""
    result = session.execute(statement)
    if not isinstance(result, CursorResult):
        raise TypeError(f"a DELETE gave a {type(result).__name__}, not a CursorResult")
    return int(result.rowcount or 0)


def prune_unanswered(session: Session, before: datetime) -> int:
    """Forget logged requests that never got a response (the predictor refused them), older than ``before``.

    KServe logs a response only for HTTP 200, so every refused request leaves its half behind.
    """
    return _deleted(session, delete(InferenceEvent).where(
        InferenceEvent.response_received_at.is_(None), InferenceEvent.request_received_at < before))


def predictions_without_features(session: Session, key: EventKey) -> list[tuple[int, str]]:
    """(idx, lead_id) of an event's predictions that still wait for their request's features."""
    rows = session.execute(
        select(Prediction.idx, Prediction.lead_id)
        .where(*_of_event(Prediction, key), Prediction.features.is_(None))
        .order_by(Prediction.idx)
    ).all()
    return [(idx, lead_id) for idx, lead_id in rows]


class Pruned(NamedTuple):
    predictions: int
    outcomes: int
    events: int
    feedback: int = 0


def prune_older_than(session: Session, before: datetime) -> Pruned:
    """Retention: forget predictions made, outcomes and feedback that occurred, and logged halves
    received before ``before`` (each lead record lives on its prediction or its pending event row)."""
    predictions = _deleted(session, delete(Prediction).where(Prediction.predicted_at < before))
    outcomes = _deleted(session, delete(Outcome).where(Outcome.occurred_at < before))
    feedback = _deleted(session, delete(Feedback).where(Feedback.occurred_at < before))
    events = _deleted(session, delete(InferenceEvent).where(
        func.coalesce(InferenceEvent.response_received_at, InferenceEvent.request_received_at) < before))
    return Pruned(predictions, outcomes, events, feedback)



def fill_features(session: Session, key: EventKey, features: Mapping[int, dict[str, Any]]) -> int:
    """Attach request instances (by prediction ``idx``) to an event logged response-first."""
    ids = session.execute(
        select(Prediction.id, Prediction.idx).where(*_of_event(Prediction, key), Prediction.features.is_(None))
    ).all()
    changes = [{"id": pid, "features": features[idx]} for pid, idx in ids if idx in features]
    if changes:
        session.execute(update(Prediction), changes)
    return len(changes)


# Read paths select plain columns, not ORM entities: the summary and the export touch every
# prediction of an experiment, and entity loading was most of their time at 100k leads.


class ExposureRow(NamedTuple):
    lead_id: str
    arm: str | None
    model_version: str
    predicted_at: datetime
    covariate: float | None
    score: float | None


class ScoredRow(NamedTuple):
    lead_id: str
    features: dict[str, Any] | None
    predicted_at: datetime
    inference_service: str


class OutcomeRow(NamedTuple):
    lead_id: str
    converted: bool
    value: float | None
    occurred_at: datetime
    first_contacted_at: datetime | None
    accepted: bool | None


def in_experiment(namespace: str, experiment: str) -> list[ColumnElement[bool]]:
    """Predictions tagged with one experiment (sticky splits: the predictor names the arm)."""
    return [Prediction.namespace == namespace, Prediction.experiment == experiment]


def in_service(namespace: str, service: str, versions: list[str], since: datetime) -> list[ColumnElement[bool]]:
    """Predictions one inference service made with one of ``versions`` at or after ``since``."""
    return [
        Prediction.namespace == namespace,
        Prediction.inference_service == service,
        Prediction.model_version.in_(versions),
        Prediction.predicted_at >= since,
    ]


def _outcome_rows(session: Session, *which: ColumnElement[bool]) -> list[OutcomeRow]:
    """The outcomes ``which`` selects, oldest first."""
    rows = session.execute(
        select(Outcome.lead_id, Outcome.converted, Outcome.value, Outcome.occurred_at, Outcome.first_contacted_at,
               Outcome.accepted)
        .where(*which)
        .order_by(Outcome.occurred_at, Outcome.id)
    )
    return [OutcomeRow(*row) for row in rows]


def _model_matches(model: ColumnElement[str] | str) -> ColumnElement[bool]:
    """An outcome that names no model counts for every model of its namespace; one that does, for that one."""
    return or_(Outcome.model.is_(None), Outcome.model == model)


def _outcomes_of(session: Session, *prediction_filter: ColumnElement[bool]) -> list[OutcomeRow]:
    """Outcomes of the leads the filtered predictions scored, oldest first: same lead id, same
    namespace, and the same model when the outcome names one (joined in the database)."""
    # One uncorrelated set of scored leads, joined once: a correlated EXISTS per outcome made
    # SQLite (no statistics) walk the experiment index, the whole experiment per outcome, so
    # 45,000 outcomes (make demo) took minutes instead of a fraction of a second.
    scored = (select(Prediction.lead_id, Prediction.namespace, Prediction.inference_service)
              .where(*prediction_filter).distinct().subquery())
    matched = select(Outcome.id).join(scored, and_(
        scored.c.lead_id == Outcome.lead_id,
        scored.c.namespace == Outcome.namespace,
        _model_matches(scored.c.inference_service),
    ))
    return _outcome_rows(session, Outcome.id.in_(matched))


def _predictions(session: Session, row: Callable[..., R], columns: Sequence[Any],
                 where: list[ColumnElement[bool]]) -> list[R]:
    """``columns`` of the predictions ``where`` selects, oldest first, each made into a ``row``."""
    rows = session.execute(select(*columns).where(*where).order_by(Prediction.predicted_at, Prediction.id))
    return [row(*values) for values in rows]


def exposures(session: Session, where: list[ColumnElement[bool]]) -> list[ExposureRow]:
    """The predictions ``where`` selects (``in_experiment``, ``in_service``), oldest first."""
    columns = (Prediction.lead_id, Prediction.arm, Prediction.model_version, Prediction.predicted_at,
               Prediction.covariate, Prediction.score)
    return _predictions(session, ExposureRow, columns, where)


def exposure_outcomes(session: Session, where: list[ColumnElement[bool]]) -> list[OutcomeRow]:
    """Outcomes of the leads those predictions scored, whenever they occurred."""
    return _outcomes_of(session, *where)


def in_scope(namespace: str, model: str | None = None) -> list[ColumnElement[bool]]:
    """Predictions of one namespace, and of one model (inference service) when given."""
    where = [Prediction.namespace == namespace]
    if model is not None:
        where.append(Prediction.inference_service == model)
    return where


def of_versions(versions: Iterable[tuple[str, str]]) -> ColumnElement[bool]:
    """Predictions made by one of ``versions`` (``(inference service, model version)`` pairs)."""
    return or_(false(), *(and_(Prediction.inference_service == service, Prediction.model_version == version)
                          for service, version in versions))


def versions_since(session: Session, since: datetime, scope: list[ColumnElement[bool]]) -> list[tuple[str, str]]:
    """The ``(inference service, model version)`` pairs that made the predictions ``scope`` selects since ``since``."""
    rows = session.execute(select(Prediction.inference_service, Prediction.model_version).distinct()
                           .where(Prediction.predicted_at >= since, *scope)
                           .order_by(Prediction.inference_service, Prediction.model_version))
    return [(service, version) for service, version in rows]


def scored_since(session: Session, since: datetime, scope: list[ColumnElement[bool]]) -> list[ScoredRow]:
    """Predictions ``scope`` selects made at or after ``since``, oldest first (the export's input)."""
    rows = session.execute(
        select(Prediction.lead_id, Prediction.features, Prediction.predicted_at, Prediction.inference_service)
        .where(Prediction.predicted_at >= since, *scope)
        .order_by(Prediction.predicted_at, Prediction.id)
    )
    return [ScoredRow._make(row) for row in rows]


def outcomes_since(session: Session, since: datetime, scope: list[ColumnElement[bool]]) -> list[OutcomeRow]:
    """Outcomes of the leads ``scope`` scored at or after ``since``, whenever they occurred."""
    return _outcomes_of(session, Prediction.predicted_at >= since, *scope)


def tier_counts(session: Session, namespace: str, service: str, since: datetime) -> list[tuple[str, int, int]]:
    """(tier, distinct leads, distinct leads with a converted outcome at or after their score) of
    the predictions one inference service made at or after ``since``; aggregated in the database."""
    converted = (
        select(Outcome.id)
        .where(Outcome.namespace == Prediction.namespace, Outcome.lead_id == Prediction.lead_id,
               Outcome.converted.is_(True),
               Outcome.occurred_at >= Prediction.predicted_at)
        .exists()
    )
    tier = func.coalesce(Prediction.tier, "")
    rows = session.execute(
        select(tier, func.count(distinct(Prediction.lead_id)),
               func.count(distinct(case((converted, Prediction.lead_id)))))
        .where(Prediction.namespace == namespace, Prediction.inference_service == service,
               Prediction.predicted_at >= since)
        .group_by(tier)
    )
    return [(str(name), int(leads), int(conversions)) for name, leads, conversions in rows]


class LeadScoreRow(NamedTuple):
    predicted_at: datetime
    namespace: str
    inference_service: str
    model_version: str
    probability: float
    score: float | None
    tier: str | None
    action: str | None
    arm: str | None
    experiment: str | None


def lead_scores(session: Session, scope: list[ColumnElement[bool]], lead_id: str, limit: int) -> list[LeadScoreRow]:
    """One lead's most recent ``limit`` predictions within ``scope`` (``in_scope``), newest first."""
    rows = session.execute(
        select(Prediction.predicted_at, Prediction.namespace, Prediction.inference_service, Prediction.model_version,
               Prediction.probability, Prediction.score, Prediction.tier, Prediction.action, Prediction.arm,
               Prediction.experiment)
        .where(Prediction.lead_id == lead_id, *scope)
        .order_by(Prediction.predicted_at.desc(), Prediction.id.desc())
        .limit(limit)
    )
    return [LeadScoreRow._make(row) for row in rows]


def lead_outcomes(session: Session, namespace: str, lead_id: str, model: str | None = None) -> list[OutcomeRow]:
    """Every outcome reported for one lead of ``namespace`` (for ``model``, when given), oldest first."""
    which = [Outcome.namespace == namespace, Outcome.lead_id == lead_id]
    if model is not None:
        which.append(_model_matches(model))
    return _outcome_rows(session, *which)


class ServedRow(NamedTuple):
    features: dict[str, Any] | None
    probability: float


def served_window(session: Session, where: list[ColumnElement[bool]]) -> list[ServedRow]:
    """What the predictions ``where`` selects were asked (request fields) and answered: the drift sample."""
    return _predictions(session, ServedRow, (Prediction.features, Prediction.probability), where)


class TieredRow(NamedTuple):
    lead_id: str
    probability: float
    tier: str | None
    predicted_at: datetime


def in_window(namespace: str, service: str, version: str, since: datetime,
              until: datetime) -> list[ColumnElement[bool]]:
    """Predictions one service's version made in [since, until)."""
    return [*in_service(namespace, service, [version], since), Prediction.predicted_at < until]


class DeadlineRow(NamedTuple):
    lead_id: str
    tier: str | None
    predicted_at: datetime
    sla_seconds: float | None


def deadlines(session: Session, where: list[ColumnElement[bool]]) -> list[DeadlineRow]:
    """The predictions ``where`` selects with their tier and its contact deadline, oldest first."""
    columns = (Prediction.lead_id, Prediction.tier, Prediction.predicted_at, Prediction.sla_seconds)
    return _predictions(session, DeadlineRow, columns, where)


def tiered(session: Session, where: list[ColumnElement[bool]]) -> list[TieredRow]:
    """The predictions ``where`` selects with their probability and tier, oldest first."""
    columns = (Prediction.lead_id, Prediction.probability, Prediction.tier, Prediction.predicted_at)
    return _predictions(session, TieredRow, columns, where)




class FeedbackRow(NamedTuple):
    lead_id: str
    source: str
    action_type: str
    user_rating: float | None
    interaction_duration: float | None
    contact_successful: bool | None
    occurred_at: datetime


_FEEDBACK_COLUMNS = (Feedback.lead_id, Feedback.source, Feedback.action_type, Feedback.user_rating,
                     Feedback.interaction_duration, Feedback.contact_successful, Feedback.occurred_at)


def _feedback_model_matches(model: ColumnElement[str] | str) -> ColumnElement[bool]:
    """Feedback that names no model counts for every model of its namespace, as outcomes do."""
    return or_(Feedback.model.is_(None), Feedback.model == model)


def feedback_between(session: Session, namespace: str, since: datetime, until: datetime,
                     model: str | None = None) -> list[FeedbackRow]:
    """``namespace``'s feedback (for ``model``, when given) that occurred in [since, until), oldest first."""
    which = [Feedback.namespace == namespace, Feedback.occurred_at >= since, Feedback.occurred_at < until]
    if model is not None:
        which.append(_feedback_model_matches(model))
    rows = session.execute(select(*_FEEDBACK_COLUMNS).where(*which).order_by(Feedback.occurred_at, Feedback.id))
    return [FeedbackRow(*row) for row in rows]


def lead_feedback(session: Session, namespace: str, lead_id: str, model: str | None = None) -> list[FeedbackRow]:
    """Every feedback row about one lead of ``namespace`` (for ``model``, when given), oldest first."""
    which = [Feedback.namespace == namespace, Feedback.lead_id == lead_id]
    if model is not None:
        which.append(_feedback_model_matches(model))
    rows = session.execute(select(*_FEEDBACK_COLUMNS).where(*which).order_by(Feedback.occurred_at, Feedback.id))
    return [FeedbackRow(*row) for row in rows]


def feedback_since(session: Session, since: datetime, scope: list[ColumnElement[bool]]) -> list[FeedbackRow]:
    """Feedback about the leads ``scope`` scored at or after ``since``, whenever it occurred
    (same lead id, namespace, and model when the feedback names one), oldest first."""
    scored = (select(Prediction.lead_id, Prediction.namespace, Prediction.inference_service)
              .where(Prediction.predicted_at >= since, *scope).distinct().subquery())
    matched = select(Feedback.id).join(scored, and_(
        scored.c.lead_id == Feedback.lead_id,
        scored.c.namespace == Feedback.namespace,
        _feedback_model_matches(scored.c.inference_service),
    ))
    rows = session.execute(select(*_FEEDBACK_COLUMNS).where(Feedback.id.in_(matched))
                           .order_by(Feedback.occurred_at, Feedback.id))
    return [FeedbackRow(*row) for row in rows]
