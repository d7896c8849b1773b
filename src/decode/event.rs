//! A borrowed, lenient view of one decrypted DAS event (das-records.md §4).
//!
//! Only the fields that classification, filtering and partitioning read are kept; every other
//! field (`engineNativeAuditFields`, `paramList`, …) is skipped without being materialised.
//! Engines disagree on field types (`exitCode` null | int | string, `sessionId` string | int,
//! `statementId` int | hex string, …), so every kept field is an optional [`Scalar`]: the text
//! of a JSON string, number or boolean. `null`, objects and arrays read as "absent" instead of
//! failing the event, and a repeated key keeps its last value, like `serde_json::Value`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::ingest::scan::{
    expect, has_control_byte, more_members, read_str_value, same_bytes, skip_ws, unescaped_bytes,
};
use crate::output::line::ADDED_FIELDS;
use crate::text;

/// The JSON type a [`Scalar`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScalarKind {
    /// A JSON string; the text is unescaped.
    String,
    /// A JSON number; the text is exactly as written (`0`, `-1`, `1.5e3`).
    Number,
    /// `true` or `false`.
    Bool,
}

/// The text of a scalar JSON value, borrowed from the input unless the string held escapes.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scalar<'a> {
    text: Cow<'a, str>,
    kind: ScalarKind,
}

impl<'a> Scalar<'a> {
    /// A string scalar (tests and callers that build views by hand).
    pub fn string(text: impl Into<Cow<'a, str>>) -> Self {
        Scalar {
            text: text.into(),
            kind: ScalarKind::String,
        }
    }

    /// A number or a boolean, as written.
    fn literal(text: &'a str, kind: ScalarKind) -> Self {
        Scalar {
            text: Cow::Borrowed(text),
            kind,
        }
    }

    /// Reads one raw JSON value. `Ok(None)` for `null`, objects and arrays: those are "absent"
    /// for a field that should be scalar.
    pub fn from_raw_json(raw: &'a str) -> Result<Option<Scalar<'a>>, serde_json::Error> {
        let raw = text::trim(raw);
        let Some(first) = raw.bytes().next() else {
            return Ok(None);
        };
        let scalar = match first {
            b'"' => {
                // The raw text of a string already passed serde_json's validation; without a
                // backslash its content is the text between the quotes, so borrow it.
                let inner = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"'));
                match inner {
                    Some(inner) if memchr::memchr(b'\\', inner.as_bytes()).is_none() => Scalar::string(inner),
                    _ => match serde_json::from_str::<String>(raw) {
                        Ok(text) => Scalar::string(text),
                        // A lone surrogate escape (`\ud800`) is valid JSON syntax but no
                        // Unicode text: read it as U+FFFD, so the rest of the text classifies.
                        Err(_) => Scalar::string(unescape_lossy(raw)?),
                    },
                }
            }
            b't' | b'f' => Scalar::literal(raw, ScalarKind::Bool),
            b'-' | b'0'..=b'9' => Scalar::literal(raw, ScalarKind::Number),
            // `null`, `{…}`, `[…]`.
            _ => return Ok(None),
        };
        Ok(Some(scalar))
    }

    /// The text: unescaped string content, or the number / boolean as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Which JSON type the value had.
    pub fn kind(&self) -> ScalarKind {
        self.kind
    }

    /// True when the text is empty or only whitespace.
    pub fn is_blank(&self) -> bool {
        text::trim(&self.text).is_empty()
    }

    /// True for a numeric zero written as a number or a string: `0`, `"0"`, `-0`, `0.0`, `" 0 "`.
    pub fn is_zero(&self) -> bool {
        let t = text::trim(&self.text);
        match self.kind {
            ScalarKind::Bool => false,
            ScalarKind::String | ScalarKind::Number => {
                t.parse::<i64>().is_ok_and(|n| n == 0) || t.parse::<f64>().is_ok_and(|f| f == 0.0)
            }
        }
    }

    /// `Some(b)` for a JSON boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match (self.kind, self.text.as_ref()) {
            (ScalarKind::Bool, "true") => Some(true),
            (ScalarKind::Bool, "false") => Some(false),
            _ => None,
        }
    }

    /// Case-insensitive (ASCII) comparison of the trimmed text.
    pub fn eq_ignore_case(&self, other: &str) -> bool {
        text::trim(&self.text).eq_ignore_ascii_case(other)
    }
}

/// The content of a JSON string literal whose escapes may hold lone surrogates: serde_json
/// unescapes them to WTF-8 bytes, which are then read lossily (U+FFFD).
fn unescape_lossy(raw: &str) -> Result<String, serde_json::Error> {
    struct Bytes;
    impl Visitor<'_> for Bytes {
        type Value = String;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON string")
        }
        fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<String, E> {
            Ok(String::from_utf8_lossy(v).into_owned())
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_owned())
        }
    }
    let mut de = serde_json::Deserializer::from_str(raw);
    let text = de.deserialize_bytes(Bytes)?;
    de.end()?;
    Ok(text)
}

impl fmt::Display for Scalar<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The text of an optional scalar field.
pub fn opt_str<'b>(field: &'b Option<Scalar<'_>>) -> Option<&'b str> {
    field.as_ref().map(Scalar::as_str)
}

