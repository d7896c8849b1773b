//! Aurora PostgreSQL (pgaudit classes and commands).

use super::ActivityClass;
use super::fields::{command_is, from_text_then_command, has_error_message};
use super::keywords::pgaudit_class;
use crate::decode::event::EventView;
use crate::decode::event::Scalar;

/// Aurora PostgreSQL: `class` is the pgaudit class (ALL, CONNECT, DDL, FUNCTION, MISC, NONE,
/// READ, ROLE, WRITE); `command` names the statement or the session event.
pub fn classify(ev: &EventView<'_>) -> ActivityClass {
    use ActivityClass::*;
    if command_is(ev, &["AUTH", "FAILURE"]) {
        return AuthFailure;
    }
    if has_error_message(ev) || pg_error_sqlstate(ev.exit_code.as_ref()) {
        return Error;
    }
    // The docs' CONNECT example has class MISC: the command decides.
    if command_is(ev, &["CONNECT"]) {
        return Connect;
    }
    if command_is(ev, &["DISCONNECT"]) {
        return Disconnect;
    }
    let class = ev.class().unwrap_or("");
    if let Some(c) = pgaudit_class(class) {
        c
    } else if crate::text::trim(class).eq_ignore_ascii_case("CONNECT") {
        Connect
    } else {
        // FUNCTION, MISC, ALL, NONE, unknown.
        from_text_then_command(ev)
    }
}

/// PostgreSQL puts the SQLSTATE of a failed statement in `exitCode`. Version 1.0 records have
/// no `errorMessage`, so an error-class SQLSTATE (5 alphanumerics, class other than 00
/// success, 01 warning, 02 no data) counts as an error too. Session exit codes are small
/// integers and never look like one. UNVERIFIED: no published record shows it.
fn pg_error_sqlstate(code: Option<&Scalar<'_>>) -> bool {
    let Some(code) = code else { return false };
    let s = crate::text::trim(code.as_str());
    s.len() == 5
        && s.bytes().all(|b| b.is_ascii_alphanumeric())
        && !(s.starts_with("00") || s.starts_with("01") || s.starts_with("02"))
}

#[cfg(test)]
mod tests {
    use crate::classify::ActivityClass::*;
    use crate::classify::Engine;
    use crate::classify::test_support::run;

