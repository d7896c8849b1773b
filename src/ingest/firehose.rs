//! The Firehose transformation invocation we read (the response is `output::response`).
//!
//! The types are our own and lenient on purpose: aws_lambda_events' event types reject a whole
//! batch for one odd field (`"subsequenceNumber":""` from emulators, a record whose `data` is
//! not base64), and the contract says one bad record must fail alone. See
//! ../shared/design/firehose.md.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

/// A Firehose transformation invocation.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent {
    #[serde(default)]
    pub invocation_id: Option<String>,
    #[serde(default)]
    pub delivery_stream_arn: Option<String>,
    #[serde(default)]
    pub source_kinesis_stream_arn: Option<String>,
    #[serde(default)]
    pub region: Option<String>,
    pub records: Vec<FirehoseRecord>,
}

/// One record of the invocation. Only `recordId` is required: without it nothing can be answered.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord {
    pub record_id: String,
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<Value>,
    /// Base64 of the Kinesis record; anything else fails this record alone.
    #[serde(default)]
    pub data: Option<Value>,
    #[serde(default)]
    pub kinesis_record_metadata: Option<KinesisMetadata>,
}

/// Kinesis source metadata; sequence numbers identify a record across Firehose retries.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisMetadata {
    #[serde(default)]
    pub sequence_number: Option<Value>,
    /// An integer, or `""` from some emulators and old console samples.
    #[serde(default)]
    pub subsequence_number: Option<Value>,
    #[serde(default)]
    pub partition_key: Option<Value>,
    #[serde(default)]
    pub shard_id: Option<Value>,
    #[serde(default)]
    pub approximate_arrival_timestamp: Option<Value>,
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl FirehoseRecord {
    /// Bytes of record data received (the base64 text's decoded length, approximately).
    pub fn data_len(&self) -> usize {
        match &self.data {
            Some(Value::String(s)) => s.len() / 4 * 3,
            _ => 0,
        }
    }

    /// The record's arrival time (milliseconds since the epoch in the event).
    pub fn arrival_time(&self) -> Option<DateTime<Utc>> {
        let ms = match self.approximate_arrival_timestamp.as_ref()? {
            Value::Number(n) => n.as_i64()?,
            Value::String(s) => s.trim().parse::<i64>().ok()?,
            _ => return None,
        };
        DateTime::from_timestamp_millis(ms)
    }

    /// A prefix for event ids that is stable across Firehose retries: the Kinesis sequence and
    /// subsequence numbers where present, else the recordId.
    pub fn event_id_prefix(&self) -> String {
        let meta = self.kinesis_record_metadata.as_ref();
        match meta
            .and_then(|m| m.sequence_number.as_ref())
            .and_then(scalar_text)
        {
            Some(seq) => {
                let sub = meta
                    .and_then(|m| m.subsequence_number.as_ref())
                    .and_then(scalar_text);
                format!("{seq}-{}", sub.as_deref().unwrap_or("0"))
            }
            None => self.record_id.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_empty_subsequence_number_and_missing_fields() {
        let event: FirehoseEvent = serde_json::from_str(
            r#"{"records":[{"recordId":"a","data":"eA==","kinesisRecordMetadata":{"sequenceNumber":"42","subsequenceNumber":""}},
                           {"recordId":"b","data":17},{"recordId":"c"}]}"#,
        )
        .unwrap();
        assert_eq!(event.records.len(), 3);
        assert_eq!(event.records[0].event_id_prefix(), "42-0");
        assert_eq!(event.records[2].event_id_prefix(), "c");
    }

    #[test]
    fn builds_event_id_prefix_from_sequence_and_subsequence() {
        let r: FirehoseRecord = serde_json::from_str(
            r#"{"recordId":"x","kinesisRecordMetadata":{"sequenceNumber":"4960","subsequenceNumber":3}}"#,
        )
        .unwrap();
        assert_eq!(r.event_id_prefix(), "4960-3");
    }

    #[test]
    fn reads_arrival_time_in_milliseconds() {
        let r: FirehoseRecord =
            serde_json::from_str(r#"{"recordId":"x","approximateArrivalTimestamp":1664028793294}"#).unwrap();
        assert_eq!(r.arrival_time().unwrap().timestamp_millis(), 1_664_028_793_294);
    }
}