/// A borrowed, lenient view of the few fields of one DAS event that classification, filtering
/// and partitioning need. Every field is optional and tolerant of the type variations in
/// das-records.md §4 (exitCode null|int|string, sessionId string|int, statementId int|hex
/// string, etc).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventView<'a> {
    /// `type`: "record" or "heartbeat".
    pub record_type: Option<Scalar<'a>>,
    /// `serverType`: "PostgreSQL", "MySQL", "oracle", "SQLSERVER".
    pub server_type: Option<Scalar<'a>>,
    /// `dbProtocol`: "Postgres 3.0", "MySQL", "oracle", "SQLSERVER".
    pub db_protocol: Option<Scalar<'a>>,
    /// `serviceName`: "Amazon Aurora MySQL", "oracle-ee", "sqlserver-ee", …
    pub service_name: Option<Scalar<'a>>,
    /// `class`: engine-specific (PG audit class, MySQL MAIN/AUX, Oracle audit type, SQL
    /// Server class type).
    pub class: Option<Scalar<'a>>,
    /// `command`: engine-specific action name.
    pub command: Option<Scalar<'a>>,
    /// `commandText`: the SQL text (MySQL AUX: an object name; SQL Server LOGIN FAILED: a
    /// message).
    pub command_text: Option<Scalar<'a>>,
    /// `exitCode`: SQLSTATE, MySQL/Oracle error number, or SQL Server's inverted success flag.
    pub exit_code: Option<Scalar<'a>>,
    /// `errorMessage`.
    pub error_message: Option<Scalar<'a>>,
    /// `dbUserName`.
    pub db_user_name: Option<Scalar<'a>>,
    /// `databaseName`.
    pub database_name: Option<Scalar<'a>>,
    /// `remoteHost` ("localhost" marks rdsadmin activity on Aurora MySQL).
    pub remote_host: Option<Scalar<'a>>,
    /// `clientApplication`.
    pub client_application: Option<Scalar<'a>>,
    /// `logTime`.
    pub log_time: Option<Scalar<'a>>,
    /// `startTime`.
    pub start_time: Option<Scalar<'a>>,
    /// `objectType`.
    pub object_type: Option<Scalar<'a>>,
    /// `objectName`.
    pub object_name: Option<Scalar<'a>>,
    /// True when the event has a top-level key the output line adds (`activityClass`,
    /// `clusterId`, `instanceId`, `eventId`, `dasVersion`): its line is written with that key
    /// renamed (see [`crate::output::line`]).
    pub has_added_field_key: bool,
}

