//! The decrypted, inflated DAS payload: `type`, `clusterId`, `instanceId` and
//! `databaseActivityEventList`, whose events are kept as raw JSON text so they can be written
//! out verbatim.
//!
//! Source: ../shared/design/das-records.md §4. Unknown fields are tolerated.

use crate::decode::EventView;
use crate::decode::event::KeyOrder;
use crate::ingest::envelope::UTF8_BOM;
use crate::ingest::scan::{expect, has_control_byte, more_members, read_str_value, set_once, skip_ws};
use crate::limits::{
    MAX_EVENTS_PER_RECORD, MAX_ONE_PASS_EVENTS, MAX_ONE_PASS_PAYLOAD_BYTES, MAX_PAYLOAD_ID_CHARS,
};
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The `type` of every decrypted DAS payload.
pub const PAYLOAD_TYPE: &str = "DatabaseActivityMonitoringRecord";

/// Payload bytes an event takes, a low estimate (DAS events are rarely under half a KB of
/// JSON): sizes the one pass's event list, a hint and not a cap.
const EVENT_BYTES_HINT: usize = 512;

/// Keys an event has, a high estimate (the engines' events have 20 to 40): sizes the list of
/// the previous event's keys ([`KeyOrder`]) so that it is made once, a hint and not a cap.
const KEYS_HINT: usize = 48;

/// Why a payload was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("decrypted payload is not a DatabaseActivityMonitoringRecord")]
    NotDasRecord,
    #[error("decrypted payload holds more events than the limit")]
    TooManyEvents,
    #[error("decrypted payload's clusterId or instanceId is longer than MAX_PAYLOAD_ID_CHARS")]
    IdTooLong,
}

impl PayloadError {
    pub fn label(&self) -> &'static str {
        match self {
            PayloadError::NotDasRecord => "payload_not_das_record",
            PayloadError::TooManyEvents => "payload_too_many_events",
            PayloadError::IdTooLong => "payload_id_too_long",
        }
    }
}

#[derive(Deserialize)]
struct RawPayload<'a> {
    #[serde(rename = "type", default, borrow)]
    ty: Option<Cow<'a, str>>,
    #[serde(rename = "clusterId", default, borrow)]
    cluster_id: Option<Cow<'a, str>>,
    #[serde(rename = "instanceId", default, borrow)]
    instance_id: Option<Cow<'a, str>>,
    #[serde(rename = "databaseActivityEventList", borrow)]
    events: Vec<&'a RawValue>,
}

/// One event of a payload: its exact JSON text and, when the payload was read in one pass, the
/// fields read from it.
#[derive(Debug)]
pub struct PayloadEvent<'a> {
    pub text: &'a str,
    /// `None`: not read yet ([`EventView::parse`] the text).
    pub view: Option<EventView<'a>>,
}

/// A decrypted DAS payload; events borrow their exact JSON text from the inflated bytes.
#[derive(Debug)]
pub struct Payload<'a> {
    pub cluster_id: Option<Cow<'a, str>>,
    pub instance_id: Option<Cow<'a, str>>,
    pub events: Vec<PayloadEvent<'a>>,
}

/// Parses an inflated payload. A UTF-8 byte order mark before it is skipped.
///
/// Read in one pass ([`read_in_one_pass`]) when the payload is plain: each event's text and
/// its fields at once, instead of the text first and the fields in a second scan of it. Any
/// payload that pass does not take as it stands (a syntax error, an event that is no object,
/// escapes in keys or ids, a repeated field, …) is read as before, with serde, which then
/// decides: the outcome is the same either way, the unit tests and the `record` fuzz target
/// hold the two equal.
pub fn parse_payload(json: &[u8]) -> Result<Payload<'_>, PayloadError> {
    let json = json.strip_prefix(UTF8_BOM).unwrap_or(json);
    let raw = match read_in_one_pass(json) {
        Some(raw) => raw,
        None => read_in_two_passes(json)?,
    };
    if raw.ty.as_deref().is_some_and(|t| t != PAYLOAD_TYPE) {
        return Err(PayloadError::NotDasRecord);
    }
    if raw.events.len() > MAX_EVENTS_PER_RECORD {
        return Err(PayloadError::TooManyEvents);
    }
    // Each id is repeated in every line: a long one would multiply the output.
    let too_long = |id: &Option<Cow<'_, str>>| {
        id.as_ref()
            .is_some_and(|s| s.chars().count() > MAX_PAYLOAD_ID_CHARS)
    };
    if too_long(&raw.cluster_id) || too_long(&raw.instance_id) {
        return Err(PayloadError::IdTooLong);
    }
    Ok(Payload {
        cluster_id: raw.cluster_id,
        instance_id: raw.instance_id,
        events: raw.events,
    })
}

