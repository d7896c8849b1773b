//! The Firehose transformation contract: the invocation we read and the response we answer.
//!
//! The input types are our own and lenient on purpose: aws_lambda_events' event types reject
//! a whole batch for one odd field (`"subsequenceNumber":""` from emulators, a record whose
//! `data` is not base64), and the contract says one bad record must fail alone. The response is
//! built with aws_lambda_events' types, with the exact result spellings Firehose accepts
//! (`Ok`, `Dropped`, `ProcessingFailed`). See ../shared/design/firehose.md.

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::firehose::{
    KinesisFirehoseResponse, KinesisFirehoseResponseRecord, KinesisFirehoseResponseRecordMetadata,
};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

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

/// What happened to one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordResult {
    Ok {
        data: Vec<u8>,
        partition_keys: HashMap<String, String>,
    },
    Dropped,
    ProcessingFailed,
}

impl RecordResult {
    pub fn as_str(&self) -> &'static str {
        match self {
            RecordResult::Ok { .. } => "Ok",
            RecordResult::Dropped => "Dropped",
            RecordResult::ProcessingFailed => "ProcessingFailed",
        }
    }
}

/// The response entry for one record.
pub fn response_record(record_id: &str, result: RecordResult) -> KinesisFirehoseResponseRecord {
    let mut record = KinesisFirehoseResponseRecord::default();
    record.record_id = Some(record_id.to_string());
    record.result = Some(result.as_str().to_string());
    if let RecordResult::Ok { data, partition_keys } = result {
        let mut encoded = Base64Data::default();
        encoded.0 = data;
        record.data = encoded;
        let mut metadata = KinesisFirehoseResponseRecordMetadata::default();
        metadata.partition_keys = partition_keys;
        record.metadata = metadata;
    }
    record
}

/// The response for all records, in order.
pub fn response(records: Vec<KinesisFirehoseResponseRecord>) -> KinesisFirehoseResponse {
    let mut response = KinesisFirehoseResponse::default();
    response.records = records;
    response
}

/// Bytes `value` takes when serialized as JSON, without building the text.
pub fn serialized_len<T: serde::Serialize>(value: &T) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
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

    #[test]
    fn serializes_exact_result_spellings() {
        let ok = response_record(
            "r1",
            RecordResult::Ok {
                data: b"{}\n".to_vec(),
                partition_keys: HashMap::new(),
            },
        );
        let json = serde_json::to_value(response(vec![
            ok,
            response_record("r2", RecordResult::Dropped),
            response_record("r3", RecordResult::ProcessingFailed),
        ]))
        .unwrap();
        let results: Vec<&str> = json["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["result"].as_str().unwrap())
            .collect();
        assert_eq!(results, ["Ok", "Dropped", "ProcessingFailed"]);
        assert_eq!(json["records"][0]["data"], "e30K");
        assert_eq!(json["records"][0]["recordId"], "r1");
    }

    #[test]
    fn counts_serialized_length_exactly() {
        let r = response_record("r1", RecordResult::Dropped);
        assert_eq!(serialized_len(&r), serde_json::to_vec(&r).unwrap().len());
    }
}