impl<'a> EventView<'a> {
    /// Parses the JSON text of ONE event object. Unknown fields are ignored; a non-object,
    /// invalid JSON or trailing bytes are an error.
    pub fn parse(raw: &'a str) -> Result<EventView<'a>, serde_json::Error> {
        serde_json::from_str(raw)
    }

    /// [`EventView::read_into`] a new view (tests).
    #[cfg(test)]
    pub(crate) fn read(json: &'a str, at: &mut usize) -> Option<EventView<'a>> {
        let mut view = EventView::default();
        EventView::read_into(json, at, &mut view, &mut KeyOrder::default())?;
        Some(view)
    }

    /// Reads the event object at `at` (after whitespace) of a payload's text into `view`, which
    /// must be empty (default), and moves `at` past it; `None` when that is not an event object
    /// (the caller then leaves the payload to serde, which decides). Into a view the caller
    /// holds, not returned: a payload's reader fills each view where its list keeps it instead
    /// of moving half a KB an event. Where the object is plain it is walked by hand
    /// ([`read_plain`]): keys compared as bytes, a string's end found eight bytes at a time
    /// (memchr's SIMD search past the first 32), numbers and literals checked against JSON's
    /// grammar, `[]` and `{}` passed over, other containers and strings with escapes read by
    /// serde_json from where they start, and the values of fields not kept only checked. The
    /// text is UTF-8 already, and the caller refuses any control byte in the event's text.
    /// Anything else (a key with an escape, a syntax error) is read by serde_json from the
    /// object's start, as [`EventView::parse`] reads it. Either way the view is the one
    /// [`EventView::parse`] makes of the object's text (the agreement tests here and in
    /// `decode::payload`, the `event_classify` and `record` fuzz targets).
    ///
    /// `keys` holds the keys of the payload's events before, each in its place ([`KeyOrder`]).
    pub(crate) fn read_into(
        json: &'a str,
        at: &mut usize,
        view: &mut EventView<'a>,
        keys: &mut KeyOrder<'a>,
    ) -> Option<()> {
        let start = *at;
        if read_plain_into(json, at, view, keys).is_some() {
            return Some(());
        }
        *at = start;
        *view = read_str_value(json, at)?;
        Some(())
    }

    /// `type` == "heartbeat" (case-insensitive).
    pub fn is_heartbeat(&self) -> bool {
        self.record_type
            .as_ref()
            .is_some_and(|t| t.eq_ignore_case("heartbeat"))
    }

    /// `dbUserName`, as written (may be empty).
    pub fn db_user(&self) -> Option<&str> {
        opt_str(&self.db_user_name)
    }

    /// `logTime`, else `startTime` (raw text; a blank value counts as absent).
    pub fn event_time(&self) -> Option<&str> {
        [&self.log_time, &self.start_time]
            .into_iter()
            .filter_map(|f| f.as_ref())
            .find(|s| !s.is_blank())
            .map(Scalar::as_str)
    }

    /// `command` text.
    pub fn command(&self) -> Option<&str> {
        opt_str(&self.command)
    }

    /// `commandText` text.
    pub fn command_text(&self) -> Option<&str> {
        opt_str(&self.command_text)
    }

    /// `class` text.
    pub fn class(&self) -> Option<&str> {
        opt_str(&self.class)
    }

    /// Where the value of a key goes: the kept field's slot, or `None` for a key whose value
    /// is not kept (a key the output line adds is noted in `has_added_field_key`). Both
    /// readers, serde's and [`read_plain`], go through it.
    fn slot(&mut self, field: Field) -> Option<&mut Option<Scalar<'a>>> {
        Some(match field {
            Field::RecordType => &mut self.record_type,
            Field::ServerType => &mut self.server_type,
            Field::DbProtocol => &mut self.db_protocol,
            Field::ServiceName => &mut self.service_name,
            Field::Class => &mut self.class,
            Field::Command => &mut self.command,
            Field::CommandText => &mut self.command_text,
            Field::ExitCode => &mut self.exit_code,
            Field::ErrorMessage => &mut self.error_message,
            Field::DbUserName => &mut self.db_user_name,
            Field::DatabaseName => &mut self.database_name,
            Field::RemoteHost => &mut self.remote_host,
            Field::ClientApplication => &mut self.client_application,
            Field::LogTime => &mut self.log_time,
            Field::StartTime => &mut self.start_time,
            Field::ObjectType => &mut self.object_type,
            Field::ObjectName => &mut self.object_name,
            Field::Added => {
                self.has_added_field_key = true;
                return None;
            }
            Field::Ignored => return None,
        })
    }
}

/// The fields kept, by JSON key. Matching is exact (DAS keys are camelCase).
#[derive(Clone, Copy)]
enum Field {
    RecordType,
    ServerType,
    DbProtocol,
    ServiceName,
    Class,
    Command,
    CommandText,
    ExitCode,
    ErrorMessage,
    DbUserName,
    DatabaseName,
    RemoteHost,
    ClientApplication,
    LogTime,
    StartTime,
    ObjectType,
    ObjectName,
    /// A key the output line adds.
    Added,
    Ignored,
}

impl Field {
    fn from_key(key: &[u8]) -> Field {
        match key {
            b"type" => Field::RecordType,
            b"serverType" => Field::ServerType,
            b"dbProtocol" => Field::DbProtocol,
            b"serviceName" => Field::ServiceName,
            b"class" => Field::Class,
            b"command" => Field::Command,
            b"commandText" => Field::CommandText,
            b"exitCode" => Field::ExitCode,
            b"errorMessage" => Field::ErrorMessage,
            b"dbUserName" => Field::DbUserName,
            b"databaseName" => Field::DatabaseName,
            b"remoteHost" => Field::RemoteHost,
            b"clientApplication" => Field::ClientApplication,
            b"logTime" => Field::LogTime,
            b"startTime" => Field::StartTime,
            b"objectType" => Field::ObjectType,
            b"objectName" => Field::ObjectName,
            _ if ADDED_FIELDS.iter().any(|f| f.as_bytes() == key) => Field::Added,
            _ => Field::Ignored,
        }
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = Field;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Field, E> {
                Ok(Field::from_key(key.as_bytes()))
            }
            fn visit_bytes<E: de::Error>(self, key: &[u8]) -> Result<Field, E> {
                Ok(Field::from_key(key))
            }
        }
        // As bytes: serde_json unescapes them without rejecting lone surrogates (`"\udc00"`),
        // which can never name a field we read.
        deserializer.deserialize_bytes(FieldVisitor)
    }
}

/// The hand-walked read of [`EventView::read`]; `None` for anything it does not take as it
/// stands.
fn read_plain<'a>(json: &'a str, at: &mut usize) -> Option<EventView<'a>> {
    let mut ev = EventView::default();
    read_plain_into(json, at, &mut ev, &mut KeyOrder::default())?;
    Some(ev)
}

/// The keys of a payload's events, each in its place (the key of the latest event that had one
/// there, read by hand), with its [`Field`]. DAS writes an engine's events with the same keys
/// in the same order, so the next event's key at each place is most often the one before it
/// there: it is compared as it stands (its quotes included) instead of searched for its end and
/// matched against every field's name.
///
/// Keys are kept only once [`KeyOrder::keep`] is called, from a payload's second event on: a
/// payload of one event (the most common) pays nothing for them.
#[derive(Default)]
pub(crate) struct KeyOrder<'a> {
    keys: Vec<(&'a [u8], Field)>,
    keeping: bool,
}

impl<'a> KeyOrder<'a> {
    /// Keeps the keys of the events read from now on, with room for `keys` of them.
    pub(crate) fn keep(&mut self, keys: usize) {
        if !self.keeping {
            self.keeping = true;
            self.keys.reserve(keys);
        }
    }

    /// The object key at `at` (after whitespace), without escapes, and its field; moves `at`
    /// past it. The `index`th key kept if the text there is that key between quotes (which
    /// [`unescaped_bytes`] would read as the same bytes: the key holds no `"` or `\`), else
    /// read by [`unescaped_bytes`] (and, once [`KeyOrder::keep`] was called, kept as the
    /// `index`th key for the next event).
    fn read(&mut self, bytes: &'a [u8], at: &mut usize, index: usize) -> Option<Field> {
        if let Some(&(key, field)) = self.keys.get(index) {
            let start = skip_ws(bytes, *at);
            let end = start + key.len() + 2;
            if let Some([b'"', quoted @ .., b'"']) = bytes.get(start..end)
                && same_bytes(quoted, key)
            {
                *at = end;
                return Some(field);
            }
        }
        let key = unescaped_bytes(bytes, at)?;
        let field = Field::from_key(key);
        if self.keeping {
            self.keys.truncate(index);
            self.keys.push((key, field));
        }
        Some(field)
    }
}

