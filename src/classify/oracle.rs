//! RDS for Oracle (unified audit action names and return codes).

use super::ActivityClass;
use super::fields::{
    command_is, first_command_word, from_text_then_command, has_error_message, nonzero_exit,
};
use crate::decode::event::EventView;

/// RDS for Oracle: `command` is the unified audit ACTION_NAME, `exitCode` the RETURN_CODE
/// (0 success; 1017 bad password, 28000 locked account on LOGON).
pub fn classify(ev: &EventView<'_>) -> ActivityClass {
    use ActivityClass::*;
    let logon = command_is(ev, &["LOGON"]);
    let failed = nonzero_exit(ev);
    if logon && failed {
        return AuthFailure;
    }
    // errorMessage is documented as always null for Oracle; honoured if it ever appears.
    if failed || has_error_message(ev) {
        return Error;
    }
    if logon {
        return Connect;
    }
    // "LOGOFF", "LOGOFF BY CLEANUP".
    if first_command_word(ev).is_some_and(|w| w.eq_ignore_ascii_case("LOGOFF")) {
        return Disconnect;
    }
    from_text_then_command(ev)
}

#[cfg(test)]
mod tests {
    use crate::classify::ActivityClass::*;
    use crate::classify::Engine;
    use crate::classify::test_support::run;

    #[test]
    fn classifies_oracle_failed_logon_as_auth_failure() {
        // The documented LOGON example (awsdocs/amazon-rds-user-guide) with the RETURN_CODEs
        // of das-records.md §4: 1017 bad password, 28000 locked account.
        run(
            Engine::Oracle,
            &[
                (
                    r#"{"class":"Standard","command":"LOGON","commandText":null,"exitCode":1017,"dbUserName":"TEST"}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"Standard","command":"LOGON","exitCode":28000}"#,
                    AuthFailure,
                ),
                (
                    r#"{"class":"Standard","command":"logon","exitCode":"1017"}"#,
                    AuthFailure,
                ),
            ],
        );
    }

    #[test]
    fn classifies_oracle_nonzero_exit_code_as_error() {
        run(
            Engine::Oracle,
            &[
                (
                    r#"{"class":"Standard","command":"SELECT","commandText":"select * from nope","exitCode":942}"#,
                    Error,
                ),
                (
                    r#"{"class":"Standard","command":"CREATE TABLE","exitCode":"955"}"#,
                    Error,
                ),
                (
                    r#"{"class":"Standard","command":"LOGOFF","exitCode":3113}"#,
                    Error,
                ),
                (
                    r#"{"class":"Standard","command":"SELECT","exitCode":0,"errorMessage":"ORA-00942"}"#,
                    Error,
                ),
            ],
        );
    }

    #[test]
    fn classifies_oracle_session_commands() {
        run(
            Engine::Oracle,
            &[
                (r#"{"class":"Standard","command":"LOGON","exitCode":0}"#, Connect),
                (
                    r#"{"class":"Standard","command":"LOGON","exitCode":null}"#,
                    Connect,
                ),
                (
                    r#"{"class":"Standard","command":"LOGOFF","exitCode":0}"#,
                    Disconnect,
                ),
                (
                    r#"{"class":"Standard","command":"LOGOFF BY CLEANUP","exitCode":0}"#,
                    Disconnect,
                ),
            ],
        );
    }

    #[test]
    fn classifies_oracle_actions_from_text_then_action_name() {
        run(
            Engine::Oracle,
            &[
                (
                    r#"{"class":"Standard","command":"CREATE TABLE","commandText":null,"exitCode":0}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"Standard","command":"ALTER USER","commandText":"ALTER USER bob IDENTIFIED BY *","exitCode":0}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"Standard","command":"GRANT","commandText":null,"exitCode":0}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"Standard","command":"SYSTEM GRANT","commandText":null,"exitCode":0}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"Standard","command":"TRUNCATE TABLE","commandText":"truncate table t","exitCode":0}"#,
                    Ddl,
                ),
                (
                    r#"{"class":"Standard","command":"INSERT","commandText":"insert into t values (:1)","exitCode":0}"#,
                    Dml,
                ),
                (
                    r#"{"class":"Standard","command":"UPDATE","commandText":null,"exitCode":0}"#,
                    Dml,
                ),
                (
                    r#"{"class":"Standard","command":"DELETE","commandText":null,"exitCode":0}"#,
                    Dml,
                ),
                (
                    r#"{"class":"Standard","command":"SELECT","commandText":null,"exitCode":0}"#,
                    Read,
                ),
                (
                    r#"{"class":"Standard","command":"EXECUTE","commandText":"BEGIN p; END;","exitCode":0}"#,
                    Other,
                ),
                (
                    r#"{"class":"Standard","command":"PL/SQL EXECUTE","commandText":null,"exitCode":0}"#,
                    Other,
                ),
                (
                    r#"{"class":"Standard","command":"ALTER SESSION","commandText":"ALTER SESSION SET x = 1","exitCode":0}"#,
                    Other,
                ),
                (
                    r#"{"class":"Standard","command":"COMMIT","commandText":null,"exitCode":0}"#,
                    Other,
                ),
                // Text that only says OTHER (a PL/SQL block) yields to a specific action name.
                (
                    r#"{"class":"Standard","command":"SELECT","commandText":"BEGIN SELECT 1 INTO v FROM dual; END;","exitCode":0}"#,
                    Read,
                ),
                (
                    r#"{"class":"Database Vault","command":"REALM VIOLATION","exitCode":0}"#,
                    Other,
                ),
            ],
        );
    }
}
