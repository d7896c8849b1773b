//! Header facts of a DAS record or ESDK message, without any key (`dasp inspect`).

use crate::esdk::{self, EsdkError, keyring};
use base64::Engine as _;
use serde::Serialize;

/// One encrypted data key, as `dasp inspect --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataKeyInfo {
    pub provider_id: String,
    pub key_name: String,
}

/// What `dasp inspect --json` prints: exactly these keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageInfo {
    pub message_version: u8,
    pub suite_id: String,
    pub suite_name: String,
    pub content_type: String,
    pub frame_length: u32,
    pub frames: usize,
    pub encryption_context_keys: Vec<String>,
    pub encrypted_data_keys: Vec<DataKeyInfo>,
    pub signed: bool,
}

/// The DAS envelope around a message: its `type` and `version` members.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvelopeInfo {
    pub envelope_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub envelope_version: Option<String>,
}

/// What one record (or the whole input) turned out to be.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Inspected {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub envelope: Option<EnvelopeInfo>,
    #[serde(flatten)]
    pub message: MessageInfo,
}

/// One record of a Firehose event or Kinesis `get-records` output, or the whole input when it
/// is a single envelope or message (`name` is then `None`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// E.g. `record 3 (recordId 4954…)`, `line 2`.
    pub name: Option<String>,
    pub result: Result<Inspected, InspectError>,
}

/// Why the input, or one record of it, could not be inspected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    #[error("input is empty")]
    Empty,
    #[error(
        "input is JSON but none of: a Firehose invocation event (records), Kinesis get-records output (Records), one record (data or Data), a DAS envelope (databaseActivityEvents)"
    )]
    NotEnvelope,
    #[error("line is not JSON")]
    LineNotJson,
    #[error("databaseActivityEvents is not base64")]
    EnvelopeNotBase64,
    #[error("the record has no data string")]
    RecordDataMissing,
    #[error("the record data is not base64")]
    RecordDataNotBase64,
    #[error("input is neither JSON, base64 text nor a binary ESDK message")]
    NotBase64,
    #[error("malformed ESDK message: {0}")]
    Esdk(#[from] EsdkError),
}

/// Reads every shape a user may hold: a Firehose invocation event, Kinesis `get-records`
/// output, either one's records one JSON object per line, a DAS envelope, a base64 or binary
/// ESDK message. Failures are per record; a single-message input gives one unnamed item.
pub fn inspect(input: &[u8]) -> Vec<Item> {
    let whole = |result| vec![Item { name: None, result }];
    let text = match input.first() {
        None => return whole(Err(InspectError::Empty)),
        Some(1 | 2) => return whole(describe_envelope(None, input)),
        Some(_) => match std::str::from_utf8(input) {
            Ok(text) => text.trim(),
            Err(_) => return whole(Err(InspectError::NotBase64)),
        },
    };
    if text.is_empty() {
        return whole(Err(InspectError::Empty));
    }
    if text.starts_with('{') || text.starts_with('[') {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
            return from_json(&value, None);
        }
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.len() < 2 {
            return whole(Err(InspectError::NotEnvelope));
        }
        let mut items = Vec::new();
        for (n, line) in lines.into_iter().enumerate() {
            let name = format!("line {}", n + 1);
            match serde_json::from_str::<serde_json::Value>(line) {
                Ok(value) => items.extend(from_json(&value, Some(name))),
                Err(_) => items.push(Item {
                    name: Some(name),
                    result: Err(InspectError::LineNotJson),
                }),
            }
        }
        return items;
    }
    whole(from_base64(text).and_then(|bytes| match bytes.first() {
        // A Kinesis record's data is the base64 of the envelope JSON: look inside it once.
        Some(b'{') => message_in_record_data(&bytes),
        _ => describe_envelope(None, &bytes),
    }))
}

fn from_base64(text: &str) -> Result<Vec<u8>, InspectError> {
    let compact: String = text.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| InspectError::NotBase64)
}

