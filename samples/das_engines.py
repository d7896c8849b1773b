"""Decrypted Database Activity Streams events, one renderer per database engine.

Field sets, field order and value styles follow the decrypted examples of the AWS user guides
(awsdocs/amazon-aurora-user-guide and awsdocs/amazon-rds-user-guide,
doc_source/DBActivityStreams.Monitoring.md) and /work/shared/design/das-records.md §4:

* Aurora PostgreSQL: exitCode null on success, SQLSTATE string on error; `class` is the pgaudit
  class; timestamps "YYYY-MM-DD HH:MM:SS.ffffff+00".
* Aurora MySQL: exitCode is a string ("0", "" on AUX events, "1045" ...); a statement emits a
  MAIN event plus, for reads and CREATE, an AUX event; `class` is MAIN or AUX.
* RDS for Oracle: exitCode is the Oracle return code (int); `class` is the audit type;
  timestamps carry no offset (UTC); the payload has no clusterId.
* RDS for SQL Server: exitCode 1 = success, 0 = failure; 7 fractional digits + "+00";
  statementId is a hex string; clusterId is "".

Each engine also holds a catalogue of statements labelled with the activity class
das-records.md §5 gives them. The labels state the generator's intent; nothing here classifies.
"""

from __future__ import annotations

import itertools
import random
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta

ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


@dataclass(frozen=True)
class Stmt:
    """One statement of an engine's catalogue and the activity class it must get."""

    label: str  # the activity class: DDL, DML, READ, OTHER or ERROR
    sql: str  # commandText
    command: str  # the engine's `command`
    engine_class: str = ""  # the engine's `class`
    object_type: str | None = None
    object_name: str | None = None
    params: tuple[str, ...] = ()  # paramList (bind values)
    aux: str | None = None  # Aurora MySQL: the AUX command the statement also emits
    exit_code: int | str | None = None  # failure code in the engine's form; None: success
    error: str | None = None  # errorMessage of a failure

    @property
    def failed(self) -> bool:
        """True when the statement carries a failure code."""
        return self.exit_code is not None


@dataclass(frozen=True)
class Instance:
    """A DB instance that emits events: its DbiResourceId and server address."""

    instance_id: str
    server_host: str


@dataclass
class Session:
    """A client connection: who, from where, and its statement counter."""

    instance: Instance
    user: str
    database: str
    host: str
    port: int
    pid: int
    session_id: str | int
    client: str | None
    statement_id: int = 0

    def next_statement_id(self) -> int:
        """Advance and return the session's statement counter."""
        self.statement_id += 1
        return self.statement_id


def resource_id(rng: random.Random, prefix: str) -> str:
    """A DAS-style resource id such as "cluster-4HNY5V4RRNPKKYB7ICFKE5JBQQ"."""
    return prefix + "".join(rng.choice(ID_ALPHABET) for _ in range(26))


def private_ip(rng: random.Random) -> str:
    """A 10.0.x.y address."""
    return f"10.0.{rng.randint(0, 31)}.{rng.randint(2, 254)}"