/// [`read_plain`] into an empty `ev`; on `None` its fields are left part read.
fn read_plain_into<'a>(
    json: &'a str,
    at: &mut usize,
    ev: &mut EventView<'a>,
    keys: &mut KeyOrder<'a>,
) -> Option<()> {
    let bytes = json.as_bytes();
    expect(bytes, at, b'{')?;
    if expect(bytes, at, b'}').is_some() {
        return Some(());
    }
    let mut index = 0;
    loop {
        // The text's UTF-8 is checked, and its control bytes are checked by the caller.
        let field = keys.read(bytes, at, index)?;
        index += 1;
        expect(bytes, at, b':')?;
        // As serde does: a repeated key keeps its last value; other values are read and
        // dropped, so that their syntax is checked as serde checks it.
        match ev.slot(field) {
            Some(slot) => read_scalar(json, at, slot)?,
            None => skip_value(json, at)?,
        }
        if !more_members(bytes, at, b'}')? {
            return Some(());
        }
    }
}

/// Where the hand-walked read of one event's `text` disagrees with [`EventView::parse`], if it
/// does: `None` when the read leaves the text to serde (as `decode::payload` also does for a
/// text holding any byte below 0x20) or reads the view serde reads (unit tests, the
/// `event_classify` fuzz target). Not on the records' path.
pub fn hand_read_disagreement(text: &str) -> Option<String> {
    let mut at = 0;
    let view = read_plain(text, &mut at)?;
    if has_control_byte(text.as_bytes()) || skip_ws(text.as_bytes(), at) != text.len() {
        return None;
    }
    match EventView::parse(text) {
        Ok(parsed) if parsed == view => None,
        parsed => Some(format!("read by hand as {view:?}, by serde as {parsed:?}")),
    }
}

/// The value at `at` (after whitespace) as a field's [`Scalar`], written to `slot` (`None` for
/// `null`, an object or an array, as [`Scalar::from_raw_json`] reads them); moves `at` past it.
/// Written in place rather than returned: a returned `Option<Scalar>` went through the stack
/// and was read back before its stores had landed, a stall on every kept field.
fn read_scalar<'a>(json: &'a str, at: &mut usize, slot: &mut Option<Scalar<'a>>) -> Option<()> {
    let bytes = json.as_bytes();
    let start = skip_ws(bytes, *at);
    let (end, scalar) = match *bytes.get(start)? {
        b'"' => {
            let mut end = start;
            if unescaped_bytes(bytes, &mut end).is_some() {
                // No escape: the text between the quotes, borrowed (a control byte in it is
                // refused by the caller's check of the event's whole text).
                (end, Scalar::string(json.get(start + 1..end - 1)?))
            } else {
                // Escapes: serde reads the string, as `Lenient` does.
                *at = start;
                let raw: &RawValue = read_str_value(json, at)?;
                *slot = Scalar::from_raw_json(raw.get()).ok()?;
                return Some(());
            }
        }
        b't' => (
            literal_end(bytes, start, "true")?,
            Scalar::literal("true", ScalarKind::Bool),
        ),
        b'f' => (
            literal_end(bytes, start, "false")?,
            Scalar::literal("false", ScalarKind::Bool),
        ),
        b'-' | b'0'..=b'9' => {
            let end = number_end(bytes, start)?;
            (end, Scalar::literal(json.get(start..end)?, ScalarKind::Number))
        }
        // `null`, the commonest absent value in DAS events, here: through `skip_value` it cost
        // 1.6% more instructions a fifty-event record (callgrind).
        b'n' => {
            *at = literal_end(bytes, start, "null")?;
            *slot = None;
            return Some(());
        }
        // Objects and arrays read as absent; their syntax, and that of anything that is no
        // value at all, checked where the values of fields not kept are.
        _ => {
            skip_value(json, at)?;
            *slot = None;
            return Some(());
        }
    };
    *at = end;
    *slot = Some(scalar);
    Some(())
}

/// Moves `at` past the value at `at` (after whitespace), checking its syntax as serde checks
/// that of a value it ignores, without making a [`Scalar`] of it: the value of a field that is
/// not kept.
fn skip_value(json: &str, at: &mut usize) -> Option<()> {
    let bytes = json.as_bytes();
    let start = skip_ws(bytes, *at);
    *at = match *bytes.get(start)? {
        b'"' => {
            let mut end = start;
            if unescaped_bytes(bytes, &mut end).is_none() {
                // Escapes: serde checks them.
                *at = start;
                return read_str_value::<IgnoredAny>(json, at).map(|_| ());
            }
            end
        }
        // `[]` or `{}`, nothing between, as DAS writes `paramList` for a statement without
        // parameters: serde reads it as it stands, and setting its reader up for it was 0.7%
        // of a fifty-event record's instructions.
        b'{' if bytes.get(start + 1) == Some(&b'}') => start + 2,
        b'[' if bytes.get(start + 1) == Some(&b']') => start + 2,
        b'{' | b'[' => {
            *at = start;
            return read_str_value::<IgnoredAny>(json, at).map(|_| ());
        }
        b'n' => literal_end(bytes, start, "null")?,
        b't' => literal_end(bytes, start, "true")?,
        b'f' => literal_end(bytes, start, "false")?,
        b'-' | b'0'..=b'9' => number_end(bytes, start)?,
        _ => return None,
    };
    Some(())
}