/// A JSON value: an event (records), get-records output (Records), a list or one record, or an
/// envelope.
fn from_json(value: &serde_json::Value, name: Option<String>) -> Vec<Item> {
    let prefixed = |inner: String| match &name {
        Some(outer) => format!("{outer}, {inner}"),
        None => inner,
    };
    let records = value
        .get("records")
        .or_else(|| value.get("Records"))
        .or(Some(value).filter(|v| v.is_array()))
        .and_then(|v| v.as_array());
    if let Some(records) = records {
        return records
            .iter()
            .enumerate()
            .map(|(i, record)| {
                let id = ["recordId", "SequenceNumber"]
                    .iter()
                    .find_map(|k| record.get(*k).and_then(|v| v.as_str()));
                let label = match id {
                    Some(id) => format!("record {i} ({id})"),
                    None => format!("record {i}"),
                };
                Item {
                    name: Some(prefixed(label)),
                    result: from_record(record),
                }
            })
            .collect();
    }
    let result = if value.get("data").is_some() || value.get("Data").is_some() {
        from_record(value)
    } else if value.get("databaseActivityEvents").is_some() {
        from_envelope(value)
    } else {
        Err(InspectError::NotEnvelope)
    };
    vec![Item { name, result }]
}

/// One Firehose (`data`) or Kinesis (`Data`) record: base64 of the envelope.
fn from_record(record: &serde_json::Value) -> Result<Inspected, InspectError> {
    let data = record
        .get("data")
        .or_else(|| record.get("Data"))
        .and_then(|d| d.as_str())
        .ok_or(InspectError::RecordDataMissing)?;
    let bytes = from_base64(data).map_err(|_| InspectError::RecordDataNotBase64)?;
    message_in_record_data(&bytes)
}

/// A record's decoded data: the envelope JSON, or (not from DAS) a bare message.
fn message_in_record_data(bytes: &[u8]) -> Result<Inspected, InspectError> {
    match bytes.first() {
        Some(b'{') => {
            let value: serde_json::Value =
                serde_json::from_slice(bytes).map_err(|_| InspectError::NotEnvelope)?;
            from_envelope(&value)
        }
        _ => describe_envelope(None, bytes),
    }
}