class Engine(ABC):
    """Common state and helpers of the four engine renderers.

    Subclasses set the class attributes below and implement the abstract event methods.
    """

    name = ""
    version = ""
    server_type = ""
    aurora = False
    app_users: tuple[str, ...] = ()
    intruders: tuple[str, ...] = ()
    admin_user = ""
    admin_host: str | None = None
    databases: tuple[str, ...] = ()
    clients: tuple[str | None, ...] = ()
    statements: tuple[Stmt, ...] = ()
    admin_statements: tuple[Stmt, ...] = ()
    rds_cluster_id: str | None = ""  # clusterId of an RDS instance's payload (None: absent)

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        if self.aurora:  # a cluster with a writer and a reader
            self.resource_id = resource_id(rng, "cluster-")
            self.cluster_id: str | None = self.resource_id
            self.instances = tuple(
                Instance(resource_id(rng, "db-"), private_ip(rng)) for _ in range(2)
            )
        else:
            self.resource_id = resource_id(rng, "db-")
            self.cluster_id = self.rds_cluster_id
            self.instances = (Instance(self.resource_id, private_ip(rng)),)

    def payload(self, instance: Instance, events: list[dict]) -> dict:
        """The decrypted DAS record: `clusterId` is the cluster's id on Aurora, "" on RDS for
        SQL Server and absent on RDS for Oracle (as in the user guides' examples)."""
        body: dict = {"type": "DatabaseActivityMonitoringRecord"}
        if self.cluster_id is not None:
            body["clusterId"] = self.cluster_id
        body["instanceId"] = instance.instance_id
        body["databaseActivityEventList"] = events
        return body

    @property
    def context_key(self) -> str:
        """The KMS encryption-context key DAS uses for this kind of resource."""
        return "aws:rds:dbc-id" if self.aurora else "aws:rds:db-id"

    def pick_instance(self) -> Instance:
        """The writer most of the time, a reader now and then (Aurora clusters have two)."""
        if len(self.instances) > 1 and self.rng.random() < 0.2:
            return self.instances[1]
        return self.instances[0]

    def statements_for(self, label: str) -> list[Stmt]:
        """The application statements that must be classified as `label`."""
        return [s for s in self.statements if s.label == label]

    def new_session(self, instance: Instance, user: str, admin: bool = False) -> Session:
        """Open a session of `user` on `instance`."""
        rng = self.rng
        return Session(
            instance=instance,
            user=user,
            database=rng.choice(self.databases),
            host=self.admin_host if admin and self.admin_host else private_ip(rng),
            port=rng.randint(32768, 60999),
            pid=rng.randint(1000, 65000),
            session_id=self.session_id(),
            client=rng.choice(self.clients),
        )

    def row_count(self, stmt: Stmt) -> int | None:
        """Rows read or written by a successful read or DML statement; None otherwise."""
        if stmt.failed or stmt.label not in ("READ", "DML"):
            return None
        return self.rng.randint(0, 40)

    def heartbeat(self, instance: Instance, at: datetime, bare: bool) -> dict:
        """A heartbeat event: either `{"type":"heartbeat"}` or one with a few fields."""
        if bare:
            return {"type": "heartbeat"}
        return {
            "type": "heartbeat",
            "logTime": self.timestamp(at),
            "serverHost": instance.server_host,
            "serverType": self.server_type,
        }

    @abstractmethod
    def session_id(self) -> str | int:
        """A new sessionId in the engine's style."""

    @abstractmethod
    def timestamp(self, at: datetime) -> str:
        """A UTC time in the engine's logTime format."""

    @abstractmethod
    def connect(self, s: Session, at: datetime) -> list[dict]:
        """The events of a successful login."""

    @abstractmethod
    def disconnect(self, s: Session, at: datetime) -> list[dict]:
        """The events of a logout."""

    @abstractmethod
    def auth_failure(self, s: Session, at: datetime) -> list[dict]:
        """The events of a failed login attempt by `s.user`."""

    @abstractmethod
    def statement(self, s: Session, stmt: Stmt, at: datetime) -> list[dict]:
        """The events of one statement."""


def micro(at: datetime) -> str:
    """"YYYY-MM-DD HH:MM:SS.ffffff" of a UTC datetime."""
    return at.strftime("%Y-%m-%d %H:%M:%S.%f")


# --------------------------------------------------------------------------------------------
# Aurora PostgreSQL
# --------------------------------------------------------------------------------------------


def _pg(label, sql, command, cls, obj=(None, None), params=(), code=None, error=None) -> Stmt:
    """A PostgreSQL statement: `cls` is the pgaudit class, `obj` (objectType, objectName)."""
    return Stmt(label, sql, command, cls, obj[0], obj[1], tuple(params), None, code, error)