/// Where the literal `word` starting at `start` ends; `None` if it is not there.
fn literal_end(bytes: &[u8], start: usize, word: &str) -> Option<usize> {
    let end = start + word.len();
    (bytes.get(start..end)? == word.as_bytes()).then_some(end)
}

/// Where the JSON number starting at `start` ends: `-`? then `0` or a digit run not starting
/// with `0`, then an optional fraction and exponent, each with at least one digit (RFC 8259
/// §6). `None` where the grammar fails; a digit after a leading `0` ends the number there, and
/// the caller then finds no `,` or `}` after it.
fn number_end(bytes: &[u8], start: usize) -> Option<usize> {
    let digits = |from: usize| {
        from + bytes
            .get(from..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let at_least_one_digit = |from: usize| {
        let end = digits(from);
        (end > from).then_some(end)
    };
    let mut at = start + usize::from(bytes.get(start) == Some(&b'-'));
    at = match bytes.get(at)? {
        b'0' => at + 1,
        b'1'..=b'9' => digits(at),
        _ => return None,
    };
    if bytes.get(at) == Some(&b'.') {
        at = at_least_one_digit(at + 1)?;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        at += usize::from(matches!(bytes.get(at), Some(b'+' | b'-')));
        at = at_least_one_digit(at)?;
    }
    Some(at)
}

/// A field value: the raw JSON borrowed from the input, read as a [`Scalar`].
struct Lenient<'a>(Option<Scalar<'a>>);

impl<'de> Deserialize<'de> for Lenient<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `&RawValue` borrows the exact text (numbers included) without allocating; it needs
        // serde_json's own deserializer, which `EventView::parse` uses.
        let raw: &'de RawValue = Deserialize::deserialize(deserializer)?;
        Scalar::from_raw_json(raw.get())
            .map(Lenient)
            .map_err(de::Error::custom)
    }
}

