//! Firehose processing-failed objects, for `dasp replay`: parsing only, no IO.
//!
//! Firehose writes one JSON object per line (../shared/design/firehose.md): `attemptsMade`,
//! `arrivalTimestamp`, `errorCode`, `errorMessage`, `attemptEndingTimestamp`, `rawData` (base64
//! of the original record) and `lambdaArn` (spelled `lambdaARN` in some objects), possibly
//! gzip-compressed (detected by its magic bytes, not the name). Unknown fields are ignored; a
//! line that cannot be read is reported alone, the others are still replayed.
//!
//! A replayed record gets a recordId stable per failed entry, [`replay_record_id`]: the
//! processing-failed entry does not carry the Kinesis sequence number the original run derived
//! its event ids from, so replayed events have ids of their own, the same on every replay of
//! the same object.

use crate::ingest::{FirehoseEvent, FirehoseRecord};
use crate::limits::{MAX_ERROR_OBJECT_BYTES, MAX_RECORD_DATA_BASE64, REPLAY_BATCH_BASE64_BYTES};
use aws_lc_rs::digest;
use serde::Deserialize;
use std::io::Read;

/// One processing-failed entry, as much of it as replay needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRecord {
    /// 1-based line of the entry in its object.
    pub line: usize,
    /// Milliseconds since the epoch; keeps the replayed events in the original partitions.
    pub arrival_timestamp: Option<i64>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub attempts_made: Option<u64>,
    pub lambda_arn: Option<String>,
    /// Base64 of the original record.
    pub raw_data: String,
}

/// Why a whole object could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    #[error("not valid gzip: {0}")]
    Gzip(String),
    #[error("larger than {MAX_ERROR_OBJECT_BYTES} bytes")]
    TooLarge,
}

/// Why one line could not be replayed; [`LineError::label`] is stable.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("line {line}: not a processing-failed entry: {detail}")]
    Json { line: usize, detail: String },
    #[error("line {line}: no rawData")]
    NoRawData { line: usize },
    #[error("line {line}: rawData longer than {MAX_RECORD_DATA_BASE64} characters")]
    RawDataTooLong { line: usize },
}

impl LineError {
    pub fn label(&self) -> &'static str {
        match self {
            LineError::Json { .. } => "replay_entry_not_json",
            LineError::NoRawData { .. } => "replay_no_raw_data",
            LineError::RawDataTooLong { .. } => "replay_raw_data_too_long",
        }
    }

    pub fn line(&self) -> usize {
        match self {
            LineError::Json { line, .. }
            | LineError::NoRawData { line }
            | LineError::RawDataTooLong { line } => *line,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry {
    #[serde(default)]
    attempts_made: Option<u64>,
    #[serde(default)]
    arrival_timestamp: Option<serde_json::Value>,
    #[serde(default)]
    error_code: Option<String>,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default, alias = "lambdaARN")]
    lambda_arn: Option<String>,
    #[serde(default)]
    raw_data: Option<String>,
}

/// The object's text: gunzipped (every member) when it starts with the gzip magic bytes.
pub fn object_text(bytes: &[u8]) -> Result<Vec<u8>, ObjectError> {
    if bytes.len() > MAX_ERROR_OBJECT_BYTES {
        return Err(ObjectError::TooLarge);
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes.to_vec());
    }
    let cap = u64::try_from(MAX_ERROR_OBJECT_BYTES).unwrap_or(u64::MAX);
    let mut text = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .take(cap.saturating_add(1))
        .read_to_end(&mut text)
        .map_err(|e| ObjectError::Gzip(e.to_string()))?;
    if text.len() > MAX_ERROR_OBJECT_BYTES {
        return Err(ObjectError::TooLarge);
    }
    Ok(text)
}

/// Every entry of an object (gzip or plain), one result per non-blank line.
pub fn parse_object(bytes: &[u8]) -> Result<Vec<Result<FailedRecord, LineError>>, ObjectError> {
    let text = object_text(bytes)?;
    Ok(text
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| !l.trim_ascii().is_empty())
        .map(|(i, l)| parse_line(i.saturating_add(1), l))
        .collect())
}

fn parse_line(line: usize, text: &[u8]) -> Result<FailedRecord, LineError> {
    let entry: Entry = serde_json::from_slice(text).map_err(|e| LineError::Json {
        line,
        detail: e.to_string(),
    })?;
    let raw_data = entry
        .raw_data
        .filter(|d| !d.is_empty())
        .ok_or(LineError::NoRawData { line })?;
    if raw_data.len() > MAX_RECORD_DATA_BASE64 {
        return Err(LineError::RawDataTooLong { line });
    }
    let arrival_timestamp = match entry.arrival_timestamp {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    };
    Ok(FailedRecord {
        line,
        arrival_timestamp,
        error_code: entry.error_code,
        error_message: entry.error_message,
        attempts_made: entry.attempts_made,
        lambda_arn: entry.lambda_arn,
        raw_data,
    })
}

