//! The DAS envelope: the JSON object of one Kinesis record (`type`, `version`,
//! `databaseActivityEvents` = base64 ESDK message, `key` = base64 KMS ciphertext).
//!
//! Source: ../shared/design/das-records.md §1. Unknown fields are tolerated.

use super::firehose::FirehoseRecord;
use crate::limits::{MAX_ESDK_MESSAGE_BYTES, MAX_KMS_BLOB_BYTES, MAX_RECORD_DATA_BASE64};
use base64::Engine as _;
use serde::Deserialize;
use std::borrow::Cow;

/// The `type` of every DAS envelope.
pub const ENVELOPE_TYPE: &str = "DatabaseActivityMonitoringRecords";

/// Why an envelope was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("record data is missing or is not a base64 string")]
    DataMissing,
    #[error("record data is not base64")]
    DataNotBase64,
    #[error("record data is not a DAS envelope (JSON object with type, databaseActivityEvents, key)")]
    NotJson,
    #[error("unknown envelope type (expected DatabaseActivityMonitoringRecords)")]
    UnknownType,
    #[error("{0} is not base64")]
    FieldNotBase64(&'static str),
    #[error("{0} is empty or larger than its limit")]
    FieldSize(&'static str),
}

impl EnvelopeError {
    pub fn label(&self) -> &'static str {
        match self {
            EnvelopeError::DataMissing => "data_missing",
            EnvelopeError::DataNotBase64 => "data_not_base64",
            EnvelopeError::NotJson => "envelope_not_json",
            EnvelopeError::UnknownType => "envelope_unknown_type",
            EnvelopeError::FieldNotBase64(_) => "envelope_field_not_base64",
            EnvelopeError::FieldSize(_) => "envelope_field_size",
        }
    }
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(default, borrow)]
    version: Option<Cow<'a, str>>,
    #[serde(rename = "databaseActivityEvents", borrow)]
    events: Cow<'a, str>,
    #[serde(borrow)]
    key: Cow<'a, str>,
}

/// A decoded envelope: the ESDK message and the KMS ciphertext of its wrapping key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub version: Option<String>,
    pub message: Vec<u8>,
    pub key_blob: Vec<u8>,
}

/// Base64-decodes one Firehose record's `data` and parses the envelope in it.
pub fn decode_record(record: &FirehoseRecord) -> Result<Envelope, EnvelopeError> {
    let text = match &record.data {
        Some(serde_json::Value::String(s)) if s.len() <= MAX_RECORD_DATA_BASE64 => s,
        Some(serde_json::Value::String(_)) => return Err(EnvelopeError::FieldSize("data")),
        _ => return Err(EnvelopeError::DataMissing),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| EnvelopeError::DataNotBase64)?;
    parse_envelope(&bytes)
}

/// Parses the JSON envelope (the bytes of one Kinesis record).
pub fn parse_envelope(json: &[u8]) -> Result<Envelope, EnvelopeError> {
    let raw: RawEnvelope<'_> = serde_json::from_slice(json).map_err(|_| EnvelopeError::NotJson)?;
    if raw.ty != ENVELOPE_TYPE {
        return Err(EnvelopeError::UnknownType);
    }
    Ok(Envelope {
        version: raw.version.map(Cow::into_owned),
        message: decode_field(&raw.events, "databaseActivityEvents", MAX_ESDK_MESSAGE_BYTES)?,
        key_blob: decode_field(&raw.key, "key", MAX_KMS_BLOB_BYTES)?,
    })
}

fn decode_field(text: &str, field: &'static str, max: usize) -> Result<Vec<u8>, EnvelopeError> {
    // base64 grows by 4/3: check before decoding, so an oversize field costs nothing.
    if text.is_empty() || text.len() / 4 * 3 > max + 3 {
        return Err(EnvelopeError::FieldSize(field));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| EnvelopeError::FieldNotBase64(field))?;
    if bytes.is_empty() || bytes.len() > max {
        return Err(EnvelopeError::FieldSize(field));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envelope_with_unknown_fields_and_whitespace() {
        let e = parse_envelope(
            br#" { "type" : "DatabaseActivityMonitoringRecords", "version":"1.2", "extra": [1],
                 "databaseActivityEvents":"AQID", "key":"BAUG" } "#,
        )
        .unwrap();
        assert_eq!(e.version.as_deref(), Some("1.2"));
        assert_eq!(e.message, [1, 2, 3]);
        assert_eq!(e.key_blob, [4, 5, 6]);
    }

    #[test]
    fn rejects_unknown_envelope_type() {
        let r = parse_envelope(br#"{"type":"Other","databaseActivityEvents":"AQID","key":"AQID"}"#);
        assert_eq!(r, Err(EnvelopeError::UnknownType));
    }

    #[test]
    fn rejects_envelope_missing_key() {
        let r = parse_envelope(
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID"}"#,
        );
        assert_eq!(r, Err(EnvelopeError::NotJson));
    }

    #[test]
    fn rejects_non_base64_message() {
        let r = parse_envelope(
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"!!","key":"AQID"}"#,
        );
        assert_eq!(r, Err(EnvelopeError::FieldNotBase64("databaseActivityEvents")));
    }

    #[test]
    fn rejects_oversize_key_blob_before_decoding() {
        let key = "A".repeat(MAX_KMS_BLOB_BYTES * 2);
        let json = format!(
            r#"{{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"{key}"}}"#
        );
        assert_eq!(
            parse_envelope(json.as_bytes()),
            Err(EnvelopeError::FieldSize("key"))
        );
    }
}