PG_STATEMENTS = (
    _pg("READ", "select * from orders where customer_id = $1", "SELECT", "READ",
        ("TABLE", "public.orders"), ["1042"]),
    _pg("READ", "WITH recent AS (SELECT id, total FROM orders WHERE created_at > now() - "
        "interval '1 day') SELECT count(*), sum(total) FROM recent", "SELECT", "READ",
        ("TABLE", "public.orders")),
    _pg("READ", "/* dashboard */ SELECT status, count(*) FROM orders GROUP BY status",
        "SELECT", "READ", ("TABLE", "public.orders")),
    _pg("READ", "-- nightly export\nCOPY orders TO STDOUT WITH (FORMAT csv)", "COPY", "READ",
        ("TABLE", "public.orders")),
    _pg("READ", "EXPLAIN SELECT * FROM customers WHERE email = 'ana@example.com'", "EXPLAIN",
        "MISC"),
    _pg("DML", "insert into orders (customer_id, total) values ($1, $2)", "INSERT", "WRITE",
        ("TABLE", "public.orders"), ["1042", "99.90"]),
    _pg("DML", "UPDATE customers SET last_login = now() WHERE id = $1", "UPDATE", "WRITE",
        ("TABLE", "public.customers"), ["1042"]),
    _pg("DML", "delete from cart_items where cart_id = 7781", "DELETE", "WRITE",
        ("TABLE", "public.cart_items")),
    _pg("DML", "EXPLAIN ANALYZE UPDATE orders SET status = 'shipped' WHERE id = 5531", "EXPLAIN",
        "MISC"),
    _pg("DML", "COPY staging_orders FROM STDIN WITH (FORMAT csv)", "COPY", "WRITE",
        ("TABLE", "public.staging_orders")),
    _pg("DML", "WITH moved AS (DELETE FROM cart_items WHERE created_at < now() - interval "
        "'30 days' RETURNING *) INSERT INTO cart_archive SELECT * FROM moved", "INSERT", "WRITE",
        ("TABLE", "public.cart_archive")),
    _pg("DDL", "create table audit_notes (id serial primary key, note text);", "CREATE TABLE",
        "DDL"),
    _pg("DDL", "ALTER TABLE orders ADD COLUMN coupon_code varchar(32)", "ALTER TABLE", "DDL",
        ("TABLE", "public.orders")),
    _pg("DDL", "DROP INDEX IF EXISTS orders_status_idx", "DROP INDEX", "DDL",
        ("INDEX", "public.orders_status_idx")),
    _pg("DDL", "GRANT SELECT ON orders TO reporting", "GRANT", "ROLE", ("TABLE", "public.orders")),
    _pg("DDL", "CREATE ROLE analyst NOLOGIN", "CREATE ROLE", "ROLE"),
    _pg("OTHER", "SET search_path TO app, public", "SET", "MISC"),
    _pg("OTHER", "BEGIN", "BEGIN", "MISC"),
    _pg("OTHER", "COMMIT", "COMMIT", "MISC"),
    _pg("OTHER", "VACUUM ANALYZE orders", "VACUUM", "MISC", ("TABLE", "public.orders")),
    _pg("OTHER", "CALL archive_old_orders(90)", "CALL", "FUNCTION",
        ("FUNCTION", "public.archive_old_orders")),
    _pg("OTHER", "DISCARD ALL", "DISCARD ALL", "MISC"),
    _pg("ERROR", "select * from order_itemz", "SELECT", "READ", code="42P01",
        error='ERROR: relation "order_itemz" does not exist'),
    _pg("ERROR", "selct * from orders", "UNKNOWN", "MISC", code="42601",
        error='ERROR: syntax error at or near "selct"'),
    _pg("ERROR", "INSERT INTO orders (id, customer_id) VALUES (1, 7)", "INSERT", "WRITE",
        ("TABLE", "public.orders"), code="23505",
        error='ERROR: duplicate key value violates unique constraint "orders_pkey"'),
)

PG_ADMIN_STATEMENTS = (
    _pg("READ", "select 1", "SELECT", "READ"),
    _pg("READ", "SELECT count(*) FROM pg_stat_activity", "SELECT", "READ",
        ("VIEW", "pg_catalog.pg_stat_activity")),
    _pg("OTHER", "SET statement_timeout = 0", "SET", "MISC"),
)


class PostgreSQL(Engine):
    """Aurora PostgreSQL (DAS record version 1.1)."""

    name = "postgresql"
    version = "1.1"
    aurora = True
    server_type = "PostgreSQL"
    app_users = ("app_user", "reporting", "alice", "etl")
    intruders = ("postgres", "admin", "bob")
    admin_user = "rdsadmin"
    databases = ("postgres", "shop")
    clients = ("psql", "PostgreSQL JDBC Driver", "pgAdmin 4 - CONN:4521", None)
    statements = PG_STATEMENTS
    admin_statements = PG_ADMIN_STATEMENTS

    def session_id(self) -> str:
        return f"{self.rng.getrandbits(32):08x}.{self.rng.getrandbits(16):x}"

    def timestamp(self, at: datetime) -> str:
        return micro(at) + "+00"

    def _event(self, s: Session, at: datetime, command: str, **fields) -> dict:
        event = {
            "startTime": self.timestamp(at - timedelta(microseconds=self.rng.randint(30, 90000))),
            "logTime": self.timestamp(at),
            "statementId": s.next_statement_id(),
            "substatementId": 1,
            "objectType": None,
            "command": command,
            "objectName": None,
            "databaseName": s.database,
            "dbUserName": s.user,
            "remoteHost": s.host,
            "remotePort": str(s.port),
            "sessionId": s.session_id,
            "rowCount": None,
            "commandText": None,
            "paramList": [],
            "pid": s.pid,
            "clientApplication": s.client,
            "exitCode": None,
            "class": "MISC",
            "serverVersion": "16.4.1",
            "serverType": self.server_type,
            "serviceName": "Amazon Aurora PostgreSQL-Compatible edition",
            "serverHost": s.instance.server_host,
            "netProtocol": "TCP",
            "dbProtocol": "Postgres 3.0",
            "type": "record",
            "errorMessage": None,
        }
        event.update(fields)
        return event

    def connect(self, s: Session, at: datetime) -> list[dict]:
        return [self._event(s, at, "CONNECT")]

    def disconnect(self, s: Session, at: datetime) -> list[dict]:
        return [self._event(s, at, "DISCONNECT", exitCode=0)]

    def auth_failure(self, s: Session, at: datetime) -> list[dict]:
        error = f'FATAL: password authentication failed for user "{s.user}"'
        return [self._event(s, at, "AUTH FAILURE", exitCode="28P01", errorMessage=error)]

    def statement(self, s: Session, stmt: Stmt, at: datetime) -> list[dict]:
        return [self._event(
            s, at, stmt.command,
            objectType=stmt.object_type, objectName=stmt.object_name,
            rowCount=self.row_count(stmt),
            commandText=stmt.sql, paramList=list(stmt.params), exitCode=stmt.exit_code,
            errorMessage=stmt.error, **{"class": stmt.engine_class},
        )]


