//! The Firehose transformation invocation we read (the response is `output::response`).
//!
//! The types are our own and lenient on purpose: aws_lambda_events' event types reject a whole
//! batch for one odd field (`"subsequenceNumber":""` from emulators, a record whose `data` is
//! not base64), and the contract says one bad record must fail alone. See
//! ../shared/design/firehose.md.

use super::scan::{
    expect, expect_end, is_container, more_members, plain_key, plain_str, read_value, set_once,
};
use crate::limits::MAX_EVENT_ID_PREFIX_CHARS;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::fmt::Write as _;

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
    /// Borrowed from the event's text where the string has no escapes, as `data` is.
    #[serde(borrow)]
    pub record_id: Cow<'a, str>,
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
///
/// Only the two fields the event ids are made of are kept. The others Firehose sends
/// (`partitionKey`, `shardId`, `approximateArrivalTimestamp`) are read past like any unknown
/// key: nothing uses them, and kept they were two owned strings and three values a record,
/// held for the whole invocation.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KinesisMetadata {
    #[serde(default, deserialize_with = "lenient_scalar")]
    pub sequence_number: Option<Value>,
    /// An integer, or `""` from some emulators and old console samples.
    #[serde(default, deserialize_with = "lenient_scalar")]
    pub subsequence_number: Option<Value>,
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

/// [`lenient_string`] as a type, for the one-pass reader.
struct LenientString(Option<String>);

impl<'de> Deserialize<'de> for LenientString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_string(d).map(Self)
    }
}

/// [`lenient_scalar`] as a type, for the one-pass reader.
struct LenientScalar(Option<Value>);

impl<'de> Deserialize<'de> for LenientScalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_scalar(d).map(Self)
    }
}

/// [`lenient_text`] as a type, for the one-pass reader.
struct LenientText<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for LenientText<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_text(d).map(Self)
    }
}

/// [`lenient_metadata`] as a type, for the one-pass reader.
struct LenientMetadata(Option<KinesisMetadata>);

impl<'de> Deserialize<'de> for LenientMetadata {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        lenient_metadata(d).map(Self)
    }
}

impl<'a> FirehoseEvent<'a> {
    /// Reads an invocation from its JSON text, the records' data borrowed from it.
    ///
    /// Read in one pass ([`read_in_one_pass`]) when the text is plain: the records' base64
    /// `data` is found with a SIMD search for its closing quote, instead of serde_json's scan
    /// a few bytes at a time (the data is most of the text). Anything that pass does not take
    /// as it stands (a syntax error, escapes in a key or in the data, a repeated field, a
    /// lenient field holding an array or an object, …) is read by serde_json alone, which then
    /// decides, error included: the outcome is the same either way (unit tests, the `envelope`
    /// fuzz target).
    pub fn from_json(json: &'a [u8]) -> Result<Self, serde_json::Error> {
        match read_in_one_pass(json) {
            Some(event) => Ok(event),
            None => serde_json::from_slice(json),
        }
    }
}

/// Where the one-pass read of `json` disagrees with serde's, if it does: `None` when the one
/// pass leaves the text to serde, or serde reads the same invocation (unit tests, the
/// `envelope` fuzz target). Not on the records' path.
pub fn one_pass_disagreement(json: &[u8]) -> Option<String> {
    let fast = read_in_one_pass(json)?;
    match serde_json::from_slice::<FirehoseEvent<'_>>(json) {
        Ok(slow) => {
            let (fast, slow) = (format!("{fast:?}"), format!("{slow:?}"));
            (fast != slow).then(|| format!("{fast} against {slow}"))
        }
        Err(e) => Some(format!("one pass read an invocation serde rejects: {e}")),
    }
}