/// A short tag of an object, from its name (the last part of its key or path, so that the same
/// object read from S3 or from a local copy gives the same tag): 16 hex digits of its SHA-256.
pub fn object_tag(object_key: &str) -> String {
    let name = object_key.rsplit('/').next().unwrap_or(object_key);
    digest::digest(&digest::SHA256, name.as_bytes())
        .as_ref()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The recordId of a replayed entry: `replay-<object tag>-<line>`. Its events' ids are
/// `replay-<object tag>-<line>-<event index>`.
pub fn replay_record_id(object_key: &str, line: usize) -> String {
    format!("replay-{}-{line}", object_tag(object_key))
}

/// The entry as the Firehose record it was.
pub fn to_record(object_key: &str, failed: &FailedRecord) -> FirehoseRecord<'static> {
    FirehoseRecord {
        record_id: replay_record_id(object_key, failed.line).into(),
        approximate_arrival_timestamp: failed.arrival_timestamp.map(serde_json::Value::from),
        data: Some(failed.raw_data.clone().into()),
        kinesis_record_metadata: None,
    }
}

/// The invocations replaying `records` of one object: consecutive records, each invocation at
/// most [`REPLAY_BATCH_BASE64_BYTES`] of data (or one record), its invocationId derived from the
/// object and its first line, so that a re-run lays out the same objects.
pub fn invocations(object_key: &str, records: &[FailedRecord]) -> Vec<FirehoseEvent<'static>> {
    let mut events = Vec::new();
    let mut current: Vec<FirehoseRecord> = Vec::new();
    let mut size = 0usize;
    let mut first_line = 0usize;
    for failed in records {
        if !current.is_empty() && size.saturating_add(failed.raw_data.len()) > REPLAY_BATCH_BASE64_BYTES {
            events.push(invocation(object_key, first_line, std::mem::take(&mut current)));
            size = 0;
        }
        if current.is_empty() {
            first_line = failed.line;
        }
        size = size.saturating_add(failed.raw_data.len());
        current.push(to_record(object_key, failed));
    }
    if !current.is_empty() {
        events.push(invocation(object_key, first_line, current));
    }
    events
}

/// One invocation of `records`, named after the object and the line it starts at.
pub fn invocation(
    object_key: &str,
    first_line: usize,
    records: Vec<FirehoseRecord<'static>>,
) -> FirehoseEvent<'static> {
    FirehoseEvent {
        invocation_id: Some(format!("{}-from-{first_line}", replay_record_id(object_key, 0))),
        delivery_stream_arn: None,
        source_kinesis_stream_arn: None,
        region: None,
        records,
    }
}