# --------------------------------------------------------------------------------------------
# Aurora MySQL
# --------------------------------------------------------------------------------------------


def _my(label, sql, obj="", aux=None, code=None, error=None) -> Stmt:
    """A MySQL statement: always a MAIN QUERY; `aux` names the AUX event it also emits."""
    return Stmt(label, sql, "QUERY", "MAIN", "TABLE", obj, (), aux, code, error)


MYSQL_STATEMENTS = (
    _my("READ", "SELECT * FROM orders WHERE customer_id = 1042", "orders", aux="READ"),
    _my("READ", "/* app:checkout */ SELECT id, total FROM orders WHERE status = 'open'", "orders",
        aux="READ"),
    _my("READ", "WITH recent AS (SELECT * FROM orders WHERE created_at > NOW() - INTERVAL 1 DAY) "
        "SELECT COUNT(*) FROM recent", "orders", aux="READ"),
    _my("READ", "SHOW TABLES"),
    _my("READ", "DESCRIBE orders", "orders"),
    _my("READ", "EXPLAIN SELECT * FROM customers WHERE email = 'ana@example.com'", "customers"),
    _my("DML", "UPDATE `shop`.`orders` SET `status` = 'shipped' WHERE (`id` = '5531')", "orders"),
    _my("DML", "INSERT INTO cart_items (cart_id, sku, qty) VALUES (7781, 'SKU-1', 2)",
        "cart_items"),
    _my("DML", "delete from sessions where expires_at < now()", "sessions"),
    _my("DML", "REPLACE INTO settings (name, value) VALUES ('theme', 'dark')", "settings"),
    _my("DML", "-- price import\nLOAD DATA LOCAL INFILE '/tmp/prices.csv' INTO TABLE prices",
        "prices"),
    _my("DDL", "CREATE TABLE coupons (id INT PRIMARY KEY, code VARCHAR(32))", "coupons",
        aux="CREATE"),
    _my("DDL", "ALTER TABLE orders ADD INDEX idx_status (status)", "orders"),
    _my("DDL", "DROP TABLE IF EXISTS tmp_import", "tmp_import"),
    _my("DDL", "GRANT SELECT ON shop.* TO 'reporting'@'%'"),
    _my("DDL", "TRUNCATE TABLE staging_prices", "staging_prices"),
    _my("DDL", "RENAME TABLE prices TO prices_old", "prices"),
    _my("OTHER", "SET autocommit=0"),
    _my("OTHER", "BEGIN"),
    _my("OTHER", "COMMIT"),
    _my("OTHER", "SET NAMES utf8mb4"),
    _my("OTHER", "CALL refresh_totals()", "refresh_totals"),
    _my("ERROR", "SELEC * FROM orders", code="1064",
        error="You have an error in your SQL syntax; check the manual that corresponds to your "
        "MySQL server version for the right syntax to use near 'SELEC * FROM orders' at line 1"),
    _my("ERROR", "SELECT * FROM order_itemz", "order_itemz", code="1146",
        error="Table 'shop.order_itemz' doesn't exist"),
)

MYSQL_ADMIN_STATEMENTS = (
    _my("READ", "SELECT @@session.transaction_read_only"),
    _my("READ", "select 1"),
    _my("OTHER", "FLUSH LOGS"),
)