/// The invocation's object walked by hand; `None` for anything but a plain one (see
/// [`FirehoseEvent::from_json`]).
fn read_in_one_pass(json: &[u8]) -> Option<FirehoseEvent<'_>> {
    let mut at = 0;
    expect(json, &mut at, b'{')?;
    let (mut invocation_id, mut delivery_stream_arn, mut source_kinesis_stream_arn) = (None, None, None);
    let (mut region, mut records) = (None, None);
    loop {
        let key = plain_key(json, &mut at)?;
        expect(json, &mut at, b':')?;
        match key {
            b"invocationId" => set_once(&mut invocation_id, lenient::<LenientString>(json, &mut at)?.0)?,
            b"deliveryStreamArn" => {
                set_once(
                    &mut delivery_stream_arn,
                    lenient::<LenientString>(json, &mut at)?.0,
                )?;
            }
            b"sourceKinesisStreamArn" => {
                set_once(
                    &mut source_kinesis_stream_arn,
                    lenient::<LenientString>(json, &mut at)?.0,
                )?;
            }
            b"region" => set_once(&mut region, lenient::<LenientString>(json, &mut at)?.0)?,
            b"records" => set_once(&mut records, read_records(json, &mut at)?)?,
            _ => {
                read_value::<IgnoredAny>(json, &mut at)?;
            }
        }
        if !more_members(json, &mut at, b'}')? {
            break;
        }
    }
    expect_end(json, at)?;
    Some(FirehoseEvent {
        invocation_id: invocation_id.flatten(),
        delivery_stream_arn: delivery_stream_arn.flatten(),
        source_kinesis_stream_arn: source_kinesis_stream_arn.flatten(),
        region: region.flatten(),
        records: records?,
    })
}

/// The record list at `at`: an array of plain record objects.
fn read_records<'a>(json: &'a [u8], at: &mut usize) -> Option<Vec<FirehoseRecord<'a>>> {
    expect(json, at, b'[')?;
    let mut records = Vec::new();
    if expect(json, at, b']').is_some() {
        return Some(records);
    }
    loop {
        records.push(read_record(json, at)?);
        if !more_members(json, at, b']')? {
            return Some(records);
        }
    }
}

/// One record object at `at`.
fn read_record<'a>(json: &'a [u8], at: &mut usize) -> Option<FirehoseRecord<'a>> {
    expect(json, at, b'{')?;
    let (mut record_id, mut arrival, mut data, mut metadata) = (None, None, None, None);
    loop {
        let key = plain_key(json, at)?;
        expect(json, at, b':')?;
        match key {
            b"recordId" => {
                let id = match plain_str(json, at) {
                    Some(id) => Cow::Borrowed(id),
                    None => Cow::Owned(read_value::<String>(json, at)?),
                };
                set_once(&mut record_id, id)?;
            }
            b"approximateArrivalTimestamp" => set_once(&mut arrival, lenient::<LenientScalar>(json, at)?.0)?,
            b"data" => {
                let text = match plain_str(json, at) {
                    Some(text) => Some(Cow::Borrowed(text)),
                    None => lenient::<LenientText>(json, at)?.0,
                };
                set_once(&mut data, text)?;
            }
            b"kinesisRecordMetadata" => set_once(&mut metadata, read_metadata(json, at)?)?,
            _ => {
                read_value::<IgnoredAny>(json, at)?;
            }
        }
        if !more_members(json, at, b'}')? {
            break;
        }
    }
    Some(FirehoseRecord {
        record_id: record_id?,
        approximate_arrival_timestamp: arrival.flatten(),
        data: data.flatten(),
        kinesis_record_metadata: metadata.flatten(),
    })
}

/// A lenient field's value at `at`, unless it is an array or an object ([`is_container`]).
fn lenient<'a, T: Deserialize<'a>>(json: &'a [u8], at: &mut usize) -> Option<T> {
    if is_container(json, *at) {
        return None;
    }
    read_value(json, at)
}

