//! Field tests shared by the engine rules: phrases in `command`, error fields, exit codes, and
//! the SQL-text-then-action-name fallback.

use super::ActivityClass;
use super::keywords::PRIVILEGE_WORDS;
use super::sql::{classify_sql, words};
use crate::decode::event::EventView;

/// `text` (trimmed) equals the words of `phrase` separated by any run of ASCII whitespace or `_`:
/// "AUTH FAILURE" matches "auth  failure" and "AUTH_FAILURE". Split as bytes: the separators
/// are ASCII, which is never part of a longer UTF-8 character, so the words are those of a
/// split by characters, without decoding one (a few calls an event).
pub fn is_phrase(text: &str, phrase: &[&str]) -> bool {
    let mut got = text
        .as_bytes()
        .split(|b| b.is_ascii_whitespace() || *b == b'_')
        .filter(|w| !w.is_empty());
    phrase
        .iter()
        .all(|p| got.next().is_some_and(|w| w.eq_ignore_ascii_case(p.as_bytes())))
        && got.next().is_none()
}

pub fn command_is(ev: &EventView<'_>, phrase: &[&str]) -> bool {
    ev.command().is_some_and(|c| is_phrase(c, phrase))
}

pub fn first_command_word<'b>(ev: &'b EventView<'_>) -> Option<&'b str> {
    ev.command().and_then(|c| words(c).next())
}

pub fn class_is(ev: &EventView<'_>, name: &str) -> bool {
    ev.class.as_ref().is_some_and(|c| c.eq_ignore_case(name))
}

/// `errorMessage` present and not blank.
pub fn has_error_message(ev: &EventView<'_>) -> bool {
    ev.error_message.as_ref().is_some_and(|m| !m.is_blank())
}

/// Engines where 0 means success (MySQL, Oracle): a present `exitCode` that is neither blank
/// nor zero. Booleans carry no such meaning and are ignored.
pub fn nonzero_exit(ev: &EventView<'_>) -> bool {
    ev.exit_code
        .as_ref()
        .is_some_and(|c| c.as_bool().is_none() && !c.is_blank() && !c.is_zero())
}

/// An action name ("CREATE TABLE", "SYSTEM GRANT", "PL/SQL EXECUTE", "ALTER", "READ"…) →
/// class. Tries it as SQL first, then looks for telling words.
pub fn classify_command(name: &str) -> Option<ActivityClass> {
    let as_sql = classify_sql(name);
    if as_sql.is_some_and(|c| c != ActivityClass::Other) {
        return as_sql;
    }
    let by_word = words(name).find_map(|w| {
        if PRIVILEGE_WORDS.iter().any(|k| w.eq_ignore_ascii_case(k)) {
            // Oracle "SYSTEM GRANT", SQL Server "CHANGE PASSWORD", "ADD MEMBER",
            // "TAKE OWNERSHIP": privilege and account changes.
            Some(ActivityClass::Ddl)
        } else if w.eq_ignore_ascii_case("READ") {
            Some(ActivityClass::Read)
        } else if w.eq_ignore_ascii_case("WRITE") {
            Some(ActivityClass::Dml)
        } else {
            None
        }
    });
    by_word.or(as_sql)
}

/// The SQL text first (DDL/DML/READ), then the action name, then whichever said OTHER.
pub fn from_text_then_command(ev: &EventView<'_>) -> ActivityClass {
    let text = ev.command_text().and_then(classify_sql);
    if let Some(c) = text.filter(|c| *c != ActivityClass::Other) {
        return c;
    }
    let command = ev.command().and_then(classify_command);
    command
        .filter(|c| *c != ActivityClass::Other)
        .or(text)
        .or(command)
        .unwrap_or(ActivityClass::Other)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_phrase_as_a_split_by_characters_does() {
        fn by_chars(text: &str, phrase: &[&str]) -> bool {
            let mut got = text
                .split(|c: char| c.is_ascii_whitespace() || c == '_')
                .filter(|w| !w.is_empty());
            phrase
                .iter()
                .all(|p| got.next().is_some_and(|w| w.eq_ignore_ascii_case(p)))
                && got.next().is_none()
        }
        let phrases: [&[&str]; 4] = [&["CONNECT"], &["AUTH", "FAILURE"], &["\u{e9}T\u{c9}"], &[]];
        let pieces = [
            "",
            " ",
            "_",
            "\t",
            "\n",
            "\u{b}",
            "\u{c}",
            "\u{0}",
            "\u{a0}",
            "\u{2028}",
            "connect",
            "CONNECT",
            "Connect",
            "auth",
            "FAILURE",
            "failure",
            "x",
            "\u{e9}t\u{c9}",
            "\u{e9}T\u{c9}",
            "\u{c9}T\u{e9}",
            "k\u{212a}",
        ];
        for phrase in phrases {
            for a in pieces {
                for b in pieces {
                    for c in pieces {
                        let text = format!("{a}{b}{c}");
                        assert_eq!(
                            is_phrase(&text, phrase),
                            by_chars(&text, phrase),
                            "{text:?} {phrase:?}"
                        );
                    }
                }
            }
        }
        assert!(is_phrase(" auth__FAILURE\t", &["AUTH", "FAILURE"]));
        assert!(!is_phrase("auth\u{a0}failure", &["AUTH", "FAILURE"]));
    }
}