class MySQL(Engine):
    """Aurora MySQL (DAS record version 1.2)."""

    name = "mysql"
    version = "1.2"
    aurora = True
    server_type = "MySQL"
    app_users = ("admin", "app", "reporting", "svc_orders")
    intruders = ("root", "admin", "test")
    admin_user = "rdsadmin"
    admin_host = "localhost"
    databases = ("shop", "inventory")
    clients = (None,)
    statements = MYSQL_STATEMENTS
    admin_statements = MYSQL_ADMIN_STATEMENTS

    def session_id(self) -> str:
        return str(self.rng.randint(700000, 999999))

    def timestamp(self, at: datetime) -> str:
        return micro(at) + "+00"

    def _event(self, s: Session, at: datetime, command: str, statement_id: int, **fields) -> dict:
        start = at - timedelta(microseconds=self.rng.randint(5, 30000))
        event = {
            "logTime": self.timestamp(at),
            "type": "record",
            "clientApplication": s.client,
            "pid": s.pid,
            "dbUserName": s.user,
            "databaseName": s.database,
            "remoteHost": s.host,
            "remotePort": str(s.port),
            "command": command,
            "commandText": "",
            "paramList": None,
            "objectType": "TABLE",
            "objectName": "",
            "statementId": statement_id,
            "substatementId": 1,
            "exitCode": "0",
            "sessionId": s.session_id,
            "rowCount": 0,
            "serverHost": s.instance.server_host,
            "serverType": self.server_type,
            "serviceName": "Amazon Aurora MySQL",
            "serverVersion": "8.0.mysql_aurora.3.05.2",
            "startTime": self.timestamp(start),
            "endTime": self.timestamp(at + timedelta(microseconds=1)),
            "transactionId": "0",
            "dbProtocol": "MySQL",
            "netProtocol": "TCP",
            "errorMessage": "",
            "class": "MAIN",
        }
        event.update(fields)
        return event

    def connect(self, s: Session, at: datetime) -> list[dict]:
        return [self._event(s, at, "CONNECT", 0)]

    def disconnect(self, s: Session, at: datetime) -> list[dict]:
        return [self._event(s, at, "DISCONNECT", 0)]

    def auth_failure(self, s: Session, at: datetime) -> list[dict]:
        error = f"Access denied for user '{s.user}'@'{s.host}' (using password: YES)"
        return [self._event(s, at, "CONNECT", 0, exitCode="1045", errorMessage=error)]

    def statement(self, s: Session, stmt: Stmt, at: datetime) -> list[dict]:
        """MAIN QUERY event, plus an AUX event (in either order) for reads and CREATE."""
        statement_id = self.rng.randint(10_000_000, 99_999_999)
        main = self._event(
            s, at, "QUERY", statement_id, commandText=stmt.sql, objectName=stmt.object_name,
            exitCode=stmt.exit_code or "0", errorMessage=stmt.error or "",
            rowCount=self.row_count(stmt) or 0,
            transactionId=str(self.rng.randint(1_000_000, 9_999_999)),
        )
        if not stmt.aux:
            return [main]
        aux = self._event(
            s, at - timedelta(microseconds=self.rng.randint(1, 3000)), stmt.aux, statement_id,
            commandText=stmt.object_name, objectName=stmt.object_name, substatementId=2,
            exitCode="", transactionId=main["transactionId"], **{"class": "AUX"},
        )
        return [main, aux] if self.rng.random() < 0.5 else [aux, main]


# --------------------------------------------------------------------------------------------
# RDS for Oracle
# --------------------------------------------------------------------------------------------


def _ora(label, sql, command, obj=(None, None), cls="Standard", params=(), code=None) -> Stmt:
    """An Oracle action: `command` is the action name, `obj` (schema, object), `cls` the audit
    type, `code` the ORA- return code of a failure."""
    return Stmt(label, sql, command, cls, obj[0], obj[1], tuple(params), None, code, None)


