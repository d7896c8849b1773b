//! The decrypted, inflated DAS payload: `type`, `clusterId`, `instanceId` and
//! `databaseActivityEventList`, whose events are kept as raw JSON text so they can be written
//! out verbatim.
//!
//! Source: ../shared/design/das-records.md §4. Unknown fields are tolerated.

use crate::ingest::envelope::UTF8_BOM;
use crate::limits::{MAX_EVENTS_PER_RECORD, MAX_PAYLOAD_ID_CHARS};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The `type` of every decrypted DAS payload.
pub const PAYLOAD_TYPE: &str = "DatabaseActivityMonitoringRecord";

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

/// A decrypted DAS payload; events borrow their exact JSON text from the inflated bytes.
#[derive(Debug)]
pub struct Payload<'a> {
    pub cluster_id: Option<Cow<'a, str>>,
    pub instance_id: Option<Cow<'a, str>>,
    pub events: Vec<&'a RawValue>,
}

/// Parses an inflated payload. A UTF-8 byte order mark before it is skipped.
pub fn parse_payload(json: &[u8]) -> Result<Payload<'_>, PayloadError> {
    let json = json.strip_prefix(UTF8_BOM).unwrap_or(json);
    let raw: RawPayload<'_> = serde_json::from_slice(json).map_err(|_| PayloadError::NotDasRecord)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_events_verbatim() {
        let json = br#"{"type":"DatabaseActivityMonitoringRecord","clusterId":"","instanceId":"db-1",
            "databaseActivityEventList":[{"type":"heartbeat"}, {"b": 1.50, "a":"x\u00e9"}]}"#;
        let p = parse_payload(json).unwrap();
        assert_eq!(p.cluster_id.as_deref(), Some(""));
        assert_eq!(p.events[1].get(), r#"{"b": 1.50, "a":"x\u00e9"}"#);
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
}
