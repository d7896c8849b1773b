//! Aurora MySQL (MariaDB server_audit MAIN and AUX events).

use super::ActivityClass;
use super::fields::{classify_command, command_is, first_command_word, has_error_message, nonzero_exit};
use super::keywords::{MYSQL_AUX_DDL, MYSQL_AUX_DML};
use super::sql::classify_sql;
use crate::decode::event::EventView;

/// Aurora MySQL: `class` MAIN (CONNECT, DISCONNECT, QUERY, FAILED_CONNECT, CHANGEUSER) or AUX
/// (READ, CREATE, and by the MariaDB server_audit table events also WRITE, DROP, RENAME,
/// ALTER). `exitCode` is a string, "0" or "" on success.
pub fn classify(ev: &EventView<'_>) -> ActivityClass {
    use ActivityClass::*;
    // FAILED_CONNECT and CHANGEUSER come from the MariaDB server_audit plugin that Aurora
    // MySQL advanced auditing derives from. UNVERIFIED in DAS records: matched defensively.
    if command_is(ev, &["FAILED", "CONNECT"]) {
        return AuthFailure;
    }
    let connecting = command_is(ev, &["CONNECT"])
        || command_is(ev, &["CHANGEUSER"])
        || command_is(ev, &["CHANGE", "USER"]);
    let failed = nonzero_exit(ev) || has_error_message(ev);
    if failed && connecting {
        // e.g. CONNECT with exitCode "1045" (access denied) and an errorMessage.
        return AuthFailure;
    }
    if failed {
        return Error;
    }
    if connecting {
        return Connect;
    }
    if command_is(ev, &["DISCONNECT"]) {
        return Disconnect;
    }
    let Some(cmd) = first_command_word(ev) else {
        return Other;
    };
    let cmd_is = |k: &str| cmd.eq_ignore_ascii_case(k);
    if cmd_is("QUERY") || cmd.get(..6).is_some_and(|p| p.eq_ignore_ascii_case("QUERY_")) {
        // MAIN QUERY: the SQL text decides. Aurora's audit event names QUERY_DDL, QUERY_DCL,
        // QUERY_DML are accepted as a fallback (UNVERIFIED as DAS commands).
        return ev.command_text().and_then(classify_sql).unwrap_or_else(|| {
            let suffix = cmd.get(6..).unwrap_or("");
            if suffix.eq_ignore_ascii_case("DDL") || suffix.eq_ignore_ascii_case("DCL") {
                Ddl
            } else if suffix.eq_ignore_ascii_case("DML") {
                Dml
            } else {
                Other
            }
        });
    }
    // AUX table events; `commandText` there is an object name, not SQL.
    if cmd_is("READ") {
        Read
    } else if MYSQL_AUX_DDL.iter().any(|k| cmd_is(k)) {
        Ddl
    } else if MYSQL_AUX_DML.iter().any(|k| cmd_is(k)) {
        Dml
    } else {
        ev.command().and_then(classify_command).unwrap_or(Other)
    }
}

#[cfg(test)]
mod tests {
    use crate::classify::ActivityClass::*;
    use crate::classify::Engine;
    use crate::classify::test_support::run;

    #[test]
    fn classifies_mysql_failed_connect_as_auth_failure() {
        run(
            Engine::MySql,
            &[
                (
                    r#"{"class":"MAIN","command":"FAILED_CONNECT","exitCode":"1045"}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"MAIN","command":"failed_connect","exitCode":"0"}"#,
                    AuthFailure,
                ),
            ],
        );
    }

    #[test]
    fn classifies_mysql_connect_with_failing_exit_code_or_error_message_as_auth_failure() {
        // Derived from the documented MySQL CONNECT example (awsdocs/amazon-aurora-user-guide)
        // with the failure fields of das-records.md §4 ("1045" and an errorMessage).
        run(
            Engine::MySql,
            &[
                (
                    r#"{"class":"MAIN","command":"CONNECT","exitCode":"1045","errorMessage":"Access denied for user 'x'@'h' (using password: YES)"}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"MAIN","command":"CONNECT","exitCode":"1045","errorMessage":""}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"MAIN","command":"CONNECT","exitCode":1045}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"MAIN","command":"CONNECT","exitCode":"0","errorMessage":"Access denied"}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"MAIN","command":"CHANGEUSER","exitCode":"1045"}"#,
                    AuthFailure,
                ),
            ],
        );
    }