ORACLE_STATEMENTS = (
    _ora("READ", "select count(*) from persons", "SELECT", ("APP", "PERSONS")),
    _ora("READ", "WITH big AS (SELECT * FROM orders WHERE total > 1000) SELECT COUNT(*) FROM big",
         "SELECT", ("APP", "ORDERS")),
    _ora("READ", "SELECT salary FROM hr.employees WHERE employee_id = :1", "SELECT",
         ("HR", "EMPLOYEES"), cls="FineGrainedAudit", params=["101"]),
    _ora("DML", "INSERT INTO orders (id, total) VALUES (:1, :2)", "INSERT", ("APP", "ORDERS"),
         params=["5531", "99.90"]),
    _ora("DML", "UPDATE orders SET status = 'SHIPPED' WHERE id = 5531", "UPDATE",
         ("APP", "ORDERS")),
    _ora("DML", "delete from cart_items where cart_id = 7781", "DELETE", ("APP", "CART_ITEMS")),
    _ora("DML", "MERGE INTO inventory i USING incoming n ON (i.sku = n.sku) WHEN MATCHED THEN "
         "UPDATE SET i.qty = n.qty", "MERGE", ("APP", "INVENTORY")),
    _ora("DDL", "CREATE TABLE persons(\n    person_id NUMBER GENERATED BY DEFAULT AS IDENTITY,\n"
         "    first_name VARCHAR2(50) NOT NULL,\n    PRIMARY KEY(person_id)\n)", "CREATE TABLE",
         ("APP", "PERSONS")),
    _ora("DDL", "ALTER TABLE orders ADD (coupon_code VARCHAR2(32))", "ALTER TABLE",
         ("APP", "ORDERS")),
    _ora("DDL", "DROP TABLE tmp_import PURGE", "DROP TABLE", ("APP", "TMP_IMPORT")),
    _ora("DDL", "GRANT SELECT ON app.orders TO reporting", "GRANT", ("APP", "ORDERS")),
    _ora("DDL", "CREATE USER analyst IDENTIFIED BY *", "CREATE USER"),
    _ora("OTHER", "COMMIT", "COMMIT"),
    _ora("OTHER", "BEGIN DBMS_STATS.GATHER_TABLE_STATS('APP', 'ORDERS'); END;", "EXECUTE",
         ("SYS", "DBMS_STATS")),
    _ora("ERROR", "select * from order_itemz", "SELECT", ("APP", "ORDER_ITEMZ"), code=942),
    _ora("ERROR", "INSERT INTO hr.salaries VALUES (1, 1)", "INSERT", ("HR", "SALARIES"),
         code=1031),
    _ora("ERROR", "CREATE TABLE orders (id NUMBER)", "CREATE TABLE", ("APP", "ORDERS"), code=955),
)

ORACLE_ADMIN_STATEMENTS = (
    _ora("READ", "SELECT STATUS FROM V$INSTANCE", "SELECT", ("SYS", "V_$INSTANCE")),
    _ora("READ", "select 1 from dual", "SELECT", ("SYS", "DUAL")),
)


class Oracle(Engine):
    """RDS for Oracle (DAS record version 1.3)."""

    name = "oracle"
    version = "1.3"
    server_type = "oracle"
    app_users = ("APP", "REPORTING", "SCOTT", "HR_ADMIN")
    intruders = ("SYSTEM", "SCOTT", "HR")
    admin_user = "RDSADMIN"
    databases = ("ORCL",)
    clients = ("JDBC Thin Client", "sqlplus@ip-10-0-3-17 (TNS V1-V3)", "SQL Developer")

    statements = ORACLE_STATEMENTS
    admin_statements = ORACLE_ADMIN_STATEMENTS
    rds_cluster_id = None
    dbid = "1559204751"

    def __init__(self, rng: random.Random) -> None:
        super().__init__(rng)
        self.entry_ids = itertools.count(1)  # ENTRY_ID of the unified audit trail

    def session_id(self) -> int:
        return self.rng.randint(100_000_000, 4_000_000_000)

    def timestamp(self, at: datetime) -> str:
        return micro(at)

    def _native_fields(self, s: Session, privilege: str | None) -> dict:
        entry_id = next(self.entry_ids)
        return {
            "UNIFIED_AUDIT_POLICIES": "DAS_POLICY_ALL",
            "FGA_POLICY_NAME": None,
            "SYSTEM_PRIVILEGE_USED": privilege,
            "AUTHENTICATION_TYPE": f"(TYPE=(DATABASE));(CLIENT ADDRESS=((ADDRESS=(PROTOCOL=tcp)"
            f"(HOST={s.host})(PORT={s.port}))));",
            "USERHOST": "ip-" + s.host.replace(".", "-"),
            "TERMINAL": "unknown",
            "OS_USERNAME": "appsvc",
            "INSTANCE_ID": 1,
            "DBID": int(self.dbid),
            "PROXY_SESSIONID": 0,
            "ENTRY_ID": entry_id,
            "SCN": 5_000_000 + entry_id * 37,
        }

    def _event(self, s: Session, at: datetime, command: str, *, privilege=None, **fields) -> dict:
        event = {
            "class": "Standard",
            "clientApplication": s.client,
            "command": command,
            "commandText": None,
            "dbid": self.dbid,
            "databaseName": s.database,
            "dbProtocol": "oracle",
            "dbUserName": s.user,
            "endTime": None,
            "errorMessage": None,
            "exitCode": 0,
            "logTime": self.timestamp(at),
            "netProtocol": "tcp",
            "objectName": None,
            "objectType": None,
            "paramList": [],
            "pid": s.pid,
            "remoteHost": s.host,
            "remotePort": str(s.port),
            "rowCount": None,
            "serverHost": s.instance.server_host,
            "serverType": self.server_type,
            "serverVersion": "19.0.0.0.ru-2024-10.rur-2024-10.r1",
            "serviceName": "oracle-ee",
            "sessionId": s.session_id,
            "startTime": None,
            "statementId": s.next_statement_id(),
            "substatementId": None,
            "transactionId": None,
            "type": "record",
            "engineNativeAuditFields": self._native_fields(s, privilege),
        }
        event.update(fields)
        return event

    def connect(self, s: Session, at: datetime) -> list[dict]:
        return [self._event(s, at, "LOGON", privilege="CREATE SESSION")]

    def disconnect(self, s: Session, at: datetime) -> list[dict]:
        command = "LOGOFF BY CLEANUP" if self.rng.random() < 0.2 else "LOGOFF"
        return [self._event(s, at, command)]

    def auth_failure(self, s: Session, at: datetime) -> list[dict]:
        """LOGON with ORA-01017 (bad password), sometimes ORA-28000 (account locked)."""
        code = 28000 if self.rng.random() < 0.25 else 1017
        return [self._event(s, at, "LOGON", exitCode=code)]

    def statement(self, s: Session, stmt: Stmt, at: datetime) -> list[dict]:
        transaction = None if stmt.label == "READ" else f"{self.rng.getrandbits(64):016X}"
        return [self._event(
            s, at, stmt.command, commandText=stmt.sql, exitCode=stmt.exit_code or 0,
            objectType=stmt.object_type, objectName=stmt.object_name,
            paramList=list(stmt.params), transactionId=transaction,
            **{"class": stmt.engine_class},
        )]