/// Where the one-pass read of `json` disagrees with serde's, if it does: `None` when the one
/// pass leaves the payload to serde, or serde reads the same type, ids and event texts and each
/// text reads as the same event (unit tests, the `record` fuzz target). Not on the records'
/// path.
pub fn one_pass_disagreement(json: &[u8]) -> Option<String> {
    let json = json.strip_prefix(UTF8_BOM).unwrap_or(json);
    let fast = read_in_one_pass(json)?;
    let slow = match read_in_two_passes(json) {
        Ok(slow) => slow,
        Err(e) => return Some(format!("one pass read a payload serde rejects: {e}")),
    };
    fn ids<'a>(f: &Fields<'a>) -> [Option<Cow<'a, str>>; 3] {
        [f.ty.clone(), f.cluster_id.clone(), f.instance_id.clone()]
    }
    fn texts<'a>(f: &Fields<'a>) -> Vec<&'a str> {
        f.events.iter().map(|e| e.text).collect()
    }
    if ids(&fast) != ids(&slow) {
        return Some(format!("fields {:?} against {:?}", ids(&fast), ids(&slow)));
    }
    if texts(&fast) != texts(&slow) {
        return Some(format!(
            "event texts {:?} against {:?}",
            texts(&fast),
            texts(&slow)
        ));
    }
    fast.events.iter().find_map(|e| {
        let view = EventView::parse(e.text).ok();
        (e.view != view).then(|| format!("event {:?} read as {:?}, not {view:?}", e.text, e.view))
    })
}

/// The payload's fields as read, before the checks.
struct Fields<'a> {
    ty: Option<Cow<'a, str>>,
    cluster_id: Option<Cow<'a, str>>,
    instance_id: Option<Cow<'a, str>>,
    events: Vec<PayloadEvent<'a>>,
}

/// serde over the whole payload, the events kept as raw text, read later one by one.
fn read_in_two_passes(json: &[u8]) -> Result<Fields<'_>, PayloadError> {
    let raw: RawPayload<'_> = serde_json::from_slice(json).map_err(|_| PayloadError::NotDasRecord)?;
    Ok(Fields {
        ty: raw.ty,
        cluster_id: raw.cluster_id,
        instance_id: raw.instance_id,
        events: raw
            .events
            .into_iter()
            .map(|e| PayloadEvent {
                text: e.get(),
                view: None,
            })
            .collect(),
    })
}

/// The payload's top-level object walked by hand, each member's value read by serde_json from
/// where it starts (which also says where it ends), each event read as an [`EventView`] and
/// its text taken from the bytes it spanned. `None` for anything but a plain payload: the
/// caller then reads it with serde. Plain: one JSON object, keys and ids without escapes, no
/// repeated known field, the event list an array of at most [`MAX_ONE_PASS_EVENTS`] objects
/// that read as events and hold no control byte, nothing after the object but whitespace, at
/// most [`MAX_ONE_PASS_PAYLOAD_BYTES`] in all.
fn read_in_one_pass(json: &[u8]) -> Option<Fields<'_>> {
    if json.len() > MAX_ONE_PASS_PAYLOAD_BYTES {
        return None;
    }
    // UTF-8 checked once for the whole payload, so that serde reads it as text: no check of its
    // own for each string and each event's span (about a seventh of the instructions of a
    // fifty-event record). Invalid UTF-8 is left to the two passes, which decide as before.
    let json = simdutf8::basic::from_utf8(json).ok()?;
    let bytes = json.as_bytes();
    let mut at = 0;
    expect(bytes, &mut at, b'{')?;
    let (mut ty, mut cluster_id, mut instance_id, mut events) = (None, None, None, None);
    // `{}` ends here too: its `}` is no key (serde then says the event list is missing).
    loop {
        let key: &str = read_str_value(json, &mut at)?;
        expect(bytes, &mut at, b':')?;
        match key {
            "type" => set_once(&mut ty, read_str_value::<Option<&str>>(json, &mut at)?)?,
            "clusterId" => set_once(&mut cluster_id, read_str_value::<Option<&str>>(json, &mut at)?)?,
            "instanceId" => set_once(&mut instance_id, read_str_value::<Option<&str>>(json, &mut at)?)?,
            "databaseActivityEventList" => set_once(&mut events, read_events(json, &mut at)?)?,
            _ => {
                read_str_value::<IgnoredAny>(json, &mut at)?;
            }
        }
        if !more_members(bytes, &mut at, b'}')? {
            break;
        }
    }
    if skip_ws(bytes, at) != json.len() {
        return None;
    }
    Some(Fields {
        ty: ty.flatten().map(Cow::Borrowed),
        cluster_id: cluster_id.flatten().map(Cow::Borrowed),
        instance_id: instance_id.flatten().map(Cow::Borrowed),
        events: events?,
    })
}