impl<'de> Deserialize<'de> for EventView<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EventVisitor;
        impl<'de> Visitor<'de> for EventVisitor {
            type Value = EventView<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a database activity event object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<EventView<'de>, M::Error> {
                let mut ev = EventView::default();
                while let Some(field) = map.next_key::<Field>()? {
                    match ev.slot(field) {
                        Some(slot) => *slot = map.next_value::<Lenient<'de>>()?.0,
                        None => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(ev)
            }
        }
        deserializer.deserialize_map(EventVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_the_previous_events_key_only_where_its_closing_quote_is() {
        let mut keys = KeyOrder::default();
        // Not kept before `keep`: the first event of a payload.
        assert!(matches!(
            keys.read(br#""class":1"#, &mut 0, 0),
            Some(Field::Class)
        ));
        assert!(keys.keys.is_empty());
        keys.keep(4);
        let mut at = 0;
        assert!(matches!(
            keys.read(br#""class":1"#, &mut at, 0),
            Some(Field::Class)
        ));
        assert_eq!(at, 7);
        // A longer key where `class` was: read whole, and kept in its place.
        let mut at = 0;
        assert!(matches!(
            keys.read(br#""classX":1"#, &mut at, 0),
            Some(Field::Ignored)
        ));
        assert_eq!((at, keys.keys.len()), (8, 1));
        // Taken as it stands, after whitespace.
        let mut at = 0;
        assert!(matches!(
            keys.read(b" \n\"classX\" :1", &mut at, 0),
            Some(Field::Ignored)
        ));
        assert_eq!(at, 10);
        // A key named through an escape is not the same text: left to the caller's fallback.
        assert!(keys.read(br#""class\u0058":1"#, &mut 0, 0).is_none());
        // A shorter text than the key, at the end of the input.
        assert!(keys.read(br#""cla"#, &mut 0, 0).is_none());
    }

    fn text<'b>(f: &'b Option<Scalar<'_>>) -> Option<&'b str> {
        opt_str(f)
    }

    // Aurora PostgreSQL CONNECT event, awsdocs/amazon-aurora-user-guide
    // doc_source/DBActivityStreams.Monitoring.md ("Activity event record of an Aurora
    // PostgreSQL CONNECT SQL statement"), verbatim.
    const PG_CONNECT: &str = r#"{
          "startTime": "2019-10-30 00:39:49.940668+00",
          "logTime": "2019-10-30 00:39:49.990579+00",
          "statementId": 1,
          "substatementId": 1,
          "objectType": null,
          "command": "CONNECT",
          "objectName": null,
          "databaseName": "postgres",
          "dbUserName": "rdsadmin",
          "remoteHost": "172.31.3.195",
          "remotePort": "49804",
          "sessionId": "5ce5f7f0.474b",
          "rowCount": null,
          "commandText": null,
          "paramList": [],
          "pid": 18251,
          "clientApplication": "psql",
          "exitCode": null,
          "class": "MISC",
          "serverVersion": "2.3.1",
          "serverType": "PostgreSQL",
          "serviceName": "Amazon Aurora PostgreSQL-Compatible edition",
          "serverHost": "172.31.3.192",
          "netProtocol": "TCP",
          "dbProtocol": "Postgres 3.0",
          "type": "record",
          "errorMessage": null
        }"#;

    // RDS for SQL Server LOGIN FAILED event, awsdocs/amazon-rds-user-guide
    // doc_source/DBActivityStreams.Monitoring.md, trimmed (engineNativeAuditFields shortened).
    const SQLSERVER_LOGIN_FAILED: &str = r#"{
            "class": "LOGIN",
            "clientApplication": "Microsoft SQL Server Management Studio",
            "command": "LOGIN FAILED",
            "commandText": "Login failed for user 'test'. Reason: Password did not match that for the login provided. [CLIENT: local-machine]",
            "databaseName": "",
            "dbProtocol": "SQLSERVER",
            "dbUserName": "test",
            "endTime": null,
            "errorMessage": null,
            "exitCode": 0,
            "logTime": "2022-10-06 21:34:42.7113072+00",
            "objectType": "LOGIN",
            "serverType": "SQLSERVER",
            "sessionId": 0,
            "startTime": null,
            "statementId": "0x1eb0d1808d34a94b9d3dcf5432750f02",
            "type": "record",
            "engineNativeAuditFields": {"server_principal_id": 0, "is_column_permission": false,
                "nested": {"a": [1, 2, {"b": null}]}}
        }"#;

    #[test]
    fn parses_documented_postgresql_connect_event() {
        let ev = EventView::parse(PG_CONNECT).unwrap();
        assert_eq!(text(&ev.record_type), Some("record"));
        assert_eq!(text(&ev.server_type), Some("PostgreSQL"));
        assert_eq!(text(&ev.db_protocol), Some("Postgres 3.0"));
        assert_eq!(ev.class(), Some("MISC"));
        assert_eq!(ev.command(), Some("CONNECT"));
        assert_eq!(ev.command_text(), None);
        assert_eq!(ev.exit_code, None);
        assert_eq!(ev.error_message, None);
        assert_eq!(ev.object_type, None);
        assert_eq!(ev.db_user(), Some("rdsadmin"));
        assert_eq!(text(&ev.remote_host), Some("172.31.3.195"));
        assert_eq!(text(&ev.database_name), Some("postgres"));
        assert_eq!(text(&ev.client_application), Some("psql"));
        assert_eq!(ev.event_time(), Some("2019-10-30 00:39:49.990579+00"));
        assert!(!ev.is_heartbeat());
    }

    #[test]
    fn parses_documented_sqlserver_event_with_numeric_exit_code_and_nested_fields() {
        let ev = EventView::parse(SQLSERVER_LOGIN_FAILED).unwrap();
        let exit = ev.exit_code.as_ref().unwrap();
        assert_eq!(exit.as_str(), "0");
        assert_eq!(exit.kind(), ScalarKind::Number);
        assert!(exit.is_zero());
        assert_eq!(ev.command(), Some("LOGIN FAILED"));
        assert!(
            ev.command_text()
                .unwrap()
                .starts_with("Login failed for user 'test'.")
        );
        // startTime is null: the event time is logTime.
        assert_eq!(ev.event_time(), Some("2022-10-06 21:34:42.7113072+00"));
        assert_eq!(text(&ev.database_name), Some(""));
    }

    #[test]
    fn exit_code_accepts_null_int_string_and_empty() {
        let cases: &[(&str, Option<(&str, ScalarKind)>)] = &[
            (r#"{"exitCode":null}"#, None),
            (r#"{"exitCode":0}"#, Some(("0", ScalarKind::Number))),
            (r#"{"exitCode":1017}"#, Some(("1017", ScalarKind::Number))),
            (r#"{"exitCode":-1}"#, Some(("-1", ScalarKind::Number))),
            (r#"{"exitCode":1.5e3}"#, Some(("1.5e3", ScalarKind::Number))),
            (r#"{"exitCode":"0"}"#, Some(("0", ScalarKind::String))),
            (r#"{"exitCode":""}"#, Some(("", ScalarKind::String))),
            (r#"{"exitCode":"42P01"}"#, Some(("42P01", ScalarKind::String))),
            (r#"{"exitCode":true}"#, Some(("true", ScalarKind::Bool))),
            (r#"{}"#, None),
        ];
        for (json, want) in cases {
            let ev = EventView::parse(json).unwrap();
            let got = ev.exit_code.as_ref().map(|s| (s.as_str(), s.kind()));
            assert_eq!(got, *want, "{json}");
        }
    }

    #[test]
    fn session_and_statement_id_type_variations_do_not_fail_the_event() {
        // sessionId string|int, statementId int|hex string, remotePort string|null,
        // transactionId string|int, rowCount int|null, paramList array|null (§4).
        for json in [
            r#"{"sessionId":"5ce5f7f0.474b","statementId":1,"remotePort":"1","transactionId":"0","rowCount":null,"paramList":null,"command":"X"}"#,
            r#"{"sessionId":62,"statementId":"0x03baed90412f564fad640ebe51f89b99","remotePort":null,"transactionId":4532935,"rowCount":10,"paramList":[],"command":"X"}"#,
        ] {
            assert_eq!(EventView::parse(json).unwrap().command(), Some("X"), "{json}");
        }
    }

    #[test]
    fn escaped_strings_are_unescaped() {
        let ev = EventView::parse(
            r#"{"commandText":"SELECT \"a\\b\" FROM t WHERE x = 'caf\u00e9'\n","command":"\u0053ELECT"}"#,
        )
        .unwrap();
        assert_eq!(
            ev.command_text(),
            Some("SELECT \"a\\b\" FROM t WHERE x = 'café'\n")
        );
        assert_eq!(ev.command(), Some("SELECT"));
        assert!(matches!(ev.command_text.as_ref().unwrap().text, Cow::Owned(_)));
    }

    #[test]
    fn unescaped_strings_are_borrowed() {
        let ev = EventView::parse(r#"{"commandText":"select * from my_table;"}"#).unwrap();
        assert!(matches!(ev.command_text.as_ref().unwrap().text, Cow::Borrowed(_)));
    }

    #[test]
    fn escaped_keys_are_recognised() {
        let ev = EventView::parse(r#"{"\u0074ype":"heartbeat"}"#).unwrap();
        assert!(ev.is_heartbeat());
    }

    #[test]
    fn object_and_array_values_of_scalar_fields_read_as_absent() {
        let ev = EventView::parse(r#"{"command":{"a":1},"class":[1,2],"commandText":[],"dbUserName":{}}"#)
            .unwrap();
        assert_eq!(ev, EventView::default());
    }

    #[test]
    fn lone_surrogate_escapes_read_as_replacement_characters_not_as_a_broken_event() {
        let ev = EventView::parse(
            r#"{"\ud800":1,"commandText":"SELECT 1 -- \ud800 \udfff x","command":"\udc00QUERY","\udbff\u0041":[]}"#,
        )
        .unwrap();
        assert_eq!(
            ev.command_text(),
            Some("SELECT 1 -- \u{fffd}\u{fffd}\u{fffd} \u{fffd}\u{fffd}\u{fffd} x")
        );
        assert!(ev.command().unwrap().ends_with("QUERY"));
        // A valid pair still decodes.
        let ev = EventView::parse(r#"{"commandText":"\ud83d\ude00"}"#).unwrap();
        assert_eq!(ev.command_text(), Some("\u{1f600}"));
    }

    #[test]
    fn flags_top_level_keys_that_the_output_line_adds() {
        for key in ADDED_FIELDS {
            let json = format!(r#"{{"command":"X","{key}":{{"a":1}}}}"#);
            let ev = EventView::parse(&json).unwrap();
            assert!(ev.has_added_field_key, "{key}");
            assert_eq!(ev.command(), Some("X"));
        }
        let ev = EventView::parse(r#"{"x":{"activityClass":1},"eventid":2,"\u0065ventId":3}"#).unwrap();
        assert!(ev.has_added_field_key, "an escaped key is the same key");
        let ev = EventView::parse(r#"{"x":{"activityClass":1},"eventid":2}"#).unwrap();
        assert!(
            !ev.has_added_field_key,
            "nested or differently cased keys do not clash"
        );
    }

    #[test]
    fn repeated_key_keeps_the_last_value() {
        let ev = EventView::parse(r#"{"command":"CONNECT","command":"DISCONNECT"}"#).unwrap();
        assert_eq!(ev.command(), Some("DISCONNECT"));
    }

    #[test]
    fn rejects_non_objects_invalid_json_and_trailing_bytes() {
        for bad in [
            "",
            " ",
            "[]",
            "[{}]",
            "null",
            "0",
            "\"record\"",
            "true",
            "{",
            "{\"type\":}",
            "{} {}",
            "{\"type\":\"record\",}",
            "{\"type\":\"rec",
        ] {
            assert!(EventView::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deeply_nested_values_parse_without_overflowing_the_stack() {
        // serde_json skips (and captures raw) values iteratively: depth costs no stack.
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        let json = format!(
            "{{\"x\":{},\"command\":{},\"type\":\"record\"}}",
            deep(100_000),
            deep(100_000)
        );
        let ev = EventView::parse(&json).unwrap();
        assert_eq!(ev.command, None);
        assert_eq!(text(&ev.record_type), Some("record"));
        // Unbalanced nesting is an error, not a crash.
        let broken = format!("{{\"x\":{}}}", "[".repeat(100_000));
        assert!(EventView::parse(&broken).is_err());
    }

    #[test]
    fn heartbeat_is_case_insensitive_and_may_carry_no_other_field() {
        for (json, want) in [
            (r#"{"type":"heartbeat"}"#, true),
            (r#"{"type":"HeartBeat"}"#, true),
            (r#"{"type":" heartbeat "}"#, true),
            (r#"{"type":"record"}"#, false),
            (r#"{"type":null}"#, false),
            (r#"{}"#, false),
            (r#"{"type":"heartbeats"}"#, false),
        ] {
            assert_eq!(EventView::parse(json).unwrap().is_heartbeat(), want, "{json}");
        }
    }

    #[test]
    fn event_time_prefers_log_time_then_start_time() {
        let cases = [
            (r#"{"logTime":"L","startTime":"S"}"#, Some("L")),
            (r#"{"logTime":null,"startTime":"S"}"#, Some("S")),
            (r#"{"logTime":"","startTime":"S"}"#, Some("S")),
            (r#"{"startTime":"S"}"#, Some("S")),
            (r#"{"logTime":"L"}"#, Some("L")),
            (r#"{"logTime":null,"startTime":null}"#, None),
        ];
        for (json, want) in cases {
            assert_eq!(EventView::parse(json).unwrap().event_time(), want, "{json}");
        }
    }

    #[test]
    fn db_user_is_returned_as_written() {
        assert_eq!(
            EventView::parse(r#"{"dbUserName":"RDSADMIN"}"#)
                .unwrap()
                .db_user(),
            Some("RDSADMIN")
        );
        assert_eq!(
            EventView::parse(r#"{"dbUserName":""}"#).unwrap().db_user(),
            Some("")
        );
        assert_eq!(
            EventView::parse(r#"{"dbUserName":null}"#).unwrap().db_user(),
            None
        );
    }

    #[test]
    fn scalar_zero_and_bool_helpers() {
        let zero = |raw: &str| Scalar::from_raw_json(raw).unwrap().unwrap().is_zero();
        assert!(zero("0"));
        assert!(zero("\"0\""));
        assert!(zero("\" 0 \""));
        assert!(zero("-0"));
        assert!(zero("0.0"));
        assert!(!zero("1"));
        assert!(!zero("\"\""));
        assert!(!zero("\"00000x\""));
        assert!(!zero("false"));
        assert_eq!(
            Scalar::from_raw_json("true").unwrap().unwrap().as_bool(),
            Some(true)
        );
        assert_eq!(
            Scalar::from_raw_json("false").unwrap().unwrap().as_bool(),
            Some(false)
        );
        assert_eq!(
            Scalar::from_raw_json("\"true\"").unwrap().unwrap().as_bool(),
            None
        );
        assert_eq!(Scalar::from_raw_json("null").unwrap(), None);
        assert_eq!(Scalar::from_raw_json("").unwrap(), None);
    }

    /// Events as the engines write them and as other writers might: every kept field with a
    /// string, an escaped string, a number of each form, a boolean, null, an object, an array;
    /// repeated keys; keys the line adds; unknown members of every type, whitespace anywhere.
    const HAND_READ: [&str; 5] = [
        r#"{"type":"record","class":"READ","command":"SELECT","commandText":"select \"a\"\nfrom t","exitCode":0,"rowCount":-1.5e+3,"pid":18251,"paramList":["x\\y",[1,{"z":null}]],"logTime":"2024-01-02 03:04:05.123456+00","t":true,"f":false,"n":null}"#,
        " {\n \"exitCode\" : -0.25E-2 , \"sessionId\":12,\"statementId\":\"0x1f\",\"objectName\":{\"a\":[1]},\"objectType\":[],\"errorMessage\":true,\"remoteHost\":false,\"dbUserName\":\"\",\"x\":\"\\u00e9\"\t}",
        r#"{"activityClass":"X","clusterId":"c","command":"A","command":"B","class":null,"class":"DDL","databaseName":"d\u00e9","startTime":"s","paramList":[],"x":{},"clientApplication":"\ud800"}"#,
        SQLSERVER_LOGIN_FAILED,
        PG_CONNECT,
    ];

    #[test]
    fn reads_plain_events_by_hand_as_serde_does() {
        for json in HAND_READ.into_iter().chain(["{}", " { } "]) {
            let mut at = 0;
            let by_hand = read_plain(json, &mut at);
            assert!(by_hand.is_some(), "not read by hand: {json}");
            assert_eq!(json[at..].trim(), "", "{json}");
            assert_eq!(by_hand, Some(EventView::parse(json).unwrap()), "{json}");
        }
    }

    /// Every cut, deleted byte and replaced byte of the samples: the hand read either leaves
    /// the text to serde or reads the view serde reads.
    #[test]
    fn the_hand_read_agrees_with_serde_on_every_cut_and_edit() {
        crate::ingest::scan::assert_agrees_on_every_cut_and_edit(
            &[HAND_READ[0], HAND_READ[2]],
            |json| std::str::from_utf8(json).ok().and_then(hand_read_disagreement),
            |json| {
                std::str::from_utf8(json).is_ok_and(|text| {
                    let mut at = 0;
                    read_plain(text, &mut at).is_some() && !has_control_byte(json)
                })
            },
        );
    }

    #[test]
    fn leaves_to_serde_what_is_not_plain_and_reads_it_as_serde_does() {
        // A key with an escape: serde reads the whole object.
        for json in [
            r#"{"ty\u0070e":"heartbeat"}"#,
            r#"{"class":1,"comm\u0061nd":"x"}"#,
        ] {
            let mut at = 0;
            assert!(read_plain(json, &mut at).is_none(), "read by hand: {json}");
            let mut at = 0;
            let view = EventView::read(json, &mut at);
            assert_eq!(view, Some(EventView::parse(json).unwrap()), "{json}");
            assert_eq!(at, json.len());
        }
        assert!(
            EventView::read(r#"{"ty\u0070e":"heartbeat"}"#, &mut 0)
                .unwrap()
                .is_heartbeat()
        );
        // A key outside ASCII is read by hand, and names no field, as for serde.
        let json = r#"{"commandé":"x","type":"record","ünknown":{"a":"é"}}"#;
        let mut at = 0;
        let view = read_plain(json, &mut at).unwrap();
        assert_eq!(view, EventView::parse(json).unwrap());
        assert_eq!((view.command, at), (None, json.len()));
    }

    #[test]
    fn refuses_numbers_and_literals_json_refuses() {
        for value in [
            "01", "-", "1.", ".5", "+1", "1e", "1e+", "1.e5", "-a", "0x1", "nul", "tru", "falsey", "NaN",
            "-01", "1.5.5", "1e5e5",
        ] {
            let json = format!(r#"{{"exitCode":{value},"type":"record"}}"#);
            assert!(EventView::parse(&json).is_err(), "serde reads {json}");
            assert!(EventView::read(&json, &mut 0).is_none(), "read {json}");
            let json = format!(r#"{{"rowCount":{value}}}"#);
            assert!(EventView::read(&json, &mut 0).is_none(), "read {json}");
        }
        for (value, end) in [
            ("0", 1),
            ("-0", 2),
            ("10", 2),
            ("1.25", 4),
            ("-1E9", 4),
            ("2e-3", 4),
            ("0.0e+0", 6),
            ("7,", 1),
            ("01", 1),
        ] {
            assert_eq!(number_end(value.as_bytes(), 0), Some(end), "{value}");
        }
    }
}