# --------------------------------------------------------------------------------------------
# RDS for SQL Server
# --------------------------------------------------------------------------------------------


def _mss(label, sql, command, cls, obj=("TABLE", ""), code=None) -> Stmt:
    """A SQL Server action: `cls` the audit class, `command` the action, `code` 0 on failure."""
    return Stmt(label, sql, command, cls, obj[0], obj[1], (), None, code, None)


SQLSERVER_STATEMENTS = (
    _mss("READ", "select * from [shop].[dbo].[Orders] where CustomerId = 1042", "SELECT", "TABLE",
         ("TABLE", "Orders")),
    _mss("READ", "WITH recent AS (SELECT * FROM dbo.Orders WHERE CreatedAt > DATEADD(day, -1, "
         "GETDATE())) SELECT COUNT(*) FROM recent", "SELECT", "TABLE", ("TABLE", "Orders")),
    _mss("READ", "/* report */ SELECT Status, COUNT(*) FROM dbo.Orders GROUP BY Status", "SELECT",
         "TABLE", ("TABLE", "Orders")),
    _mss("DML", "INSERT INTO dbo.CartItems (CartId, Sku, Qty) VALUES (7781, 'SKU-1', 2)",
         "INSERT", "TABLE", ("TABLE", "CartItems")),
    _mss("DML", "UPDATE dbo.Orders SET Status = 'shipped' WHERE Id = 5531", "UPDATE", "TABLE",
         ("TABLE", "Orders")),
    _mss("DML", "delete from dbo.Sessions where ExpiresAt < getdate()", "DELETE", "TABLE",
         ("TABLE", "Sessions")),
    _mss("DDL", "Create table [shop].[dbo].[Coupons](\r\n    Id int primary key,\r\n    "
         "Code varchar(32)\r\n)", "ALTER", "SCHEMA", ("SCHEMA", "dbo")),
    _mss("DDL", "ALTER TABLE [dbo].[Orders] ADD CouponCode varchar(32)", "ALTER", "OBJECT",
         ("TABLE", "Orders")),
    _mss("DDL", "DROP TABLE [dbo].[TmpImport]", "DROP", "OBJECT", ("TABLE", "TmpImport")),
    _mss("DDL", "GRANT SELECT ON [dbo].[Orders] TO [reporting]", "GRANT", "OBJECT",
         ("TABLE", "Orders")),
    _mss("OTHER", "exec dbo.usp_RefreshTotals", "EXECUTE", "OBJECT",
         ("STORED PROCEDURE", "usp_RefreshTotals")),
    _mss("ERROR", "select * from [shop].[dbo].[Salaries]", "SELECT", "TABLE",
         ("TABLE", "Salaries"), code=0),
    _mss("ERROR", "DELETE FROM dbo.AuditTrail", "DELETE", "TABLE", ("TABLE", "AuditTrail"),
         code=0),
)

SQLSERVER_ADMIN_STATEMENTS = (
    _mss("READ", "SELECT name, state_desc FROM sys.databases", "SELECT", "TABLE",
         ("TABLE", "databases")),
    _mss("OTHER", "BACKUP LOG [shop] TO DISK = N'D:\\S3\\shop.trn'", "BACKUP", "DATABASE",
         ("DATABASE", "shop")),
)


