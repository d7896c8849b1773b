//! No engine known: best effort across every engine's conventions.

use super::ActivityClass;
use super::fields::{classify_command, command_is, first_command_word, has_error_message};
use super::keywords::pgaudit_class;
use super::sql::classify_sql;
use crate::decode::event::EventView;

/// No engine known: the error fields, then session commands of every engine, then the
/// command, then the SQL text, then PostgreSQL-style class names. `exitCode` is ignored: its
/// meaning differs per engine (SQL Server's is inverted).
pub fn classify(ev: &EventView<'_>) -> ActivityClass {
    use ActivityClass::*;
    let session_start = command_is(ev, &["CONNECT"])
        || command_is(ev, &["LOGON"])
        || command_is(ev, &["LOGIN", "SUCCEEDED"])
        || command_is(ev, &["CHANGEUSER"]);
    if command_is(ev, &["AUTH", "FAILURE"])
        || command_is(ev, &["FAILED", "CONNECT"])
        || command_is(ev, &["LOGIN", "FAILED"])
    {
        return AuthFailure;
    }
    if has_error_message(ev) {
        return if session_start { AuthFailure } else { Error };
    }
    if session_start {
        return Connect;
    }
    let first = first_command_word(ev);
    if command_is(ev, &["DISCONNECT"])
        || first.is_some_and(|w| w.eq_ignore_ascii_case("LOGOFF") || w.eq_ignore_ascii_case("LOGOUT"))
    {
        return Disconnect;
    }
    let command = ev.command().and_then(classify_command);
    if let Some(c) = command.filter(|c| *c != Other) {
        return c;
    }
    let text = ev.command_text().and_then(classify_sql);
    if let Some(c) = text.filter(|c| *c != Other) {
        return c;
    }
    ev.class().and_then(pgaudit_class).unwrap_or(Other)
}

#[cfg(test)]
mod tests {
    use crate::classify::ActivityClass::*;
    use crate::classify::Engine;
    use crate::classify::test_support::run;

    #[test]
    fn classifies_unknown_engine_best_effort() {
        run(
            Engine::Unknown,
            &[
                (r#"{"command":"AUTH FAILURE"}"#, AuthFailure),
                (r#"{"command":"FAILED_CONNECT"}"#, AuthFailure),
                (r#"{"command":"LOGIN FAILED"}"#, AuthFailure),
                (r#"{"command":"CONNECT","errorMessage":"denied"}"#, AuthFailure),
                (
                    r#"{"command":"QUERY","commandText":"SELECT 1","errorMessage":"boom"}"#,
                    Error,
                ),
                (r#"{"command":"CONNECT"}"#, Connect),
                (r#"{"command":"LOGON","exitCode":0}"#, Connect),
                (r#"{"command":"LOGIN SUCCEEDED","exitCode":1}"#, Connect),
                (r#"{"command":"DISCONNECT"}"#, Disconnect),
                (r#"{"command":"LOGOFF BY CLEANUP"}"#, Disconnect),
                (r#"{"command":"LOGOUT"}"#, Disconnect),
                (r#"{"command":"CREATE TABLE","commandText":"select 1"}"#, Ddl),
                (r#"{"command":"QUERY","commandText":"delete from t"}"#, Dml),
                (r#"{"command":"READ","commandText":"t"}"#, Read),
                (r#"{"command":"EXECUTE","commandText":"CALL p()"}"#, Other),
                (r#"{"class":"WRITE","command":"?"}"#, Dml),
                (r#"{"class":"DDL"}"#, Ddl),
                (r#"{"class":"READ"}"#, Read),
                // exitCode alone means nothing without the engine.
                (r#"{"command":"SELECT","exitCode":0}"#, Read),
                (r#"{"command":"SELECT","exitCode":1017}"#, Read),
                (r#"{}"#, Other),
            ],
        );
    }
}