/// `kinesisRecordMetadata` at `at`: an object walked by hand (the sequence numbers kept when
/// strings, numbers or `null`, any other key's value read past whatever it holds), or a scalar
/// (which reads as absent).
fn read_metadata(json: &[u8], at: &mut usize) -> Option<Option<KinesisMetadata>> {
    if expect(json, at, b'{').is_none() {
        return lenient::<LenientMetadata>(json, at).map(|m| m.0);
    }
    let (mut sequence_number, mut subsequence_number) = (None, None);
    if expect(json, at, b'}').is_some() {
        return Some(Some(KinesisMetadata::default()));
    }
    loop {
        let key = plain_key(json, at)?;
        expect(json, at, b':')?;
        let slot = match key {
            b"sequenceNumber" => Some(&mut sequence_number),
            b"subsequenceNumber" => Some(&mut subsequence_number),
            _ => None,
        };
        match slot {
            Some(slot) => {
                let value = match plain_str(json, at) {
                    Some(text) => Some(Value::String(text.to_owned())),
                    None => lenient::<LenientScalar>(json, at)?.0,
                };
                set_once(slot, value)?;
            }
            None => {
                read_value::<IgnoredAny>(json, at)?;
            }
        }
        if !more_members(json, at, b'}')? {
            break;
        }
    }
    Some(Some(KinesisMetadata {
        sequence_number: sequence_number.flatten(),
        subsequence_number: subsequence_number.flatten(),
    }))
}

