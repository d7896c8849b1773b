//! Stage 4, classify: event → activity class (das-records.md §5), per engine (§4). Pure and
//! allocation-free.
//!
//! First match wins: AUTH_FAILURE, ERROR, CONNECT, DISCONNECT, then DDL / DML / READ from the
//! engine's own fields or the SQL text, else OTHER. Heartbeats are dropped before this runs.
//! Every rule tolerates missing fields and odd types: the worst outcome is OTHER.
//!
//! Modules: [`ActivityClass`] and [`Engine`] live here; one file per engine ([`postgresql`],
//! [`mysql`], [`oracle`], [`sqlserver`], [`unknown`]) holds its rules; [`fields`] the field
//! tests they share; [`sql`] the statement kind of SQL text (lexer and statement rules); and
//! [`keywords`] every keyword table.

pub mod fields;
pub mod keywords;
pub mod mysql;
pub mod oracle;
pub mod postgresql;
pub mod sql;
pub mod sqlserver;
pub mod unknown;

use crate::decode::event::EventView;
use std::fmt;

/// The database engine that produced an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Engine {
    PostgreSql,
    MySql,
    Oracle,
    SqlServer,
    Unknown,
}

impl Engine {
    /// From the event's `serverType`, then `dbProtocol`, then `serviceName` (case- and
    /// punctuation-insensitive: "PostgreSQL", "Postgres 3.0", "MySQL", "oracle", "SQLSERVER",
    /// "SQL Server"…), falling back to the envelope version ("1.0"/"1.1" PostgreSQL, "1.2"
    /// MySQL, "1.3" Oracle, "1.4" SQL Server).
    pub fn detect(ev: &EventView<'_>, envelope_version: Option<&str>) -> Engine {
        [&ev.server_type, &ev.db_protocol, &ev.service_name]
            .into_iter()
            .filter_map(|f| f.as_ref())
            .map(|s| Engine::from_name(s.as_str()))
            .find(|e| *e != Engine::Unknown)
            .unwrap_or_else(|| envelope_version.map_or(Engine::Unknown, Engine::from_version))
    }

    fn from_name(name: &str) -> Engine {
        // The `serverType` DAS writes for each engine, in every event: read as the
        // spelling-insensitive match reads it, without normalising it first.
        match name {
            "PostgreSQL" => Engine::PostgreSql,
            "MySQL" => Engine::MySql,
            "oracle" => Engine::Oracle,
            "SQLSERVER" => Engine::SqlServer,
            _ => Engine::from_any_name(name),
        }
    }

    /// [`Engine::from_name`] for any spelling.
    fn from_any_name(name: &str) -> Engine {
        // Lower-case alphanumerics only, on the stack: "SQL Server" → "sqlserver".
        let mut buf = [0u8; 64];
        let mut len = 0usize;
        for (slot, b) in buf.iter_mut().zip(name.bytes().filter(u8::is_ascii_alphanumeric)) {
            *slot = b.to_ascii_lowercase();
            len = len.saturating_add(1);
        }
        let norm = buf.get(..len).unwrap_or_default();
        let has = |needle: &[u8]| norm.windows(needle.len()).any(|w| w == needle);
        // PostgreSQL first: "postgresqlserver" also contains "sqlserver".
        if has(b"postgres") {
            Engine::PostgreSql
        } else if has(b"mysql") || has(b"mariadb") {
            Engine::MySql
        } else if has(b"oracle") {
            Engine::Oracle
        } else if has(b"sqlserver") || has(b"mssql") {
            Engine::SqlServer
        } else {
            Engine::Unknown
        }
    }

    fn from_version(version: &str) -> Engine {
        match crate::text::trim(version) {
            "1.0" | "1.1" => Engine::PostgreSql,
            "1.2" => Engine::MySql,
            "1.3" => Engine::Oracle,
            "1.4" => Engine::SqlServer,
            _ => Engine::Unknown,
        }
    }

    /// Lower-case name: "postgresql", "mysql", "oracle", "sqlserver", "unknown".
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::PostgreSql => "postgresql",
            Engine::MySql => "mysql",
            Engine::Oracle => "oracle",
            Engine::SqlServer => "sqlserver",
            Engine::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActivityClass {
    Ddl,
    Dml,
    Read,
    Connect,
    Disconnect,
    Error,
    AuthFailure,
    Other,
}

impl ActivityClass {
    /// How many classes there are.
    pub const COUNT: usize = 8;