    #[test]
    fn classifies_mysql_failing_statement_as_error() {
        run(
            Engine::MySql,
            &[
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SELEC 1","exitCode":"1064","errorMessage":"You have an error in your SQL syntax"}"#,
                    Error,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SELECT * FROM nope","exitCode":"1146"}"#,
                    Error,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SELECT 1","exitCode":"0","errorMessage":"Query execution was interrupted"}"#,
                    Error,
                ),
                (r#"{"class":"AUX","command":"READ","exitCode":"1"}"#, Error),
            ],
        );
    }

    #[test]
    fn mysql_success_exit_codes_are_not_errors() {
        run(
            Engine::MySql,
            &[
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SELECT 1","exitCode":"0","errorMessage":""}"#,
                    Read,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SELECT 1","exitCode":"","errorMessage":null}"#,
                    Read,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SELECT 1","exitCode":null}"#,
                    Read,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SELECT 1","exitCode":0}"#,
                    Read,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SELECT 1"}"#,
                    Read,
                ),
            ],
        );
    }

    #[test]
    fn classifies_mysql_session_commands() {
        run(
            Engine::MySql,
            &[
                (
                    r#"{"class":"MAIN","command":"CONNECT","exitCode":"0","errorMessage":""}"#,
                    Connect,
                ),
                (
                    r#"{"class":"MAIN","command":"CHANGEUSER","exitCode":"0"}"#,
                    Connect,
                ),
                (
                    r#"{"class":"MAIN","command":"DISCONNECT","exitCode":"0"}"#,
                    Disconnect,
                ),
                (
                    r#"{"class":"MAIN","command":"disconnect","exitCode":""}"#,
                    Disconnect,
                ),
            ],
        );
    }

    #[test]
    fn classifies_mysql_main_query_from_command_text() {
        run(
            Engine::MySql,
            &[
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"CREATE TABLE test1 (id INT)","exitCode":"0"}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"INSERT INTO t VALUES (1)","exitCode":"0"}"#,
                    Dml,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SHOW DATABASES","exitCode":"0"}"#,
                    Read,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"set autocommit=1","exitCode":"0"}"#,
                    Other,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"SET PASSWORD = 'my-password'","exitCode":"0"}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"LOAD DATA LOCAL INFILE 'x' INTO TABLE t","exitCode":"0"}"#,
                    Dml,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"/* mysql-connector-java */ SELECT @@session.tx_isolation","exitCode":"0"}"#,
                    Read,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":"","exitCode":"0"}"#,
                    Other,
                ),
                (
                    r#"{"class":"MAIN","command":"QUERY","commandText":null,"exitCode":"0"}"#,
                    Other,
                ),
            ],
        );
    }

    #[test]
    fn classifies_mysql_query_subtypes_when_text_is_unusable() {
        run(
            Engine::MySql,
            &[
                (r#"{"command":"QUERY_DDL","commandText":null}"#, Ddl),
                (r#"{"command":"QUERY_DCL","commandText":""}"#, Ddl),
                (r#"{"command":"QUERY_DML","commandText":"??"}"#, Dml),
                (r#"{"command":"QUERY_DML","commandText":"SELECT 1"}"#, Read),
            ],
        );
    }

    #[test]
    fn classifies_mysql_aux_table_events_by_command_not_object_name() {
        run(
            Engine::MySql,
            &[
                (
                    r#"{"class":"AUX","command":"READ","commandText":"test1","exitCode":""}"#,
                    Read,
                ),
                (
                    r#"{"class":"AUX","command":"CREATE","commandText":"test1","exitCode":""}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"AUX","command":"DROP","commandText":"t","exitCode":""}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"AUX","command":"ALTER","commandText":"t","exitCode":""}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"AUX","command":"RENAME","commandText":"t","exitCode":""}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"AUX","command":"WRITE","commandText":"t","exitCode":""}"#,
                    Dml,
                ),
                (
                    r#"{"class":"AUX","command":"DELETE","commandText":"t","exitCode":""}"#,
                    Dml,
                ),
                (
                    r#"{"class":"AUX","command":"UPDATE","commandText":"t","exitCode":""}"#,
                    Dml,
                ),
                (
                    r#"{"class":"AUX","command":"INSERT","commandText":"t","exitCode":""}"#,
                    Dml,
                ),
                // An object that happens to be named like a statement does not leak into the class.
                (
                    r#"{"class":"AUX","command":"READ","commandText":"delete","exitCode":""}"#,
                    Read,
                ),
                (
                    r#"{"class":"AUX","command":"SOMETHING","commandText":"drop","exitCode":""}"#,
                    Other,
                ),
                (r#"{"class":"AUX","command":null,"commandText":"drop"}"#, Other),
            ],
        );
    }
}