/// Appends the text of a sequence or subsequence number: a string that is not empty as it is,
/// a number as serde_json displays it. `false`, appending nothing, for any other value.
fn push_scalar_text(out: &mut String, v: &Value) -> bool {
    match v {
        Value::String(s) if !s.is_empty() => out.push_str(s),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        _ => return false,
    }
    true
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
            record_id: Cow::Owned(self.record_id.into_owned()),
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
            Value::String(s) => crate::text::trim(s).parse::<i64>().ok()?,
            _ => return None,
        };
        DateTime::from_timestamp_millis(ms)
    }

    /// A prefix for event ids that is stable across Firehose retries: the Kinesis sequence and
    /// subsequence numbers where present, else the recordId.
    pub fn event_id_prefix(&self) -> String {
        let meta = self.kinesis_record_metadata.as_ref();
        // Written straight into the prefix (a number without a string of its own): the room
        // for a Kinesis sequence number (56 digits) and a short subsequence number.
        let mut prefix = String::with_capacity(64);
        let pushed = |prefix: &mut String, v: Option<&Value>| v.is_some_and(|v| push_scalar_text(prefix, v));
        if !pushed(&mut prefix, meta.and_then(|m| m.sequence_number.as_ref())) {
            return self.record_id.to_string();
        }
        prefix.push('-');
        if !pushed(&mut prefix, meta.and_then(|m| m.subsequence_number.as_ref())) {
            prefix.push('0');
        }
        prefix
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
    let fits = |p: &str| p.len() <= MAX_EVENT_ID_PREFIX_CHARS;
    let own: Vec<String> = records.iter().map(FirehoseRecord::event_id_prefix).collect();
    // One pass: the prefixes taken so far, borrowed from `own` and from the recordIds where
    // they come from there (every record of a usual batch, and of a batch that repeats its
    // records), and what each record takes instead of its own prefix, if anything.
    let mut taken: HashSet<Cow<'_, str>> = HashSet::with_capacity(records.len());
    let mut instead: Vec<Option<String>> = Vec::with_capacity(records.len());
    for (index, (prefix, record)) in own.iter().zip(records).enumerate() {
        if fits(prefix) && taken.insert(Cow::Borrowed(prefix.as_str())) {
            instead.push(None);
            continue;
        }
        let id: &str = &record.record_id;
        if fits(id) && taken.insert(Cow::Borrowed(id)) {
            instead.push(Some(id.to_owned()));
            continue;
        }
        let mut made = if fits(id) {
            id.to_owned()
        } else {
            format!("r{index}")
        };
        while taken.contains(made.as_str()) {
            made = format!("{made}-r{index}");
        }
        taken.insert(Cow::Owned(made.clone()));
        instead.push(Some(made));
    }
    drop(taken);
    own.into_iter()
        .zip(instead)
        .map(|(own, instead)| instead.unwrap_or(own))
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

    #[test]
    fn event_id_prefix_reads_sequence_numbers_given_as_strings_or_numbers() {
        // Each value as the prefix shows it: `None` where it does not count as a number.
        let values = [
            (r#""4960""#, Some("4960")),
            (r#""""#, None),
            ("7", Some("7")),
            ("-5", Some("-5")),
            ("1.0", Some("1.0")),
            ("1e2", Some("100.0")),
            ("18446744073709551615", Some("18446744073709551615")),
            ("true", None),
            ("null", None),
            ("[1]", None),
        ];
        for (seq, seq_text) in values {
            for (sub, sub_text) in values {
                let json = format!(
                    r#"{{"recordId":"r","kinesisRecordMetadata":{{"sequenceNumber":{seq},"subsequenceNumber":{sub}}}}}"#
                );
                let record: FirehoseRecord = serde_json::from_str(&json).unwrap();
                let expected = match seq_text {
                    Some(seq) => format!("{seq}-{}", sub_text.unwrap_or("0")),
                    None => "r".to_string(),
                };
                assert_eq!(record.event_id_prefix(), expected, "{json}");
            }
        }
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
            record_id: Cow::Owned(id.to_string()),
            kinesis_record_metadata: seq.map(|s| KinesisMetadata {
                sequence_number: Some(Value::String(s.to_string())),
                subsequence_number: Some(Value::from(0)),
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
        // Each its own when all fit and none repeats.
        let distinct = [record("a", Some("7")), record("b", Some("8")), record("c", None)];
        assert_eq!(event_id_prefixes(&distinct), ["7-0", "8-0", "c"]);
        // None repeats, but one is too long: that one alone takes its recordId.
        let one_long = [
            record("a", Some("7")),
            record("b", Some(&long)),
            record("c", Some("8")),
        ];
        assert_eq!(event_id_prefixes(&one_long), ["7-0", "b", "8-0"]);
    }

    #[test]
    fn event_id_prefixes_follow_the_record_by_record_rule_on_batches_with_repeats() {
        // The rule as written in the doc comment, one record at a time.
        fn by_rule(records: &[FirehoseRecord]) -> Vec<String> {
            let fits = |p: &str| p.len() <= MAX_EVENT_ID_PREFIX_CHARS;
            let mut seen: HashSet<String> = HashSet::new();
            let mut out = Vec::new();
            for (index, record) in records.iter().enumerate() {
                let mut prefix = record.event_id_prefix();
                if seen.contains(&prefix) || !fits(&prefix) {
                    prefix = record.record_id.to_string();
                }
                if !fits(&prefix) {
                    prefix = format!("r{index}");
                }
                while seen.contains(&prefix) {
                    prefix = format!("{prefix}-r{index}");
                }
                seen.insert(prefix.clone());
                out.push(prefix);
            }
            out
        }
        let record = |id: String, seq: Option<String>| FirehoseRecord {
            record_id: Cow::Owned(id),
            kinesis_record_metadata: seq.map(|s| KinesisMetadata {
                sequence_number: Some(Value::String(s)),
                subsequence_number: Some(Value::from(0)),
            }),
            ..FirehoseRecord::default()
        };
        let long = "9".repeat(MAX_EVENT_ID_PREFIX_CHARS);
        // A batch and the same batch again, as a retry or a benchmark's doubling sends it.
        let doubled: Vec<FirehoseRecord> = ["", "-2"]
            .iter()
            .flat_map(|copy| (0..50).map(move |i| (i, copy)))
            .map(|(i, copy)| record(format!("id{i}{copy}"), Some(format!("{}", 4960 + i))))
            .collect();
        let prefixes = event_id_prefixes(&doubled);
        assert_eq!(prefixes, by_rule(&doubled));
        assert_eq!(prefixes[0], "4960-0");
        assert_eq!(prefixes[50], "id0-2");
        // A made name that is taken too is extended again, as often as needed.
        let chain = [
            record("a".to_string(), None),
            record("a-r2".to_string(), None),
            record("a".to_string(), None),
        ];
        assert_eq!(event_id_prefixes(&chain), ["a", "a-r2", "a-r2-r2"]);
        assert_eq!(by_rule(&chain), ["a", "a-r2", "a-r2-r2"]);
        // Generated batches: few distinct sequence numbers and record ids, some of them equal to
        // other records' prefixes, some too long, some records without metadata.
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..2000 {
            let n = rng.usize(1..12);
            let pick = |rng: &mut fastrand::Rng| match rng.u8(0..6) {
                0 if rng.bool() => long.clone(),
                0 => format!("{long}x"),
                1 => format!("{}-0", rng.u8(0..3)),
                2 => format!("r{}", rng.u8(0..4)),
                3 => format!("r{}-r{}", rng.u8(0..4), rng.u8(0..4)),
                _ => format!("{}", rng.u8(0..3)),
            };
            let records: Vec<FirehoseRecord> = (0..n)
                .map(|_| {
                    let seq = (rng.u8(0..4) > 0).then(|| pick(&mut rng));
                    record(pick(&mut rng), seq)
                })
                .collect();
            let prefixes = event_id_prefixes(&records);
            assert_eq!(prefixes, by_rule(&records), "{records:?}");
            let distinct: HashSet<&String> = prefixes.iter().collect();
            assert_eq!(distinct.len(), prefixes.len(), "{records:?}");
        }
    }

    #[test]
    fn reads_arrival_time_in_milliseconds() {
        let r: FirehoseRecord =
            serde_json::from_str(r#"{"recordId":"x","approximateArrivalTimestamp":1664028793294}"#).unwrap();
        assert_eq!(r.arrival_time().unwrap().timestamp_millis(), 1_664_028_793_294);
        // A string of digits (JSON escapes below: tab, U+00A0, U+2028), trimmed of whitespace as
        // str::trim trims it; other text is none.
        for (text, ms) in [
            ("1664028793294", Some(1_664_028_793_294)),
            (" 1664028793294\\t", Some(1_664_028_793_294)),
            ("\\u00a01664028793294\\u2028", Some(1_664_028_793_294)),
            ("16640x", None),
            ("", None),
        ] {
            let json = format!(r#"{{"recordId":"x","approximateArrivalTimestamp":"{text}"}}"#);
            let r: FirehoseRecord = serde_json::from_str(&json).unwrap();
            assert_eq!(r.arrival_time().map(|t| t.timestamp_millis()), ms, "{text:?}");
        }
    }

    const PLAIN_EVENTS: [&str; 5] = [
        r#"{"invocationId":"i-1","deliveryStreamArn":"arn:d","region":"us-east-1","records":[{"recordId":"r1","approximateArrivalTimestamp":1664028793294,"data":"eyJh/+==","kinesisRecordMetadata":{"sequenceNumber":"49","subsequenceNumber":0,"shardId":"s"}},{"recordId":"r2","data":"AQID"}]}"#,
        r#" { "records" : [ ] , "extra" : [ { "x" : null } ] } "#,
        r#"{"sourceKinesisStreamArn":"arn:k","records":[{"data":"AA==","recordId":"r","other":{"a":[1]}}]}"#,
        r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"x":[{}],"subsequenceNumber":"","sequenceNumber":"4\u0039[","partitionKey":null,"shardId":true}},{"recordId":"s","kinesisRecordMetadata":{}},{"recordId":"t","kinesisRecordMetadata":7}]}"#,
        // Numbers in kept and in unknown fields (a cut or an edit makes fractions, exponents,
        // signs and leading zeros of them).
        r#"{"records":[{"recordId":"r","approximateArrivalTimestamp":0,"n":1234567890123456789,"kinesisRecordMetadata":{"sequenceNumber":4960,"subsequenceNumber":12 ,"approximateArrivalTimestamp":1664028793294,"shardId":"shardId-0"},"m":-5,"f":2.5e1,"z":10}]}"#,
    ];

    #[test]
    fn reads_plain_invocations_in_one_pass_as_serde_does() {
        for json in PLAIN_EVENTS {
            let fast = read_in_one_pass(json.as_bytes()).unwrap();
            let slow: FirehoseEvent<'_> = serde_json::from_str(json).unwrap();
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"));
        }
        let fast = read_in_one_pass(PLAIN_EVENTS[0].as_bytes()).unwrap();
        assert!(matches!(fast.records[0].data, Some(Cow::Borrowed("eyJh/+=="))));
    }

    #[test]
    fn leaves_to_serde_what_is_not_plain_and_decides_as_serde_does() {
        let deep = format!(
            r#"{{"records":[{{"recordId":"r","data":{}1{}}}]}}"#,
            "[".repeat(126),
            "]".repeat(126)
        );
        let cases = [
            r#"{"records":[{"recordId":"r","data":"ab\/c"}]}"#,
            r#"{"rec\u006frds":[{"recordId":"r"}]}"#,
            r#"{"records":[{"recordId":"r"}],"records":[]}"#,
            r#"{"records":[{"recordId":"r","data":"a","data":"b"}]}"#,
            r#"{"records":[{"data":"a"}]}"#,
            r#"{"records":[["r"]]}"#,
            r#"{"records":[{"recordId":"r","approximateArrivalTimestamp":[1]}]}"#,
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"sequenceNumber":[1]}}]}"#,
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"sequenceNumber":"a","sequenceNumber":"b"}}]}"#,
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":[1]}]}"#,
            r#"{"records":[]} x"#,
            &deep,
            r#"{"invocationId":null,"records":[{"recordId":"r","data":17}]}"#,
            // Numbers beyond a u64, signed, with a fraction, an exponent, a leading zero or a
            // letter after them: as serde reads them, or refuses them.
            r#"{"records":[{"recordId":"r","approximateArrivalTimestamp":18446744073709551616}]}"#,
            r#"{"records":[{"recordId":"r","approximateArrivalTimestamp":12345678901234567890}]}"#,
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"subsequenceNumber":-1}}]}"#,
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"subsequenceNumber":1.0}}]}"#,
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"subsequenceNumber":1e2}}]}"#,
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"subsequenceNumber":01}}]}"#,
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"shardId":00}}]}"#,
            r#"{"records":[{"recordId":"r","x":1x}]}"#,
        ];
        for json in cases {
            let slow = serde_json::from_str::<FirehoseEvent<'_>>(json).map(|e| format!("{e:?}"));
            let ours = FirehoseEvent::from_json(json.as_bytes()).map(|e| format!("{e:?}"));
            assert_eq!(ours.as_ref().ok(), slow.as_ref().ok(), "{json}");
            assert_eq!(one_pass_disagreement(json.as_bytes()), None, "{json}");
        }
        // Escaped data is read by serde within the one pass, unescaped (owned).
        let escaped = read_in_one_pass(cases[0].as_bytes()).unwrap();
        assert!(matches!(&escaped.records[0].data, Some(Cow::Owned(s)) if s == "ab/c"));
        // A null or a number in a lenient field too.
        assert!(read_in_one_pass(cases[12].as_bytes()).is_some());
        for json in &cases[1..12] {
            assert!(read_in_one_pass(json.as_bytes()).is_none(), "{json}");
        }
        // Metadata fields nothing keeps are read past, repeated or not, by both readers alike.
        let repeated =
            r#"{"records":[{"recordId":"r","kinesisRecordMetadata":{"shardId":"a","shardId":"b"}}]}"#;
        assert!(read_in_one_pass(repeated.as_bytes()).is_some());
        assert_eq!(one_pass_disagreement(repeated.as_bytes()), None);
        // An array in a lenient field, however deep, is left to serde (which reads it as absent).
        assert!(read_in_one_pass(deep.as_bytes()).is_none());
        assert!(
            FirehoseEvent::from_json(deep.as_bytes()).unwrap().records[0]
                .data
                .is_none()
        );
    }

    #[test]
    fn the_one_pass_read_agrees_with_serde_on_every_cut_and_edit() {
        crate::ingest::scan::assert_agrees_on_every_cut_and_edit(
            &PLAIN_EVENTS,
            one_pass_disagreement,
            |json| read_in_one_pass(json).is_some(),
        );
    }
}