/// A database resource id named in an object's key or path: a `resource_id=<id>` or
/// `aws-rds-das-<id>` part, or a part that is itself a `cluster-…`/`db-…` id.
pub fn resource_id_from_path(path: &str) -> Option<String> {
    path.split(['/', '\\']).find_map(|part| {
        let id = part
            .strip_prefix("resource_id=")
            .or_else(|| part.strip_prefix("aws-rds-das-"))
            .unwrap_or(part);
        crate::keys::KeyContext::for_resource(id)
            .filter(|_| id.len() > 8 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            .map(|_| id.to_string())
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::io::Write;

    const LINE: &str = r#"{"attemptsMade":4,"arrivalTimestamp":1767261733565,"errorCode":"Lambda.ProcessingFailedStatus","errorMessage":"failed","attemptEndingTimestamp":1767261800000,"rawData":"eyJhIjoxfQ==","lambdaArn":"arn:aws:lambda:us-east-1:1:function:f"}"#;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn reads_every_documented_field() {
        let parsed = parse_object(LINE.as_bytes()).unwrap();
        assert_eq!(
            parsed,
            vec![Ok(FailedRecord {
                line: 1,
                arrival_timestamp: Some(1_767_261_733_565),
                error_code: Some("Lambda.ProcessingFailedStatus".into()),
                error_message: Some("failed".into()),
                attempts_made: Some(4),
                lambda_arn: Some("arn:aws:lambda:us-east-1:1:function:f".into()),
                raw_data: "eyJhIjoxfQ==".into(),
            })]
        );
    }

    #[test]
    fn accepts_lambda_arn_in_either_spelling_and_unknown_fields() {
        let line =
            r#"{"rawData":"eA==","lambdaARN":"arn:x","somethingNew":{"a":[1]},"arrivalTimestamp":"17"}"#;
        let parsed = parse_object(line.as_bytes()).unwrap();
        let record = parsed[0].as_ref().unwrap();
        assert_eq!(record.lambda_arn.as_deref(), Some("arn:x"));
        assert_eq!(record.arrival_timestamp, Some(17));
    }

    #[test]
    fn detects_gzip_by_magic_bytes_including_several_members() {
        let mut bytes = gzip(format!("{LINE}\n").as_bytes());
        bytes.extend(gzip(format!("{LINE}\n").as_bytes()));
        let parsed = parse_object(&bytes).unwrap();
        assert_eq!(parsed.len(), 2);
        assert_eq!(parsed[1].as_ref().unwrap().line, 2);
        assert_eq!(
            parse_object(&bytes).unwrap(),
            parse_object(format!("{LINE}\n{LINE}").as_bytes()).unwrap()
        );
    }

    #[test]
    fn rejects_a_truncated_gzip_object() {
        let bytes = gzip(LINE.as_bytes());
        let truncated = &bytes[..bytes.len() / 2];
        assert!(matches!(parse_object(truncated), Err(ObjectError::Gzip(_))));
    }

    #[test]
    fn reports_a_bad_line_alone_with_its_number() {
        let text = format!("{LINE}\nnot json\n\n{{\"errorCode\":\"x\"}}\n{LINE}\n");
        let parsed = parse_object(text.as_bytes()).unwrap();
        assert_eq!(parsed.len(), 4);
        assert!(parsed[0].is_ok());
        let bad = parsed[1].as_ref().unwrap_err();
        assert_eq!((bad.line(), bad.label()), (2, "replay_entry_not_json"));
        let missing = parsed[2].as_ref().unwrap_err();
        assert_eq!((missing.line(), missing.label()), (4, "replay_no_raw_data"));
        assert_eq!(parsed[3].as_ref().unwrap().line, 5);
    }

    #[test]
    fn rejects_raw_data_over_the_record_cap() {
        let line = format!("{{\"rawData\":\"{}\"}}", "A".repeat(MAX_RECORD_DATA_BASE64 + 4));
        let parsed = parse_object(line.as_bytes()).unwrap();
        assert_eq!(
            parsed[0].as_ref().unwrap_err().label(),
            "replay_raw_data_too_long"
        );
    }

    #[test]
    fn record_ids_depend_on_object_name_and_line_not_on_where_it_was_read() {
        let a = replay_record_id("das-errors/processing-failed/2026/01/01/10/s-1-x", 3);
        assert_eq!(a, replay_record_id("/tmp/copy/s-1-x", 3));
        assert_ne!(a, replay_record_id("/tmp/copy/s-1-x", 4));
        assert_ne!(a, replay_record_id("/tmp/copy/s-1-y", 3));
        assert!(a.starts_with("replay-") && a.ends_with("-3"));
    }

    #[test]
    fn batches_keep_arrival_times_and_split_by_size() {
        let big = "A".repeat(REPLAY_BATCH_BASE64_BYTES / 2 + 4);
        let records: Vec<FailedRecord> = (1..=3)
            .map(|line| FailedRecord {
                line,
                arrival_timestamp: Some(1000 + i64::try_from(line).unwrap()),
                error_code: None,
                error_message: None,
                attempts_made: None,
                lambda_arn: None,
                raw_data: big.clone(),
            })
            .collect();
        let events = invocations("obj", &records);
        assert_eq!(events.len(), 3);
        assert_eq!(
            events[2].records[0].arrival_time().unwrap().timestamp_millis(),
            1003
        );
        assert_ne!(events[0].invocation_id, events[1].invocation_id);
        assert_eq!(
            invocations("obj", &records)[1].invocation_id,
            events[1].invocation_id
        );
    }

    #[test]
    fn finds_the_resource_id_in_a_path() {
        assert_eq!(
            resource_id_from_path("s3/das/activity_class=DDL/resource_id=cluster-ABC123/year=2026")
                .as_deref(),
            Some("cluster-ABC123")
        );
        assert_eq!(
            resource_id_from_path("errors/aws-rds-das-db-XYZ987/processing-failed/x").as_deref(),
            Some("db-XYZ987")
        );
        assert_eq!(
            resource_id_from_path("das-errors/processing-failed/2026/01/01/10/x"),
            None
        );
    }
}
