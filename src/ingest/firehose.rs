//! The Firehose transformation invocation we read (the response is `output::response`).
//!
//! The types are our own and lenient on purpose: aws_lambda_events' event types reject a whole
//! batch for one odd field (`"subsequenceNumber":""` from emulators, a record whose `data` is
//! not base64), and the contract says one bad record must fail alone. See
//! ../shared/design/firehose.md.

use crate::limits::MAX_EVENT_ID_PREFIX_CHARS;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// A Firehose transformation invocation. Only `records` (and each record's `recordId`) must
/// have the right type; an optional field of the wrong type reads as absent.
///
/// Read from a slice or a `&str`, the records' data borrows from it (`'a`); built by hand or
/// read from elsewhere, it is owned (`FirehoseEvent<'static>`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseEvent<'a> {
    #[serde(default, deserialize_with = "lenient_string")]
    pub invocation_id: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub delivery_stream_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub source_kinesis_stream_arn: Option<String>,
    #[serde(default, deserialize_with = "lenient_string")]
    pub region: Option<String>,
    #[serde(borrow)]
    pub records: Vec<FirehoseRecord<'a>>,
}

/// One record of the invocation. Only `recordId` is required: without it nothing can be answered.
/// Every other field of the wrong type reads as absent, so it fails this record at most.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FirehoseRecord<'a> {
    pub record_id: String,
    #[serde(default, deserialize_with = "lenient_scalar")]
    pub approximate_arrival_timestamp: Option<Value>,
    /// Base64 of the Kinesis record; anything else fails this record alone. Borrowed from the
    /// event's text where the string has no escapes (so the largest part of an event is not
    /// copied), owned otherwise.
    #[serde(default, borrow, deserialize_with = "lenient_text")]
    pub data: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "lenient_metadata")]
    pub kinesis_record_metadata: Option<KinesisMetadata>,
}

/// Kinesis source metadata; sequence numbers identify a record across Firehose retries.
/// Each field is a string or a number; anything else reads as absent.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisMetadata {
    #[serde(default, deserialize_with = "lenient_scalar")]
    pub sequence_number: Option<Value>,
    /// An integer, or `""` from some emulators and old console samples.
    #[serde(default, deserialize_with = "lenient_scalar")]
    pub subsequence_number: Option<Value>,
    #[serde(default, deserialize_with = "lenient_scalar")]
    pub partition_key: Option<Value>,
    #[serde(default, deserialize_with = "lenient_scalar")]
    pub shard_id: Option<Value>,
    #[serde(default, deserialize_with = "lenient_scalar")]
    pub approximate_arrival_timestamp: Option<Value>,
}

/// What a lenient field accepts.
#[derive(Clone, Copy)]
enum Accept {
    /// A string.
    String,
    /// A string or a number.
    Scalar,
}

/// What a lenient field read: a string, borrowed from the input where it can be, or a number.
enum Lenient<'de> {
    Text(Cow<'de, str>),
    Number(Value),
}

/// Reads any JSON value, keeping strings (and numbers for [`Accept::Scalar`]); anything else is
/// consumed without being materialised (depth costs no stack) and reads as `None`.
struct LenientVisitor(Accept);

impl<'de> Visitor<'de> for LenientVisitor {
    type Value = Option<Lenient<'de>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Some(Lenient::Text(Cow::Borrowed(v))))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Some(Lenient::Text(Cow::Owned(v.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Some(Lenient::Text(Cow::Owned(v))))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(self.number(Value::from(v)))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(self.number(Value::from(v)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(self.number(Value::from(v)))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

impl LenientVisitor {
    fn number<'de>(&self, v: Value) -> Option<Lenient<'de>> {
        matches!(self.0, Accept::Scalar).then_some(Lenient::Number(v))
    }
}

/// A string or a number, owned; anything else reads as absent.
fn lenient_scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Value>, D::Error> {
    Ok(d.deserialize_any(LenientVisitor(Accept::Scalar))?
        .map(|v| match v {
            Lenient::Text(t) => Value::String(t.into_owned()),
            Lenient::Number(n) => n,
        }))
}

/// A string, owned; anything else reads as absent.
fn lenient_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(lenient_text(d)?.map(Cow::into_owned))
}

/// A string, borrowed from the input where it can be; anything else reads as absent.
fn lenient_text<'de: 'a, 'a, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'a, str>>, D::Error> {
    Ok(match d.deserialize_any(LenientVisitor(Accept::String))? {
        Some(Lenient::Text(t)) => Some(t),
        _ => None,
    })
}

/// `kinesisRecordMetadata`: an object is read field by field (leniently); any other value reads
/// as absent.
fn lenient_metadata<'de, D: Deserializer<'de>>(d: D) -> Result<Option<KinesisMetadata>, D::Error> {
    struct MetadataVisitor;
    impl<'de> Visitor<'de> for MetadataVisitor {
        type Value = Option<KinesisMetadata>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            KinesisMetadata::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(None)
        }
    }
    d.deserialize_any(MetadataVisitor)
}