    #[test]
    fn classifies_postgresql_auth_failure_before_anything_else() {
        run(
            Engine::PostgreSql,
            &[
                (
                    r#"{"command":"AUTH FAILURE","class":"MISC","errorMessage":"password authentication failed"}"#,
                    AuthFailure,
                ),
                (r#"{"command":"auth failure"}"#, AuthFailure),
                (r#"{"command":"AUTH_FAILURE"}"#, AuthFailure),
            ],
        );
    }

    #[test]
    fn classifies_postgresql_error_message_as_error() {
        run(
            Engine::PostgreSql,
            &[
                (
                    r#"{"command":"SELECT","class":"READ","commandText":"select * from nope","exitCode":"42P01","errorMessage":"relation \"nope\" does not exist"}"#,
                    Error,
                ),
                (
                    r#"{"command":"CREATE TABLE","class":"DDL","errorMessage":"syntax error"}"#,
                    Error,
                ),
                (r#"{"command":"CONNECT","errorMessage":"x"}"#, Error),
            ],
        );
    }

    #[test]
    fn classifies_postgresql_error_sqlstate_without_error_message_as_error() {
        run(
            Engine::PostgreSql,
            &[
                (
                    r#"{"class":"READ","exitCode":"42601","errorMessage":null}"#,
                    Error,
                ),
                (r#"{"class":"WRITE","exitCode":"23505"}"#, Error),
                (r#"{"class":"READ","exitCode":"00000"}"#, Read),
                (r#"{"class":"READ","exitCode":"01000"}"#, Read),
                (r#"{"class":"READ","exitCode":"02000"}"#, Read),
                (r#"{"command":"DISCONNECT","exitCode":0}"#, Disconnect),
                (r#"{"command":"DISCONNECT","exitCode":1}"#, Disconnect),
            ],
        );
    }

    #[test]
    fn postgresql_blank_or_null_error_message_is_not_an_error() {
        run(
            Engine::PostgreSql,
            &[
                (r#"{"class":"READ","errorMessage":null}"#, Read),
                (r#"{"class":"READ","errorMessage":""}"#, Read),
                (r#"{"class":"READ","errorMessage":"  "}"#, Read),
            ],
        );
    }

    #[test]
    fn classifies_postgresql_connect_and_disconnect_by_command_whatever_the_class() {
        run(
            Engine::PostgreSql,
            &[
                (r#"{"command":"CONNECT","class":"MISC"}"#, Connect),
                (r#"{"command":"connect","class":"CONNECT"}"#, Connect),
                (r#"{"command":"DISCONNECT","class":"MISC"}"#, Disconnect),
                (r#"{"command":"DISCONNECT","class":"CONNECT"}"#, Disconnect),
                (r#"{"command":"?","class":"CONNECT"}"#, Connect),
            ],
        );
    }

    #[test]
    fn classifies_postgresql_by_audit_class() {
        run(
            Engine::PostgreSql,
            &[
                (r#"{"class":"DDL","command":"ALTER TABLE"}"#, Ddl),
                (r#"{"class":"ROLE","command":"GRANT"}"#, Ddl),
                (r#"{"class":"role","command":"CREATE ROLE"}"#, Ddl),
                (
                    r#"{"class":"WRITE","command":"INSERT","commandText":"insert into t values (1)"}"#,
                    Dml,
                ),
                (
                    r#"{"class":"READ","command":"SELECT","commandText":"SELECT 1"}"#,
                    Read,
                ),
                // The class wins over the text (per-object audit events of one statement).
                (
                    r#"{"class":"READ","command":"SELECT","commandText":"INSERT INTO t SELECT * FROM s"}"#,
                    Read,
                ),
                (
                    r#"{"class":"WRITE","command":"TRUNCATE TABLE","commandText":"TRUNCATE t"}"#,
                    Dml,
                ),
            ],
        );
    }

    #[test]
    fn classifies_postgresql_copy_by_direction() {
        run(
            Engine::PostgreSql,
            &[
                (
                    r#"{"class":"WRITE","command":"COPY","commandText":"COPY t FROM STDIN"}"#,
                    Dml,
                ),
                (
                    r#"{"class":"READ","command":"COPY","commandText":"COPY t TO STDOUT"}"#,
                    Read,
                ),
                (
                    r#"{"class":"MISC","command":"COPY","commandText":"COPY t FROM STDIN"}"#,
                    Dml,
                ),
                (
                    r#"{"class":"ALL","command":"COPY","commandText":"copy (select 1) to stdout"}"#,
                    Read,
                ),
            ],
        );
    }

    #[test]
    fn classifies_postgresql_misc_function_all_none_from_text_then_command() {
        run(
            Engine::PostgreSql,
            &[
                (
                    r#"{"class":"MISC","command":"SET","commandText":"SET search_path TO public"}"#,
                    Other,
                ),
                (
                    r#"{"class":"MISC","command":"VACUUM","commandText":"vacuum t"}"#,
                    Other,
                ),
                (
                    r#"{"class":"MISC","command":"DISCARD ALL","commandText":"DISCARD ALL"}"#,
                    Other,
                ),
                (
                    r#"{"class":"MISC","command":"CHECKPOINT","commandText":null}"#,
                    Other,
                ),
                (
                    r#"{"class":"FUNCTION","command":"EXECUTE","commandText":"select my_func()"}"#,
                    Read,
                ),
                (
                    r#"{"class":"FUNCTION","command":"EXECUTE","commandText":"DO $$ BEGIN END $$"}"#,
                    Other,
                ),
                (
                    r#"{"class":"ALL","command":"?","commandText":"EXPLAIN ANALYZE DELETE FROM t"}"#,
                    Dml,
                ),
                (
                    r#"{"class":"NONE","command":"?","commandText":"WITH a AS (SELECT 1) UPDATE t SET x = 1"}"#,
                    Dml,
                ),
                (r#"{"class":"SOMETHING_NEW","commandText":"drop table t"}"#, Ddl),
                // No usable text: the command read as a keyword.
                (
                    r#"{"class":"MISC","command":"CREATE TABLE","commandText":null}"#,
                    Ddl,
                ),
                (r#"{"class":"MISC","command":"INSERT","commandText":""}"#, Dml),
                (r#"{"class":"MISC","command":"SELECT","commandText":"??"}"#, Read),
                // Text says OTHER but the command is more specific.
                (r#"{"class":"ALL","command":"GRANT","commandText":"BEGIN"}"#, Ddl),
                (r#"{"class":"MISC"}"#, Other),
                (r#"{}"#, Other),
            ],
        );
    }
}