fn from_envelope(value: &serde_json::Value) -> Result<Inspected, InspectError> {
    let events = value
        .get("databaseActivityEvents")
        .and_then(|v| v.as_str())
        .ok_or(InspectError::NotEnvelope)?;
    let text = |key: &str| {
        value.get(key).and_then(|v| match v {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
    };
    let envelope = EnvelopeInfo {
        envelope_type: text("type").unwrap_or_else(|| "(none)".to_string()),
        envelope_version: text("version"),
    };
    let message = from_base64(events).map_err(|_| InspectError::EnvelopeNotBase64)?;
    describe_envelope(Some(envelope), &message)
}

fn describe_envelope(envelope: Option<EnvelopeInfo>, message: &[u8]) -> Result<Inspected, InspectError> {
    Ok(Inspected {
        envelope,
        message: describe(message)?,
    })
}

/// Parses the whole message structure (header, frames, footer) and reports its facts.
pub fn describe(message: &[u8]) -> Result<MessageInfo, InspectError> {
    let parsed = esdk::parse(message)?;
    let h = &parsed.header;
    Ok(MessageInfo {
        message_version: h.version,
        suite_id: h.suite.id_hex(),
        suite_name: h.suite.name.to_string(),
        content_type: h.content_type.as_str().to_string(),
        frame_length: h.frame_length,
        frames: parsed.body.frames.len(),
        encryption_context_keys: h.context.iter().map(|(k, _)| k.to_string()).collect(),
        encrypted_data_keys: h
            .encrypted_data_keys
            .iter()
            .map(|edk| DataKeyInfo {
                provider_id: String::from_utf8_lossy(edk.provider_id).into_owned(),
                key_name: key_name(edk.provider_info),
            })
            .collect(),
        signed: h.suite.is_signed(),
    })
}

/// The key name in provider info: raw AES keyrings append u32 tag bits, u32 IV length and the
/// IV (20 bytes) to the name; other providers (e.g. aws-kms) store the key id alone.
fn key_name(info: &[u8]) -> String {
    let raw_aes_name = info.len().checked_sub(20).and_then(|n| {
        let (name, rest) = info.split_at_checked(n)?;
        (rest.get(..8)? == [0, 0, 0, 128, 0, 0, 0, 12]).then_some(name)
    });
    let name = raw_aes_name.unwrap_or(info);
    if name == keyring::DAS_KEY_NAME {
        return "DataKey".to_string();
    }
    String::from_utf8_lossy(name).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_key_name_from_raw_aes_provider_info() {
        let mut info = b"DataKey".to_vec();
        info.extend([0, 0, 0, 128, 0, 0, 0, 12]);
        info.extend([7u8; 12]);
        assert_eq!(key_name(&info), "DataKey");
        assert_eq!(
            key_name(b"arn:aws:kms:us-east-1:1:key/abc"),
            "arn:aws:kms:us-east-1:1:key/abc"
        );
    }

    /// Whether the input reached the ESDK parser (these messages are too short to parse).
    fn reaches_the_message(input: &[u8]) -> bool {
        matches!(
            inspect(input).as_slice(),
            [Item {
                name: None,
                result: Err(InspectError::Esdk(_))
            }]
        )
    }

    #[test]
    fn accepts_envelope_base64_and_binary_input() {
        assert!(reaches_the_message(b"{\"databaseActivityEvents\":\"AQI=\"}"));
        assert!(reaches_the_message(b"  AQI=\n"));
        assert!(reaches_the_message(&[1, 0x80]));
        // base64 of an envelope, as in a Kinesis record's data
        assert!(reaches_the_message(
            b"eyJkYXRhYmFzZUFjdGl2aXR5RXZlbnRzIjoiQVFJPSJ9"
        ));
    }

    fn record(envelope: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(envelope)
    }

    #[test]
    fn reads_every_record_of_an_event_and_says_which_ones_fail() {
        // not a real message: every record fails, each for its own reason
        let envelope = r#"{"type":"DatabaseActivityMonitoringRecords","version":"1.2","databaseActivityEvents":"AQI=","key":"a2V5"}"#;
        let event = format!(
            r#"{{"records":[{{"recordId":"a","data":"{}"}},{{"recordId":"b","data":"!!"}},{{"recordId":"c"}}]}}"#,
            record(envelope)
        );
        let items = inspect(event.as_bytes());
        let names: Vec<_> = items.iter().map(|i| i.name.clone().unwrap()).collect();
        assert_eq!(names, ["record 0 (a)", "record 1 (b)", "record 2 (c)"]);
        assert!(matches!(items[0].result, Err(InspectError::Esdk(_))));
        assert_eq!(items[1].result, Err(InspectError::RecordDataNotBase64));
        assert_eq!(items[2].result, Err(InspectError::RecordDataMissing));

        let kinesis = format!(
            r#"{{"Records":[{{"SequenceNumber":"49","Data":"{}"}}]}}"#,
            record(envelope)
        );
        assert_eq!(
            inspect(kinesis.as_bytes())[0].name.as_deref(),
            Some("record 0 (49)")
        );
        let lines = format!(
            "{{\"data\":\"{0}\"}}\nnot json\n{{\"Data\":\"{0}\"}}\n",
            record(envelope)
        );
        let items = inspect(lines.as_bytes());
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].result, Err(InspectError::LineNotJson));
        assert_eq!(inspect(b"{\"x\":1}")[0].result, Err(InspectError::NotEnvelope));
    }

    #[test]
    fn names_what_is_wrong_with_bad_input() {
        let whole = |input: &[u8]| inspect(input).into_iter().map(|i| i.result).collect::<Vec<_>>();
        assert_eq!(whole(b""), [Err(InspectError::Empty)]);
        assert_eq!(whole(b"{\"key\":\"AQI=\"}"), [Err(InspectError::NotEnvelope)]);
        assert_eq!(whole(b"not base64!"), [Err(InspectError::NotBase64)]);
        assert_eq!(
            describe(&[1, 0x80, 0x01]),
            Err(InspectError::Esdk(EsdkError::Truncated("algorithm suite id")))
        );
    }
}