fn scalar_text(v: &Value) -> Option<Cow<'_, str>> {
    match v {
        Value::String(s) if !s.is_empty() => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        _ => None,
    }
}

impl FirehoseEvent<'_> {
    /// The same event owning all its data, independent of the text it was read from.
    pub fn into_owned(self) -> FirehoseEvent<'static> {
        FirehoseEvent {
            invocation_id: self.invocation_id,
            delivery_stream_arn: self.delivery_stream_arn,
            source_kinesis_stream_arn: self.source_kinesis_stream_arn,
            region: self.region,
            records: self.records.into_iter().map(FirehoseRecord::into_owned).collect(),
        }
    }
}

impl FirehoseRecord<'_> {
    /// The same record owning its data.
    pub fn into_owned(self) -> FirehoseRecord<'static> {
        FirehoseRecord {
            record_id: self.record_id,
            approximate_arrival_timestamp: self.approximate_arrival_timestamp,
            data: self.data.map(|d| Cow::Owned(d.into_owned())),
            kinesis_record_metadata: self.kinesis_record_metadata,
        }
    }

    /// Bytes of record data received (the base64 text's decoded length, approximately).
    pub fn data_len(&self) -> usize {
        self.data.as_deref().map_or(0, |s| s.len() / 4 * 3)
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
                let sub = sub.as_deref().unwrap_or("0");
                let mut prefix = String::with_capacity(seq.len() + 1 + sub.len());
                prefix.push_str(&seq);
                prefix.push('-');
                prefix.push_str(sub);
                prefix
            }
            None => self.record_id.clone(),
        }
    }
}

/// The event-id prefix of every record of an invocation, in order, unique within it. Each record
/// keeps [`FirehoseRecord::event_id_prefix`] unless an earlier record of the invocation already
/// has that prefix (records sharing Kinesis sequence and subsequence numbers, or lacking
/// metadata) or it is longer than [`MAX_EVENT_ID_PREFIX_CHARS`]; it then takes its recordId (or
/// `r<record index>` if that is too long), and if that is taken too, `-r<record index>` is
/// appended until the prefix is free. A function of the records alone, in order: a retry of the
/// same batch gets the same prefixes.
pub fn event_id_prefixes(records: &[FirehoseRecord]) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::with_capacity(records.len());
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let fits = |p: &str| p.len() <= MAX_EVENT_ID_PREFIX_CHARS;
            let mut prefix = record.event_id_prefix();
            if seen.contains(&prefix) || !fits(&prefix) {
                prefix.clone_from(&record.record_id);
            }
            if !fits(&prefix) {
                prefix = format!("r{index}");
            }
            while seen.contains(&prefix) {
                prefix = format!("{prefix}-r{index}");
            }
            seen.insert(prefix.clone());
            prefix
        })
        .collect()
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

    /// The data borrows from the event's text; a JSON encoder that escapes `/` (valid JSON)
    /// gets its text unescaped, owned.
    #[test]
    fn borrows_plain_data_and_unescapes_escaped_data() {
        let text = r#"{"records":[{"recordId":"a","data":"ab/c+d=="},{"recordId":"b","data":"ab\/c+d=="}]}"#;
        let event: FirehoseEvent<'_> = serde_json::from_str(text).unwrap();
        assert!(matches!(event.records[0].data, Some(Cow::Borrowed("ab/c+d=="))));
        assert!(matches!(&event.records[1].data, Some(Cow::Owned(s)) if s == "ab/c+d=="));
        let owned = event.into_owned();
        assert_eq!(owned.records[1].data.as_deref(), Some("ab/c+d=="));
        assert_eq!(owned.records[0].data_len(), 6);
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
    fn event_id_prefixes_are_unique_short_and_keep_the_first_records_form() {
        let record = |id: &str, seq: Option<&str>| FirehoseRecord {
            record_id: id.to_string(),
            kinesis_record_metadata: seq.map(|s| KinesisMetadata {
                sequence_number: Some(Value::String(s.to_string())),
                subsequence_number: Some(Value::from(0)),
                ..KinesisMetadata::default()
            }),
            ..FirehoseRecord::default()
        };
        let long = "9".repeat(MAX_EVENT_ID_PREFIX_CHARS);
        let records = [
            record("a", Some("7")),
            record("b", Some("7")),
            record("c", None),
            record("c", None),
            record("7-0", None),
            record("d", Some(&long)),
            record(&format!("{long}x"), Some(&long)),
        ];
        assert_eq!(
            event_id_prefixes(&records),
            ["7-0", "b", "c", "c-r3", "7-0-r4", "d", "r6"]
        );
    }

    #[test]
    fn reads_arrival_time_in_milliseconds() {
        let r: FirehoseRecord =
            serde_json::from_str(r#"{"recordId":"x","approximateArrivalTimestamp":1664028793294}"#).unwrap();
        assert_eq!(r.arrival_time().unwrap().timestamp_millis(), 1_664_028_793_294);
    }
}
