//! RDS for SQL Server (sys.dm_audit_actions names, inverted `succeeded` flag).

use super::ActivityClass;
use super::fields::{class_is, command_is, first_command_word, from_text_then_command, has_error_message};
use crate::decode::event::EventView;

/// RDS for SQL Server: `command` from sys.dm_audit_actions, `class` the class type, and
/// `exitCode` the inverted `succeeded` flag (1 success, 0 failure).
pub fn classify(ev: &EventView<'_>) -> ActivityClass {
    use ActivityClass::*;
    let failed = sqlserver_failed(ev);
    if command_is(ev, &["LOGIN", "FAILED"]) {
        return AuthFailure;
    }
    let logout = first_command_word(ev).is_some_and(|w| w.eq_ignore_ascii_case("LOGOUT"));
    // A failed LOGIN-class event other than a logout is a failed login.
    if failed && class_is(ev, "LOGIN") && !logout {
        return AuthFailure;
    }
    // exitCode 0 elsewhere: the permission check failed. errorMessage is documented as always
    // null for SQL Server; honoured if it ever appears.
    if failed || has_error_message(ev) {
        return Error;
    }
    // LOGIN SUCCEEDED and LOGOUT: UNVERIFIED in DAS records (names from sys.dm_audit_actions).
    if command_is(ev, &["LOGIN", "SUCCEEDED"]) {
        return Connect;
    }
    if logout {
        return Disconnect;
    }
    // e.g. a CREATE TABLE is audited as class SCHEMA, command ALTER: the text says more.
    from_text_then_command(ev)
}

/// SQL Server: `exitCode` is `sys.fn_get_audit_file.succeeded`, so 0 (or "0", or `false`)
/// is the failure. Absent or null is not a failure (the docs say it cannot be null).
fn sqlserver_failed(ev: &EventView<'_>) -> bool {
    ev.exit_code
        .as_ref()
        .is_some_and(|c| c.as_bool() == Some(false) || c.is_zero())
}

#[cfg(test)]
mod tests {
    use crate::classify::ActivityClass::*;
    use crate::classify::Engine;
    use crate::classify::test_support::run;

    #[test]
    fn classifies_sqlserver_login_failed_as_auth_failure() {
        run(
            Engine::SqlServer,
            &[
                (
                    r#"{"class":"LOGIN","command":"LOGIN FAILED","exitCode":0}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"LOGIN","command":"LOGIN FAILED","exitCode":1}"#,
                    AuthFailure,
                ),
                (r#"{"command":"login failed"}"#, AuthFailure),
                (
                    r#"{"class":"LOGIN","command":"SOMETHING","exitCode":0}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"LOGIN","command":"LOGIN SUCCEEDED","exitCode":"0"}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"LOGIN","command":"AUTHENTICATE","exitCode":false}"#,
                    AuthFailure,
                ),
            ],
        );
    }

    #[test]
    fn sqlserver_exit_code_is_inverted() {
        run(
            Engine::SqlServer,
            &[
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"select 1","exitCode":0}"#,
                    Error,
                ),
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"select 1","exitCode":"0"}"#,
                    Error,
                ),
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"select 1","exitCode":false}"#,
                    Error,
                ),
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"select 1","exitCode":1}"#,
                    Read,
                ),
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"select 1","exitCode":"1"}"#,
                    Read,
                ),
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"select 1","exitCode":true}"#,
                    Read,
                ),
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"select 1","exitCode":null}"#,
                    Read,
                ),
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"select 1"}"#,
                    Read,
                ),
            ],
        );
    }

    #[test]
    fn classifies_sqlserver_session_commands() {
        run(
            Engine::SqlServer,
            &[
                (
                    r#"{"class":"LOGIN","command":"LOGIN SUCCEEDED","exitCode":1}"#,
                    Connect,
                ),
                (r#"{"class":"LOGIN","command":"LOGOUT","exitCode":1}"#, Disconnect),
                // A "failed" logout is not a failed login.
                (r#"{"class":"LOGIN","command":"LOGOUT","exitCode":0}"#, Error),
            ],
        );
    }

    #[test]
    fn classifies_sqlserver_actions_from_text_then_command() {
        run(
            Engine::SqlServer,
            &[
                (
                    r#"{"class":"SCHEMA","command":"ALTER","commandText":"Create table t (a int)","exitCode":1}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"SCHEMA","command":"ALTER","commandText":null,"exitCode":1}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"OBJECT","command":"CREATE","commandText":"","exitCode":1}"#,
                    Ddl,
                ),
                (r#"{"class":"OBJECT","command":"DROP","exitCode":1}"#, Ddl),
                (
                    r#"{"class":"TABLE","command":"INSERT","commandText":null,"exitCode":1}"#,
                    Dml,
                ),
                (r#"{"class":"TABLE","command":"UPDATE","exitCode":1}"#, Dml),
                (r#"{"class":"TABLE","command":"DELETE","exitCode":1}"#, Dml),
                (r#"{"class":"TABLE","command":"MERGE","exitCode":1}"#, Dml),
                (r#"{"class":"TABLE","command":"SELECT","exitCode":1}"#, Read),
                (
                    r#"{"class":"OBJECT","command":"EXECUTE","commandText":"exec dbo.p","exitCode":1}"#,
                    Other,
                ),
                // One statement, two permission checks: both events follow the statement text.
                (
                    r#"{"class":"TABLE","command":"SELECT","commandText":"INSERT INTO t SELECT * FROM s","exitCode":1}"#,
                    Dml,
                ),
                (
                    r#"{"class":"TABLE","command":"INSERT","commandText":"INSERT INTO t SELECT * FROM s","exitCode":1}"#,
                    Dml,
                ),
                // A batch that starts with SET: the command is more specific than the text.
                (
                    r#"{"class":"TABLE","command":"UPDATE","commandText":"SET NOCOUNT ON; UPDATE t SET a = 1","exitCode":1}"#,
                    Dml,
                ),
                (
                    r#"{"class":"SERVER","command":"CHANGE PASSWORD","exitCode":1}"#,
                    Ddl,
                ),
                (r#"{"class":"ROLE","command":"ADD MEMBER","exitCode":1}"#, Ddl),
                (r#"{"class":"DATABASE","command":"DENY","exitCode":1}"#, Ddl),
                (
                    r#"{"class":"DATABASE","command":"TRANSACTION BEGIN","exitCode":1}"#,
                    Other,
                ),
            ],
        );
    }
}