/// The event list at `at`: an array of objects, each with its exact text.
fn read_events<'a>(json: &'a str, at: &mut usize) -> Option<Vec<PayloadEvent<'a>>> {
    let bytes = json.as_bytes();
    expect(bytes, at, b'[')?;
    // Room for one event per EVENT_BYTES_HINT of the payload, so that a typical record's events
    // are read without growing the list (each event's view is about half a KB).
    let mut events = Vec::with_capacity((json.len() / EVENT_BYTES_HINT).clamp(1, MAX_ONE_PASS_EVENTS));
    if expect(bytes, at, b']').is_some() {
        return Some(events);
    }
    // The keys of the event before, in order, from the second event on: most events repeat
    // them.
    let mut keys = KeyOrder::default();
    loop {
        if events.len() == MAX_ONE_PASS_EVENTS {
            return None;
        }
        let start = skip_ws(bytes, *at);
        // The view is read where the list keeps it (half a KB an event, not moved).
        events.push(PayloadEvent {
            text: "",
            view: Some(EventView::default()),
        });
        let event = events.last_mut()?;
        EventView::read_into(json, at, event.view.as_mut()?, &mut keys)?;
        event.text = json.get(start..*at)?;
        // serde reads an event's keys without refusing raw control characters, which the
        // event's text read as JSON does refuse: leave any such byte to the two passes.
        if has_control_byte(event.text.as_bytes()) {
            return None;
        }
        if !more_members(bytes, at, b']')? {
            return Some(events);
        }
        keys.keep(KEYS_HINT);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_events_verbatim() {
        let json = br#"{"type":"DatabaseActivityMonitoringRecord","clusterId":"","instanceId":"db-1",
            "databaseActivityEventList":[{"type":"heartbeat"}, {"b": 1.50, "a":"x\u00e9"}]}"#;
        let p = parse_payload(json).unwrap();
        assert_eq!(p.cluster_id.as_deref(), Some(""));
        assert_eq!(p.events[1].text, r#"{"b": 1.50, "a":"x\u00e9"}"#);
    }

    #[test]
    fn skips_a_byte_order_mark_before_the_payload() {
        let json =
            b"\xEF\xBB\xBF{\"type\":\"DatabaseActivityMonitoringRecord\",\"databaseActivityEventList\":[{}]}";
        assert_eq!(parse_payload(json).unwrap().events.len(), 1);
    }

    #[test]
    fn rejects_a_cluster_or_instance_id_longer_than_the_limit() {
        let with = |field: &str, len: usize| {
            let json = format!(
                r#"{{"type":"DatabaseActivityMonitoringRecord","{field}":"{}","databaseActivityEventList":[]}}"#,
                "c".repeat(len)
            );
            parse_payload(json.as_bytes()).map(|_| ())
        };
        for field in ["clusterId", "instanceId"] {
            assert_eq!(with(field, MAX_PAYLOAD_ID_CHARS), Ok(()));
            assert_eq!(
                with(field, MAX_PAYLOAD_ID_CHARS + 1),
                Err(PayloadError::IdTooLong)
            );
        }
    }

    #[test]
    fn rejects_payload_of_another_type() {
        let json = br#"{"type":"Something","databaseActivityEventList":[]}"#;
        assert_eq!(parse_payload(json).unwrap_err(), PayloadError::NotDasRecord);
    }

    /// Payloads as DAS writes them and as other writers might (whitespace, member order,
    /// unknown members of every type, null ids, an empty list).
    const PLAIN: [&str; 8] = [
        r#"{"type":"DatabaseActivityMonitoringRecord","clusterId":"cluster-A","instanceId":"db-A","databaseActivityEventList":[{"type":"record","class":"READ","command":"SELECT","commandText":"select 1","logTime":"2024-01-02 03:04:05.123456+00"},{"type":"heartbeat"}]}"#,
        " \n{ \"databaseActivityEventList\" : [ {\"type\":\"record\",\"exitCode\":null,\"rowCount\":3,\"paramList\":[1,[2],{\"a\":\"b\\\"\"}]} , {} ] ,\t\"clusterId\" : null , \"type\" : \"DatabaseActivityMonitoringRecord\" } \r\n",
        r#"{"x":{"y":[1,2,{"z":null}]},"type":"DatabaseActivityMonitoringRecord","n":-1.5e3,"t":true,"s":"\u00e9","instanceId":"db-B","databaseActivityEventList":[]}"#,
        r#"{"databaseActivityEventList":[{"commandText":"a\nb\\c\u0000","errorMessage":"\ud800"}],"type":null}"#,
        r#"{"type":"Other","databaseActivityEventList":[{"activityClass":"X","clusterId":"c"}]}"#,
        r#"{"clusterId":"","instanceId":"","databaseActivityEventList":[{"type":"record"}]}"#,
        // Events the hand reader walks: kept fields holding escaped strings, numbers of each
        // form, booleans, null, containers; repeated keys; a key the line adds.
        r#"{"databaseActivityEventList":[{"class":"READ","commandText":"a \"b\"\n","exitCode":-1.5e+3,"pid":0,"x":["\\",{"y":[]}]},{"exitCode":"0","errorMessage":true,"objectName":{"a":1},"command":"A","command":"B","eventId":7,"logTime":null}],"type":"DatabaseActivityMonitoringRecord"}"#,
        // Events whose keys come in the order of the event before (read as they stand), then
        // out of it: a longer key where a shorter one was, one named through an escape, one
        // after whitespace, fewer keys, a key seen before in another place.
        r#"{"type":"DatabaseActivityMonitoringRecord","databaseActivityEventList":[{"type":"record","class":"READ","command":"SELECT","dbUserName":"a"},{"type":"record","class":"DDL","command":"CREATE","dbUserName":"b"},{"type":"record","classX":"X","class":"DML", "command" :"UPDATE","dbUserName":"c"},{"type":"record","cl\u0061ss":"ERROR","command":"X"},{ "type" : "heartbeat" ,"class":"READ"},{"class":"CONNECT","type":"record"}]}"#,
    ];

    #[test]
    fn reads_plain_payloads_in_one_pass_as_serde_does() {
        for json in PLAIN {
            let fast = read_in_one_pass(json.as_bytes());
            assert!(fast.is_some(), "not read in one pass: {json}");
            assert_eq!(one_pass_disagreement(json.as_bytes()), None, "{json}");
        }
    }

    #[test]
    fn leaves_to_serde_what_is_not_plain_and_decides_as_serde_does() {
        let events = r#""databaseActivityEventList":[{"type":"record"}]"#;
        let mut cases: Vec<(String, Result<usize, PayloadError>)> = vec![
            (
                format!(r#"{{"ty\u0070e":"Other",{events}}}"#),
                Err(PayloadError::NotDasRecord),
            ),
            (format!(r#"{{"clusterId":"c\u002d1",{events}}}"#), Ok(1)),
            (
                format!(r#"{{"type":null,"type":null,{events}}}"#),
                Err(PayloadError::NotDasRecord),
            ),
            (
                format!(r#"{{{events},{events}}}"#),
                Err(PayloadError::NotDasRecord),
            ),
            (format!(r#"{{{events}}} x"#), Err(PayloadError::NotDasRecord)),
            (format!(r#"{{{events},}}"#), Err(PayloadError::NotDasRecord)),
            (
                r#"{"databaseActivityEventList":[{"a":1},2,[3],"4",null]}"#.to_string(),
                Ok(5),
            ),
            (
                r#"{"databaseActivityEventList":[{"a":1},]}"#.to_string(),
                Err(PayloadError::NotDasRecord),
            ),
            (
                r#"{"databaseActivityEventList":null}"#.to_string(),
                Err(PayloadError::NotDasRecord),
            ),
            (r#"{}"#.to_string(), Err(PayloadError::NotDasRecord)),
            (
                r#"["DatabaseActivityMonitoringRecord",null,null,[{}]]"#.to_string(),
                Ok(1),
            ),
        ];
        // A raw control character in an event's key (found by the `record` fuzz target), and
        // whitespace inside an event: left to serde too.
        cases.extend([
            (
                "{\"databaseActivityEventList\":[{\"trans\u{1}ctionId\":\"0\"}]}".to_string(),
                Err(PayloadError::NotDasRecord),
            ),
            (
                "{\"databaseActivityEventList\":[{\"a\tb\":1}]}".to_string(),
                Err(PayloadError::NotDasRecord),
            ),
            ("{\"databaseActivityEventList\":[{\"a\":\n1}]}".to_string(), Ok(1)),
        ]);
        for (json, expected) in cases {
            assert!(
                read_in_one_pass(json.as_bytes()).is_none(),
                "read in one pass: {json}"
            );
            assert_eq!(
                parse_payload(json.as_bytes()).map(|p| p.events.len()),
                expected,
                "{json}"
            );
        }
        let many = format!(
            r#"{{"databaseActivityEventList":[{}]}}"#,
            vec!["{}"; MAX_EVENTS_PER_RECORD + 1].join(",")
        );
        assert!(read_in_one_pass(many.as_bytes()).is_none());
        // Past the one pass's caps, two passes read what it would have held at once.
        let over = |n: usize, filler: usize| {
            format!(
                r#"{{"x":"{}","databaseActivityEventList":[{}]}}"#,
                "x".repeat(filler),
                vec!["{}"; n].join(",")
            )
        };
        assert!(read_in_one_pass(over(MAX_ONE_PASS_EVENTS, 0).as_bytes()).is_some());
        assert!(read_in_one_pass(over(MAX_ONE_PASS_EVENTS + 1, 0).as_bytes()).is_none());
        let big = over(1, MAX_ONE_PASS_PAYLOAD_BYTES);
        assert!(read_in_one_pass(big.as_bytes()).is_none());
        for json in [over(MAX_ONE_PASS_EVENTS + 1, 0), big] {
            assert!(parse_payload(json.as_bytes()).is_ok());
        }
        assert_eq!(
            parse_payload(many.as_bytes()).map(|_| ()),
            Err(PayloadError::TooManyEvents)
        );
    }

    #[test]
    fn leaves_invalid_utf8_to_serde_which_decides_as_before() {
        let cases: [(&[u8], Result<usize, PayloadError>); 3] = [
            // serde skips an unknown member without reading its text as UTF-8 …
            (
                b"{\"x\":\"\xff\",\"databaseActivityEventList\":[{\"type\":\"record\"}]}",
                Ok(1),
            ),
            // … but an event's text must be UTF-8, and so must the ids.
            (
                b"{\"databaseActivityEventList\":[{\"type\":\"rec\xc3\"}]}",
                Err(PayloadError::NotDasRecord),
            ),
            (
                b"{\"clusterId\":\"\xe2\x82\",\"databaseActivityEventList\":[]}",
                Err(PayloadError::NotDasRecord),
            ),
        ];
        for (json, expected) in cases {
            let shown = String::from_utf8_lossy(json);
            assert!(read_in_one_pass(json).is_none(), "read in one pass: {shown}");
            assert_eq!(parse_payload(json).map(|p| p.events.len()), expected, "{shown}");
        }
    }

    /// Every cut, every deleted byte and every byte replaced by one that matters to JSON: the
    /// one pass either leaves the payload to serde or reads exactly what serde reads.
    #[test]
    fn the_one_pass_read_agrees_with_serde_on_every_cut_and_edit() {
        crate::ingest::scan::assert_agrees_on_every_cut_and_edit(&PLAIN, one_pass_disagreement, |json| {
            read_in_one_pass(json).is_some()
        });
    }
}