class SQLServer(Engine):
    """RDS for SQL Server (DAS record version 1.4)."""

    name = "sqlserver"
    version = "1.4"
    server_type = "SQLSERVER"
    app_users = ("app", "reporting", "test", "dba_jane")
    intruders = ("sa", "test", "admin")
    admin_user = "rdsa"
    databases = ("shop", "testDB")
    clients = ("Microsoft SQL Server Management Studio - Query", "Core Microsoft SqlClient Data "
               "Provider", "sqlcmd")
    statements = SQLSERVER_STATEMENTS
    admin_statements = SQLSERVER_ADMIN_STATEMENTS

    def session_id(self) -> int:
        return self.rng.randint(51, 400)

    def timestamp(self, at: datetime) -> str:
        """7 fractional digits (100 ns ticks) and "+00"."""
        return f"{micro(at)}{self.rng.randint(0, 9)}+00"

    def _native_fields(self, s: Session) -> dict:
        return {
            "target_database_principal_id": 0,
            "target_server_principal_id": 0,
            "server_principal_id": 2,
            "user_defined_information": "",
            "response_rows": 0,
            "database_principal_name": "dbo",
            "schema_name": "dbo",
            "is_column_permission": False,
            "object_id": self.rng.randint(1, 900_000_000),
            "server_instance_name": "EC2AMAZ-" + s.instance.instance_id[3:10],
            "additional_information": "",
            "duration_milliseconds": 0,
            "permission_bitmask": "0x00000000000000000000000000000000",
            "session_server_principal_name": s.user,
            "connection_id": "%08X-%04X-%04X-%04X-%012X" % (
                self.rng.getrandbits(32), self.rng.getrandbits(16), self.rng.getrandbits(16),
                self.rng.getrandbits(16), self.rng.getrandbits(48)),
            "audit_schema_version": 1,
            "host_name": "EC2AMAZ-" + s.instance.instance_id[3:10],
        }

    def _event(self, s: Session, at: datetime, cls: str, command: str, **fields) -> dict:
        event = {
            "class": cls,
            "clientApplication": s.client,
            "command": command,
            "commandText": "",
            "databaseName": s.database,
            "dbProtocol": "SQLSERVER",
            "dbUserName": s.user,
            "endTime": None,
            "errorMessage": None,
            "exitCode": 1,
            "logTime": self.timestamp(at),
            "netProtocol": None,
            "objectName": "",
            "objectType": "LOGIN",
            "paramList": None,
            "pid": None,
            "remoteHost": s.host,
            "remotePort": None,
            "rowCount": 0,
            "serverHost": s.instance.server_host,
            "serverType": self.server_type,
            "serverVersion": "15.00.4415.2.v1",
            "serviceName": "sqlserver-ee",
            "sessionId": s.session_id,
            "startTime": None,
            "statementId": f"0x{self.rng.getrandbits(128):032x}",
            "substatementId": 1,
            "transactionId": "0",
            "type": "record",
            "engineNativeAuditFields": self._native_fields(s),
        }
        event.update(fields)
        return event

    def connect(self, s: Session, at: datetime) -> list[dict]:
        text = (f"Login succeeded for user '{s.user}'. Connection made using SQL Server "
                f"authentication. [CLIENT: {s.host}]")
        return [self._event(s, at, "LOGIN", "LOGIN SUCCEEDED", commandText=text)]

    def disconnect(self, s: Session, at: datetime) -> list[dict]:
        return [self._event(s, at, "LOGIN", "LOGOUT")]

    def auth_failure(self, s: Session, at: datetime) -> list[dict]:
        reason = self.rng.choice((
            "Password did not match that for the login provided.",
            "Could not find a login matching the name provided.",
        ))
        text = f"Login failed for user '{s.user}'. Reason: {reason} [CLIENT: {s.host}]"
        return [self._event(s, at, "LOGIN", "LOGIN FAILED", commandText=text, exitCode=0,
                            sessionId=0, databaseName="")]

    def statement(self, s: Session, stmt: Stmt, at: datetime) -> list[dict]:
        return [self._event(
            s, at, stmt.engine_class, stmt.command, commandText=stmt.sql,
            objectType=stmt.object_type, objectName=stmt.object_name,
            exitCode=1 if stmt.exit_code is None else stmt.exit_code,
            transactionId=str(self.rng.randint(4_000_000, 5_000_000)),
            rowCount=self.row_count(stmt) or 0,
        )]


ENGINES: dict[str, type[Engine]] = {
    e.name: e for e in (PostgreSQL, MySQL, Oracle, SQLServer)
}