    /// Every class, in declaration order.
    pub const ALL: [ActivityClass; ActivityClass::COUNT] = [
        ActivityClass::Ddl,
        ActivityClass::Dml,
        ActivityClass::Read,
        ActivityClass::Connect,
        ActivityClass::Disconnect,
        ActivityClass::Error,
        ActivityClass::AuthFailure,
        ActivityClass::Other,
    ];

    /// The position of the class in [`ALL`](Self::ALL), for per-class counters.
    pub const fn index(self) -> usize {
        match self {
            ActivityClass::Ddl => 0,
            ActivityClass::Dml => 1,
            ActivityClass::Read => 2,
            ActivityClass::Connect => 3,
            ActivityClass::Disconnect => 4,
            ActivityClass::Error => 5,
            ActivityClass::AuthFailure => 6,
            ActivityClass::Other => 7,
        }
    }

    /// "DDL", "DML", "READ", "CONNECT", "DISCONNECT", "ERROR", "AUTH_FAILURE", "OTHER": the
    /// Firehose partition values and the output field value.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivityClass::Ddl => "DDL",
            ActivityClass::Dml => "DML",
            ActivityClass::Read => "READ",
            ActivityClass::Connect => "CONNECT",
            ActivityClass::Disconnect => "DISCONNECT",
            ActivityClass::Error => "ERROR",
            ActivityClass::AuthFailure => "AUTH_FAILURE",
            ActivityClass::Other => "OTHER",
        }
    }

    /// The inverse of [`as_str`](Self::as_str), case-insensitive; "AUTH FAILURE" and
    /// "AUTH-FAILURE" are accepted too (for configuration and CLI filters).
    pub fn from_name(name: &str) -> Option<ActivityClass> {
        let name = name.trim();
        if fields::is_phrase(name, &["AUTH", "FAILURE"]) || name.eq_ignore_ascii_case("AUTH-FAILURE") {
            return Some(ActivityClass::AuthFailure);
        }
        ActivityClass::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for ActivityClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classifies one event of `engine` (heartbeats are expected to be dropped before; any input
/// still yields a class).
pub fn classify(engine: Engine, ev: &EventView<'_>) -> ActivityClass {
    match engine {
        Engine::PostgreSql => postgresql::classify(ev),
        Engine::MySql => mysql::classify(ev),
        Engine::Oracle => oracle::classify(ev),
        Engine::SqlServer => sqlserver::classify(ev),
        Engine::Unknown => unknown::classify(ev),
    }
}

/// Helpers for the classification tests of every engine file.
#[cfg(test)]
pub(crate) mod test_support {
    use super::{ActivityClass, Engine, classify};
    use crate::decode::event::EventView;

    pub fn ev(json: &str) -> EventView<'_> {
        EventView::parse(json).unwrap()
    }

    pub fn run(engine: Engine, cases: &[(&str, ActivityClass)]) {
        for (json, want) in cases {
            assert_eq!(classify(engine, &ev(json)), *want, "{engine:?} {json}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::ActivityClass::*;
    use super::*;

    use super::test_support::ev;

    // ---- Documented examples -----------------------------------------------------------------
    // awsdocs/amazon-aurora-user-guide, doc_source/DBActivityStreams.Monitoring.md, "Examples of
    // an audit log for an activity stream" (events trimmed to the fields that matter; values
    // verbatim).

    const AURORA_PG_CONNECT: &str = r#"{"startTime":"2019-10-30 00:39:49.940668+00",
        "logTime":"2019-10-30 00:39:49.990579+00","statementId":1,"substatementId":1,
        "objectType":null,"command":"CONNECT","objectName":null,"databaseName":"postgres",
        "dbUserName":"rdsadmin","remoteHost":"172.31.3.195","remotePort":"49804",
        "sessionId":"5ce5f7f0.474b","rowCount":null,"commandText":null,"paramList":[],
        "pid":18251,"clientApplication":"psql","exitCode":null,"class":"MISC",
        "serverVersion":"2.3.1","serverType":"PostgreSQL",
        "serviceName":"Amazon Aurora PostgreSQL-Compatible edition","serverHost":"172.31.3.192",
        "netProtocol":"TCP","dbProtocol":"Postgres 3.0","type":"record","errorMessage":null}"#;

    const AURORA_PG_CREATE_TABLE: &str = r#"{"startTime":"2019-05-24 00:36:54.403455+00",
        "logTime":"2019-05-24 00:36:54.494235+00","statementId":2,"substatementId":1,
        "objectType":null,"command":"CREATE TABLE","objectName":null,"databaseName":"postgres",
        "dbUserName":"rdsadmin","sessionId":"5ce73c6f.7e64","rowCount":null,
        "commandText":"create table my_table (id serial primary key, name varchar(32));",
        "paramList":[],"exitCode":null,"class":"DDL","serverType":"PostgreSQL",
        "dbProtocol":"Postgres 3.0","type":"record","errorMessage":null}"#;

    const AURORA_PG_SELECT: &str = r#"{"startTime":"2019-05-24 00:39:49.920564+00",
        "logTime":"2019-05-24 00:39:49.940668+00","statementId":6,"substatementId":1,
        "objectType":"TABLE","command":"SELECT","objectName":"public.my_table",
        "databaseName":"postgres","dbUserName":"rdsadmin","sessionId":"5ce73c6f.7e64",
        "rowCount":10,"commandText":"select * from my_table;","paramList":[],"exitCode":null,
        "class":"READ","serverType":"PostgreSQL","dbProtocol":"Postgres 3.0","type":"record",
        "errorMessage":null}"#;

    const AURORA_MYSQL_CONNECT: &str = r#"{"logTime":"2020-05-22 18:07:13.267214+00",
        "type":"record","clientApplication":null,"pid":2830,"dbUserName":"rdsadmin",
        "databaseName":"","remoteHost":"localhost","remotePort":"11053","command":"CONNECT",
        "commandText":"","paramList":null,"objectType":"TABLE","objectName":"","statementId":0,
        "substatementId":1,"exitCode":"0","sessionId":"725121","rowCount":0,
        "serverHost":"master","serverType":"MySQL","serviceName":"Amazon Aurora MySQL",
        "serverVersion":"MySQL 5.7.12","startTime":"2020-05-22 18:07:13.267207+00",
        "endTime":"2020-05-22 18:07:13.267213+00","transactionId":"0","dbProtocol":"MySQL",
        "netProtocol":"TCP","errorMessage":"","class":"MAIN"}"#;

    const AURORA_MYSQL_CREATE_TABLE_MAIN: &str = r#"{"logTime":"2020-05-22 18:07:12.250221+00",
        "type":"record","dbUserName":"master","databaseName":"test","remoteHost":"localhost",
        "command":"QUERY","commandText":"CREATE TABLE test1 (id INT)","paramList":null,
        "objectType":"TABLE","objectName":"test1","statementId":65459278,"substatementId":1,
        "exitCode":"0","sessionId":"725118","rowCount":0,"serverType":"MySQL",
        "transactionId":"0","dbProtocol":"MySQL","errorMessage":"","class":"MAIN"}"#;

    const AURORA_MYSQL_CREATE_TABLE_AUX: &str = r#"{"logTime":"2020-05-22 18:07:12.247182+00",
        "type":"record","dbUserName":"master","databaseName":"test","remoteHost":"localhost",
        "command":"CREATE","commandText":"test1","paramList":null,"objectType":"TABLE",
        "objectName":"test1","statementId":65459278,"substatementId":2,"exitCode":"",
        "sessionId":"725118","rowCount":0,"serverType":"MySQL","transactionId":"0",
        "dbProtocol":"MySQL","errorMessage":"","class":"AUX"}"#;

    const AURORA_MYSQL_SELECT_MAIN: &str = r#"{"logTime":"2020-05-22 18:29:57.986467+00",
        "type":"record","dbUserName":"master","databaseName":"test","remoteHost":"localhost",
        "command":"QUERY","commandText":"SELECT * FROM test1 WHERE id < 28","paramList":null,
        "objectType":"TABLE","objectName":"test1","statementId":65469218,"substatementId":1,
        "exitCode":"0","sessionId":"726571","rowCount":2,"serverType":"MySQL",
        "transactionId":"0","dbProtocol":"MySQL","errorMessage":"","class":"MAIN"}"#;

    const AURORA_MYSQL_SELECT_AUX: &str = r#"{"logTime":"2020-05-22 18:29:57.986399+00",
        "type":"record","dbUserName":"master","databaseName":"test","remoteHost":"localhost",
        "command":"READ","commandText":"test1","paramList":null,"objectType":"TABLE",
        "objectName":"test1","statementId":65469218,"substatementId":2,"exitCode":"",
        "sessionId":"726571","rowCount":0,"serverType":"MySQL","transactionId":"0",
        "dbProtocol":"MySQL","errorMessage":"","class":"AUX"}"#;

    // das-records.md §7: a real Aurora MySQL event, as captured (verbatim).
    const REAL_MYSQL_UPDATE: &str = r#"{"logTime":"2023-07-23 08:14:58.089874+00","type":"record","clientApplication":null,"pid":257,
 "dbUserName":"admin","databaseName":"tb_my_database","remoteHost":"116.127.85.242","remotePort":"5257",
 "command":"QUERY","commandText":"UPDATE `tb_my_database`.`my_table` SET `contents` = '666' WHERE (`idx` = '2')",
 "paramList":null,"objectType":"TABLE","objectName":"my_table","statementId":17903,"substatementId":1,
 "exitCode":"0","sessionId":"1003","rowCount":0,"serverHost":"my-db-instance-1","serverType":"MySQL",
 "serviceName":"Amazon Aurora MySQL","serverVersion":"5.7.mysql_aurora.2.11.2",
 "startTime":"2023-07-23 08:14:58.089635+00","endTime":"2023-07-23 08:14:58.089875+00",
 "transactionId":"1640266","dbProtocol":"MySQL","netProtocol":"TCP","errorMessage":"","class":"MAIN"}"#;

    // awsdocs/amazon-rds-user-guide, doc_source/DBActivityStreams.Monitoring.md (RDS for Oracle
    // and RDS for SQL Server examples; engineNativeAuditFields trimmed). The Oracle examples
    // carry no "type" field.
    const RDS_ORACLE_LOGON: &str = r#"{"class":"Standard","clientApplication":"JDBC Thin Client",
        "command":"LOGON","commandText":null,"dbid":"0123456789","databaseName":"ORCL",
        "dbProtocol":"oracle","dbUserName":"TEST","endTime":null,"errorMessage":null,
        "exitCode":0,"logTime":"2021-01-15 00:15:36.233787","netProtocol":"tcp",
        "objectName":null,"objectType":null,"paramList":[],"pid":17904,
        "remoteHost":"123.456.789.012","remotePort":"25440","rowCount":null,
        "serverType":"oracle","serviceName":"oracle-ee","sessionId":987654321,"startTime":null,
        "statementId":1,"substatementId":null,"transactionId":"0000000000000000",
        "engineNativeAuditFields":{"UNIFIED_AUDIT_POLICIES":"TEST_POL_EVERYTHING",
        "SYSTEM_PRIVILEGE_USED":"CREATE SESSION","INSTANCE_ID":1}}"#;

    const RDS_ORACLE_CREATE_TABLE: &str = r#"{"class":"Standard",
        "clientApplication":"sqlplus@ip-12-34-5-678 (TNS V1-V3)","command":"CREATE TABLE",
        "commandText":"CREATE TABLE persons(\n    person_id NUMBER GENERATED BY DEFAULT AS IDENTITY,\n    first_name VARCHAR2(50) NOT NULL,\n    last_name VARCHAR2(50) NOT NULL,\n    PRIMARY KEY(person_id)\n)",
        "dbid":"0123456789","databaseName":"ORCL","dbProtocol":"oracle","dbUserName":"TEST",
        "endTime":null,"errorMessage":null,"exitCode":0,"logTime":"2021-01-15 00:22:49.535239",
        "netProtocol":"beq","objectName":"PERSONS","objectType":"TEST","paramList":[],
        "serverType":"oracle","serviceName":"oracle-ee","sessionId":1234567890,"startTime":null}"#;

    const RDS_ORACLE_SELECT: &str = r#"{"class":"Standard","command":"SELECT",
        "commandText":"select count(*) from persons","dbProtocol":"oracle","dbUserName":"TEST",
        "errorMessage":null,"exitCode":0,"logTime":"2021-01-15 00:25:18.850375",
        "objectType":"TEST","serverType":"oracle","startTime":null}"#;

    const RDS_SQLSERVER_LOGIN_FAILED: &str = r#"{"class":"LOGIN",
        "clientApplication":"Microsoft SQL Server Management Studio","command":"LOGIN FAILED",
        "commandText":"Login failed for user 'test'. Reason: Password did not match that for the login provided. [CLIENT: local-machine]",
        "databaseName":"","dbProtocol":"SQLSERVER","dbUserName":"test","endTime":null,
        "errorMessage":null,"exitCode":0,"logTime":"2022-10-06 21:34:42.7113072+00",
        "netProtocol":null,"objectName":"","objectType":"LOGIN","paramList":null,"pid":null,
        "remoteHost":"local machine","remotePort":null,"rowCount":0,"serverType":"SQLSERVER",
        "serviceName":"sqlserver-ee","sessionId":0,"startTime":null,
        "statementId":"0x1eb0d1808d34a94b9d3dcf5432750f02","substatementId":1,
        "transactionId":"0","type":"record","engineNativeAuditFields":{"object_id":0}}"#;

    const RDS_SQLSERVER_CREATE_TABLE: &str = r#"{"class":"SCHEMA",
        "clientApplication":"Microsoft SQL Server Management Studio - Query","command":"ALTER",
        "commandText":"Create table [testDB].[dbo].[TestTable2](\r\ntextA varchar(6000),\r\n    textB varchar(6000)\r\n)",
        "databaseName":"testDB","dbProtocol":"SQLSERVER","dbUserName":"test","endTime":null,
        "errorMessage":null,"exitCode":1,"logTime":"2022-10-06 21:44:38.4120677+00",
        "objectName":"dbo","objectType":"SCHEMA","serverType":"SQLSERVER","sessionId":84,
        "startTime":null,"statementId":"0x5178d33d56e95e419558b9607158a5bd","substatementId":1,
        "transactionId":"4561864","type":"record"}"#;

    // Also printed in the Aurora user guide, between the PostgreSQL and MySQL SELECT examples.
    const RDS_SQLSERVER_SELECT: &str = r#"{"class":"TABLE",
        "clientApplication":"Microsoft SQL Server Management Studio - Query","command":"SELECT",
        "commandText":"select * from [testDB].[dbo].[TestTable]","databaseName":"testDB",
        "dbProtocol":"SQLSERVER","dbUserName":"test","endTime":null,"errorMessage":null,
        "exitCode":1,"logTime":"2022-10-06 21:24:59.9422268+00","objectName":"TestTable",
        "objectType":"TABLE","serverType":"SQLSERVER","sessionId":62,"startTime":null,
        "statementId":"0x03baed90412f564fad640ebe51f89b99","substatementId":1,
        "transactionId":"4532935","type":"record"}"#;

    /// (event, engine, envelope version printed with it, class)
    const DOCUMENTED: &[(&str, Engine, Option<&str>, ActivityClass)] = &[
        (AURORA_PG_CONNECT, Engine::PostgreSql, Some("1.1"), Connect),
        (AURORA_PG_CREATE_TABLE, Engine::PostgreSql, Some("1.1"), Ddl),
        (AURORA_PG_SELECT, Engine::PostgreSql, Some("1.1"), Read),
        (AURORA_MYSQL_CONNECT, Engine::MySql, None, Connect),
        (AURORA_MYSQL_CREATE_TABLE_MAIN, Engine::MySql, None, Ddl),
        (AURORA_MYSQL_CREATE_TABLE_AUX, Engine::MySql, None, Ddl),
        (AURORA_MYSQL_SELECT_MAIN, Engine::MySql, None, Read),
        (AURORA_MYSQL_SELECT_AUX, Engine::MySql, None, Read),
        (REAL_MYSQL_UPDATE, Engine::MySql, None, Dml),
        (RDS_ORACLE_LOGON, Engine::Oracle, None, Connect),
        (RDS_ORACLE_CREATE_TABLE, Engine::Oracle, None, Ddl),
        (RDS_ORACLE_SELECT, Engine::Oracle, None, Read),
        (RDS_SQLSERVER_LOGIN_FAILED, Engine::SqlServer, None, AuthFailure),
        (RDS_SQLSERVER_CREATE_TABLE, Engine::SqlServer, None, Ddl),
        (RDS_SQLSERVER_SELECT, Engine::SqlServer, None, Read),
    ];

    #[test]
    fn classifies_documented_examples_of_all_four_engines() {
        for (json, engine, version, want) in DOCUMENTED {
            let e = ev(json);
            assert_eq!(Engine::detect(&e, *version), *engine, "{json}");
            assert_eq!(classify(*engine, &e), *want, "{json}");
        }
    }

    #[test]
    fn detects_engine_of_documented_examples_without_envelope_version() {
        for (json, engine, _, _) in DOCUMENTED {
            assert_eq!(Engine::detect(&ev(json), None), *engine, "{json}");
        }
    }

    // ---- Engine detection ----------------------------------------------------------------------

    #[test]
    fn detects_engine_from_server_type_case_insensitively() {
        let cases = [
            ("PostgreSQL", Engine::PostgreSql),
            ("postgresql", Engine::PostgreSql),
            ("MySQL", Engine::MySql),
            ("MYSQL", Engine::MySql),
            ("oracle", Engine::Oracle),
            ("ORACLE", Engine::Oracle),
            ("SQLSERVER", Engine::SqlServer),
            ("SQL Server", Engine::SqlServer),
            ("sql_server", Engine::SqlServer),
            ("db2", Engine::Unknown),
            ("", Engine::Unknown),
        ];
        for (server_type, want) in cases {
            let json = format!(r#"{{"serverType":"{server_type}"}}"#);
            assert_eq!(Engine::detect(&ev(&json), None), want, "{server_type}");
        }
    }

    #[test]
    fn reads_each_engines_own_server_type_as_any_other_spelling() {
        for (name, engine) in [
            ("PostgreSQL", Engine::PostgreSql),
            ("MySQL", Engine::MySql),
            ("oracle", Engine::Oracle),
            ("SQLSERVER", Engine::SqlServer),
        ] {
            assert_eq!(Engine::from_name(name), engine, "{name}");
            assert_eq!(Engine::from_any_name(name), engine, "{name}");
        }
    }

    #[test]
    fn detects_engine_from_db_protocol_then_service_name_when_server_type_is_missing() {
        let cases = [
            (r#"{"dbProtocol":"Postgres 3.0"}"#, Engine::PostgreSql),
            (r#"{"serverType":null,"dbProtocol":"MySQL"}"#, Engine::MySql),
            (r#"{"serverType":"?","dbProtocol":"oracle"}"#, Engine::Oracle),
            (r#"{"serverType":7,"dbProtocol":"SQLSERVER"}"#, Engine::SqlServer),
            (r#"{"serviceName":"Amazon Aurora MySQL"}"#, Engine::MySql),
            (r#"{"serviceName":"sqlserver-ee"}"#, Engine::SqlServer),
            (r#"{"serviceName":"oracle-ee"}"#, Engine::Oracle),
        ];
        for (json, want) in cases {
            assert_eq!(Engine::detect(&ev(json), Some("1.3")), want, "{json}");
        }
    }

    #[test]
    fn event_fields_win_over_envelope_version() {
        assert_eq!(
            Engine::detect(&ev(r#"{"serverType":"MySQL"}"#), Some("1.1")),
            Engine::MySql
        );
    }

    #[test]
    fn detects_engine_from_envelope_version_when_event_says_nothing() {
        let cases = [
            ("1.0", Engine::PostgreSql),
            ("1.1", Engine::PostgreSql),
            ("1.2", Engine::MySql),
            ("1.3", Engine::Oracle),
            ("1.4", Engine::SqlServer),
            (" 1.4 ", Engine::SqlServer),
            ("1.5", Engine::Unknown),
            ("", Engine::Unknown),
        ];
        for (version, want) in cases {
            assert_eq!(Engine::detect(&ev("{}"), Some(version)), want, "{version}");
        }
        assert_eq!(Engine::detect(&ev("{}"), None), Engine::Unknown);
    }

    #[test]
    fn engine_and_class_names_are_stable() {
        let engines: Vec<_> = [
            Engine::PostgreSql,
            Engine::MySql,
            Engine::Oracle,
            Engine::SqlServer,
            Engine::Unknown,
        ]
        .map(Engine::as_str)
        .into();
        assert_eq!(engines, ["postgresql", "mysql", "oracle", "sqlserver", "unknown"]);
        let classes: Vec<_> = ActivityClass::ALL.map(ActivityClass::as_str).into();
        assert_eq!(
            classes,
            [
                "DDL",
                "DML",
                "READ",
                "CONNECT",
                "DISCONNECT",
                "ERROR",
                "AUTH_FAILURE",
                "OTHER"
            ]
        );
        assert_eq!(ActivityClass::AuthFailure.to_string(), "AUTH_FAILURE");
        assert_eq!(Engine::SqlServer.to_string(), "sqlserver");
    }

    #[test]
    fn all_lists_every_class_once_in_order() {
        let mut sorted = ActivityClass::ALL;
        sorted.sort();
        assert_eq!(sorted, ActivityClass::ALL);
        for c in ActivityClass::ALL {
            // Exhaustive match: a new variant fails to compile until listed here and in ALL.
            let i = match c {
                Ddl => 0,
                Dml => 1,
                Read => 2,
                Connect => 3,
                Disconnect => 4,
                Error => 5,
                AuthFailure => 6,
                Other => 7,
            };
            assert_eq!(ActivityClass::ALL[i], c);
            assert_eq!(c.index(), i, "index() is the position in ALL");
        }
        assert_eq!(ActivityClass::ALL.len(), ActivityClass::COUNT);
    }

    #[test]
    fn class_names_round_trip() {
        for c in ActivityClass::ALL {
            assert_eq!(ActivityClass::from_name(c.as_str()), Some(c));
            assert_eq!(ActivityClass::from_name(&c.as_str().to_lowercase()), Some(c));
        }
        assert_eq!(ActivityClass::from_name("auth failure"), Some(AuthFailure));
        assert_eq!(ActivityClass::from_name("Auth-Failure"), Some(AuthFailure));
        assert_eq!(ActivityClass::from_name(" read "), Some(Read));
        assert_eq!(ActivityClass::from_name("WRITE"), None);
        assert_eq!(ActivityClass::from_name(""), None);
    }

    // ---- Robustness ----------------------------------------------------------------------------

    /// No input panics: not the parser, not detection, not any engine's rules.
    #[test]
    fn no_input_panics() {
        let engines = [
            Engine::PostgreSql,
            Engine::MySql,
            Engine::Oracle,
            Engine::SqlServer,
            Engine::Unknown,
        ];
        let odd_values = [
            "null",
            "true",
            "false",
            "0",
            "-0",
            "1e999",
            "-1.5e-300",
            "18446744073709551616",
            "\"\"",
            "\" \"",
            "\"\\u0000\"",
            "\"\\ud83d\\ude00\"",
            "\"ü\"",
            "[]",
            "{}",
            "[null]",
            "{\"a\":{\"b\":[1,{\"c\":null}]}}",
            "\"/*\"",
            "\"WITH\"",
            "\"EXPLAIN (\"",
            "\"AUTH FAILURE\"",
            "\"LOGON\"",
            "\"LOGIN\"",
            "\"QUERY_\"",
            "\"QUERY\"",
            "\"LOGOFF\"",
        ];
        let fields = [
            "type",
            "class",
            "command",
            "commandText",
            "exitCode",
            "errorMessage",
            "serverType",
            "dbProtocol",
            "serviceName",
            "logTime",
            "startTime",
            "dbUserName",
        ];
        let versions = [None, Some(""), Some("1.1"), Some("9"), Some("\u{0}")];
        let mut inputs: Vec<String> = [
            "",
            " ",
            "[]",
            "null",
            "0",
            "\"x\"",
            "{",
            "}",
            "{}",
            "[{}]",
            "{\"type\":\"heartbeat\"}",
            "\u{feff}{}",
            "{\"a\":1}{",
            "{\"command\":\"CONNECT\"",
        ]
        .map(String::from)
        .into();
        for field in fields {
            for value in odd_values {
                inputs.push(format!("{{\"{field}\":{value}}}"));
                inputs.push(format!(
                    "{{\"{field}\":{value},\"command\":{value},\"commandText\":{value},\"class\":{value},\"exitCode\":{value}}}"
                ));
            }
        }
        let mut parsed = 0;
        for input in &inputs {
            let Ok(e) = EventView::parse(input) else { continue };
            parsed += 1;
            let _ = (e.is_heartbeat(), e.db_user(), e.event_time());
            for version in versions {
                let _ = Engine::detect(&e, version);
            }
            for engine in engines {
                let class = classify(engine, &e);
                assert!(ActivityClass::ALL.contains(&class));
            }
        }
        assert!(parsed > 500, "the odd inputs should mostly parse: {parsed}");
    }

    #[test]
    fn heartbeat_events_still_classify_without_panicking() {
        let hb = ev(r#"{"type":"heartbeat"}"#);
        assert!(hb.is_heartbeat());
        assert_eq!(classify(Engine::PostgreSql, &hb), Other);
        assert_eq!(classify(Engine::Unknown, &hb), Other);
    }
}
