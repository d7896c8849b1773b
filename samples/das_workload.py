"""The traffic of one database: a time-ordered list of DAS records, each a list of labelled events.

A record is built from one "shape" (heartbeat only, a burst of one class, a whole session,
failed logins, rdsadmin housekeeping, ...). The first records of every stream walk through all
shapes once, so even a small sample covers every activity class; the rest are drawn at random.
Every event carries the activity class the generator meant it to have (None for heartbeats).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from das_engines import Engine, Instance, Session, Stmt

# Shape name -> weight in the random part of the stream. The first records of a stream take
# every shape once, in this order (most telling first, for small samples).
SHAPE_WEIGHTS = {
    "heartbeat": 10,
    "session": 14,
    "failed_logins": 6,
    "error": 6,
    "ddl": 6,
    "dml": 14,
    "read": 18,
    "other": 8,
    "admin": 8,
    "mixed_admin": 4,
    "connect": 3,
    "disconnect": 3,
}
TOUR = tuple(SHAPE_WEIGHTS)
BURST_LABELS = {"read": "READ", "dml": "DML", "ddl": "DDL", "other": "OTHER", "error": "ERROR"}
HEARTBEAT_AMONG_EVENTS = 0.1  # share of activity records that also carry a heartbeat


@dataclass(frozen=True)
class LabelledEvent:
    """A decrypted DAS event, its expected activity class (None: heartbeat) and its time."""

    event: dict
    label: str | None
    at: datetime


@dataclass(frozen=True)
class PlannedRecord:
    """The events of one DAS record, all from one instance."""

    at: datetime
    instance: Instance
    events: tuple[LabelledEvent, ...]

    @property
    def heartbeat_only(self) -> bool:
        """True when no event of the record is an activity."""
        return all(e.label is None for e in self.events)


class Clock:
    """Event times inside one record: a few hundred microseconds to tens of milliseconds apart."""

    def __init__(self, rng: random.Random, start: datetime) -> None:
        self.rng = rng
        self.now = start

    def tick(self) -> datetime:
        """The time of the next event."""
        at = self.now
        self.now += timedelta(microseconds=self.rng.randint(200, 40_000))
        return at


class Workload:
    """Plans the records of one engine's stream."""

    def __init__(self, engine: Engine, rng: random.Random,
                 events_per_record: int | None = None) -> None:
        self.engine = engine
        self.rng = rng
        # Benchmarks: every record holds exactly this many events (None: what the shape gives).
        self.events_per_record = events_per_record

    def plan(self, count: int, start: datetime, span: timedelta) -> list[PlannedRecord]:
        """`count` records spread evenly over [start, start + span], in time order."""
        shapes = list(TOUR[:count])
        names, weights = zip(*SHAPE_WEIGHTS.items())
        shapes += self.rng.choices(names, weights, k=count - len(shapes))
        step = span / count
        return [
            self.record(shape, start + step * i + step * self.rng.uniform(0, 0.8))
            for i, shape in enumerate(shapes)
        ]

    def record(self, shape: str, at: datetime) -> PlannedRecord:
        """One record of the given shape starting at `at`.

        With `events_per_record` N, shapes drawn at random follow the first one until the record
        holds N events, and the record is cut to exactly N (so only N = 1 gives heartbeat-only
        records; a cut may separate an Aurora MySQL MAIN event from its AUX event).
        """
        instance = self.engine.pick_instance()
        clock = Clock(self.rng, at)
        events = self.shape_events(shape, instance, clock)
        n = self.events_per_record
        if n is not None:
            names, weights = zip(*SHAPE_WEIGHTS.items())
            while len(events) < n:
                events += self.shape_events(self.rng.choices(names, weights)[0], instance, clock)
            events = events[:n]
        return PlannedRecord(at, instance, tuple(events))

    def shape_events(self, shape: str, instance: Instance, clock: Clock) -> list[LabelledEvent]:
        """The events of one shape; an activity shape sometimes carries a heartbeat too."""
        if shape == "heartbeat":
            return [self.heartbeat(instance, clock.tick())]
        events = self.activity(shape, instance, clock)
        if self.rng.random() < HEARTBEAT_AMONG_EVENTS:
            i = self.rng.randint(0, len(events))
            beat_at = events[i].at if i < len(events) else clock.tick()
            events.insert(i, self.heartbeat(instance, beat_at))
        return events

    def activity(self, shape: str, instance: Instance, clock: Clock) -> list[LabelledEvent]:
        """The activity events of a non-heartbeat shape."""
        if shape in BURST_LABELS:
            return self.burst(instance, clock, BURST_LABELS[shape])
        return getattr(self, f"shape_{shape}")(instance, clock)

    # Building blocks ---------------------------------------------------------------------------
    def heartbeat(self, instance: Instance, at: datetime) -> LabelledEvent:
        """A heartbeat, bare half of the time."""
        return LabelledEvent(self.engine.heartbeat(instance, at, self.rng.random() < 0.5), None, at)

    def app_session(self, instance: Instance) -> Session:
        """A session of a random application user."""
        return self.engine.new_session(instance, self.rng.choice(self.engine.app_users))

    def admin_session(self, instance: Instance) -> Session:
        """A session of the RDS housekeeping user (rdsadmin, RDSADMIN, rdsa)."""
        return self.engine.new_session(instance, self.engine.admin_user, admin=True)

    def connect(self, s: Session, clock: Clock) -> list[LabelledEvent]:
        """A successful login."""
        at = clock.tick()
        return [LabelledEvent(e, "CONNECT", at) for e in self.engine.connect(s, at)]

    def disconnect(self, s: Session, clock: Clock) -> list[LabelledEvent]:
        """A logout."""
        at = clock.tick()
        return [LabelledEvent(e, "DISCONNECT", at) for e in self.engine.disconnect(s, at)]

    def failed_login(self, s: Session, clock: Clock) -> list[LabelledEvent]:
        """A failed login attempt."""
        at = clock.tick()
        return [LabelledEvent(e, "AUTH_FAILURE", at) for e in self.engine.auth_failure(s, at)]

    def run(self, s: Session, stmt: Stmt, clock: Clock) -> list[LabelledEvent]:
        """One statement (two events for Aurora MySQL reads and CREATE)."""
        at = clock.tick()
        return [LabelledEvent(e, stmt.label, at) for e in self.engine.statement(s, stmt, at)]

    def run_some(self, s: Session, pool: list[Stmt], clock: Clock,
                 most: int) -> list[LabelledEvent]:
        """1..most statements drawn from `pool`."""
        events: list[LabelledEvent] = []
        for stmt in self.rng.choices(pool, k=self.rng.randint(1, most)):
            events += self.run(s, stmt, clock)
        return events

    # Shapes ------------------------------------------------------------------------------------
    def burst(self, instance: Instance, clock: Clock, label: str) -> list[LabelledEvent]:
        """1-4 statements of one class by one application user: a single-class record."""
        pool = self.engine.statements_for(label)
        return self.run_some(self.app_session(instance), pool, clock, 4)

    def shape_session(self, instance: Instance, clock: Clock) -> list[LabelledEvent]:
        """Connect, a few statements of any class, disconnect: a mixed record."""
        s = self.app_session(instance)
        events = self.connect(s, clock)
        events += self.run_some(s, list(self.engine.statements), clock, 4)
        return events + self.disconnect(s, clock)

    def shape_failed_logins(self, instance: Instance, clock: Clock) -> list[LabelledEvent]:
        """1-3 failed logins, sometimes followed by a successful one."""
        events: list[LabelledEvent] = []
        for _ in range(self.rng.randint(1, 3)):
            user = self.rng.choice(self.engine.intruders + self.engine.app_users)
            events += self.failed_login(self.engine.new_session(instance, user), clock)
        if self.rng.random() < 0.3:
            events += self.connect(self.app_session(instance), clock)
        return events

    def shape_connect(self, instance: Instance, clock: Clock) -> list[LabelledEvent]:
        """A lone successful login."""
        return self.connect(self.app_session(instance), clock)

    def shape_disconnect(self, instance: Instance, clock: Clock) -> list[LabelledEvent]:
        """A lone logout."""
        return self.disconnect(self.app_session(instance), clock)

    def shape_admin(self, instance: Instance, clock: Clock) -> list[LabelledEvent]:
        """RDS housekeeping: a few reads, or a whole short session."""
        s = self.admin_session(instance)
        pool = list(self.engine.admin_statements)
        if self.rng.random() < 0.5:
            return self.run_some(s, [st for st in pool if st.label == "READ"], clock, 3)
        return self.connect(s, clock) + self.run_some(s, pool, clock, 2) + self.disconnect(s, clock)

    def shape_mixed_admin(self, instance: Instance, clock: Clock) -> list[LabelledEvent]:
        """One application statement next to housekeeping statements, in either order (the
        record's class changes once the housekeeping user is excluded)."""
        app, admin = self.app_session(instance), self.admin_session(instance)
        stmt, pool = self.rng.choice(self.engine.statements), list(self.engine.admin_statements)
        if self.rng.random() < 0.5:
            return self.run_some(admin, pool, clock, 2) + self.run(app, stmt, clock)
        return self.run(app, stmt, clock) + self.run_some(admin, pool, clock, 2)
