//! The Firehose response, built from the outcomes, and its exact serialized size computed
//! arithmetically (so the budget can be enforced without serializing).
//!
//! Shape, per ../shared/design/firehose.md: `{"records":[{"recordId":…,"result":"Ok",
//! "data":"<base64>","metadata":{"partitionKeys":{…}}},…]}`, one entry per input record, in
//! input order, with the exact result spellings `Ok`, `Dropped`, `ProcessingFailed`. Entries
//! that are not Ok carry `"data":""` and empty partition keys.

use super::{Outcome, PartitionKeys, RecordResult, push_json_str};
use crate::ingest::FirehoseEvent;
use crate::ingest::scan::count_per_block;
use base64::display::Base64Display;
use base64::engine::general_purpose::STANDARD;
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use std::io::{self, Write};

/// The response to one invocation.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FirehoseResponse {
    pub records: Vec<ResponseRecord>,
}

/// The response entry of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResponseRecord {
    pub record_id: String,
    pub result: RecordResult,
    /// The JSON lines of an Ok record (sent base64-encoded); empty otherwise.
    pub data: Vec<u8>,
    pub partition_keys: Option<PartitionKeys>,
}

impl FirehoseResponse {
    /// One entry per record of `event`, from the outcome at the same index.
    pub fn new(event: &FirehoseEvent, outcomes: Vec<Outcome>) -> Self {
        let records = event
            .records
            .iter()
            .zip(outcomes)
            .map(|(record, outcome)| ResponseRecord::new(record.record_id.to_string(), outcome))
            .collect();
        FirehoseResponse { records }
    }
}

impl FirehoseResponse {
    /// The response as compact JSON, written to `out` through a buffer of about 64 KiB as it
    /// is made (no copy of the whole response in memory): serde_json's bytes for it, without
    /// its escape scan over base64, which never needs escaping.
    pub fn write_json<W: Write>(&self, out: W) -> io::Result<()> {
        let mut writer = ResponseWriter::new(out);
        for record in &self.records {
            writer.entry(
                &record.record_id,
                record.result,
                &record.data,
                record.partition_keys.as_ref(),
            )?;
        }
        writer.finish().map(drop)
    }
}

/// The response written entry by entry, in input order, as each record's outcome is final
/// (the Lambda's body and `dasp transform`'s output, through
/// [`crate::handler::Handler::handle_into`]): the bytes of [`FirehoseResponse::write_json`],
/// through a buffer of about 64 KiB, so that a record's lines can be freed as soon as its
/// entry is written.
pub struct ResponseWriter<W: Write> {
    out: W,
    buffer: Vec<u8>,
    entries: usize,
    /// The first write error of [`Self::sink`]: nothing more is written, [`Self::finish`]
    /// returns it.
    failed: Option<io::Error>,
}

impl<W: Write> ResponseWriter<W> {
    const FLUSH_AT: usize = 1 << 16;

    /// Nothing is written to `out` before the first entry is flushed, or [`Self::finish`].
    pub fn new(out: W) -> Self {
        let mut buffer = Vec::with_capacity(Self::FLUSH_AT * 2);
        buffer.extend_from_slice(br#"{"records":["#);
        ResponseWriter {
            out,
            buffer,
            entries: 0,
            failed: None,
        }
    }

    /// The sink of [`crate::handler::Handler::handle_into`] for `event`: writes the entry of
    /// each record as its outcome comes, and keeps the outcome without its lines.
    pub fn sink<'a>(
        &'a mut self,
        event: &'a FirehoseEvent<'a>,
    ) -> impl FnMut(usize, Outcome) -> Outcome + Send + 'a
    where
        W: Send,
    {
        move |index, outcome| {
            if self.failed.is_none() {
                let written = match event.records.get(index) {
                    Some(record) => self.outcome(&record.record_id, &outcome),
                    None => Err(io::Error::other("an outcome for no record of the event")),
                };
                self.failed = written.err();
            }
            outcome.without_data()
        }
    }

    /// The entry `outcome` makes for the record `record_id`.
    fn outcome(&mut self, record_id: &str, outcome: &Outcome) -> io::Result<()> {
        let (data, keys) = entry_parts(outcome);
        self.entry(record_id, outcome.result(), data, keys)
    }

    fn entry(
        &mut self,
        record_id: &str,
        result: RecordResult,
        data: &[u8],
        keys: Option<&PartitionKeys>,
    ) -> io::Result<()> {
        if self.entries > 0 {
            self.buffer.push(b',');
        }
        self.entries += 1;
        write_entry(&mut self.buffer, record_id, result, data, keys);
        if self.buffer.len() >= Self::FLUSH_AT {
            self.out.write_all(&self.buffer)?;
            self.buffer.clear();
        }
        Ok(())
    }

    /// Closes the response and writes what is left; returns the writer, not flushed.
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        self.buffer.extend_from_slice(b"]}");
        self.out.write_all(&self.buffer)?;
        Ok(self.out)
    }
}

/// What an outcome's entry carries besides its result: an Ok record's lines and partition keys,
/// nothing for the others.
fn entry_parts(outcome: &Outcome) -> (&[u8], Option<&PartitionKeys>) {
    match outcome {
        Outcome::Ok { data, keys, .. } => (data, Some(keys)),
        Outcome::Dropped { .. } | Outcome::Failed(_) => (&[], None),
    }
}

/// One response entry, as serde_json writes a [`ResponseRecord`].
fn write_entry(
    out: &mut Vec<u8>,
    record_id: &str,
    result: RecordResult,
    data: &[u8],
    keys: Option<&PartitionKeys>,
) {
    out.extend_from_slice(br#"{"recordId":"#);
    push_json_str(out, record_id);
    // Result spellings and partition keys need no escaping (tests hold both to serde_json).
    out.extend_from_slice(br#","result":""#);
    out.extend_from_slice(result.as_str().as_bytes());
    out.extend_from_slice(br#"","data":""#);
    base64_simd::STANDARD.encode_append(data, out);
    out.extend_from_slice(br#"","metadata":{"partitionKeys":{"#);
    if let Some(keys) = keys {
        out.extend_from_slice(keys.json_members().as_bytes());
    }
    out.extend_from_slice(b"}}}");
}

impl ResponseRecord {
    #[cfg(test)]
    fn write_json(&self, out: &mut Vec<u8>) {
        write_entry(
            out,
            &self.record_id,
            self.result,
            &self.data,
            self.partition_keys.as_ref(),
        );
    }

    pub fn new(record_id: String, outcome: Outcome) -> Self {
        let result = outcome.result();
        match outcome {
            Outcome::Ok { data, keys, .. } => ResponseRecord {
                record_id,
                result,
                data,
                partition_keys: Some(keys),
            },
            Outcome::Dropped { .. } | Outcome::Failed(_) => ResponseRecord {
                record_id,
                result,
                data: Vec::new(),
                partition_keys: None,
            },
        }
    }
}

struct Metadata<'a>(Option<&'a PartitionKeys>);

impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        struct Empty;
        impl Serialize for Empty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_map(Some(0))?.end()
            }
        }
        let mut map = serializer.serialize_map(Some(1))?;
        match self.0 {
            Some(keys) => map.serialize_entry("partitionKeys", keys)?,
            None => map.serialize_entry("partitionKeys", &Empty)?,
        }
        map.end()
    }
}

impl Serialize for ResponseRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("ResponseRecord", 4)?;
        s.serialize_field("recordId", &self.record_id)?;
        s.serialize_field("result", self.result.as_str())?;
        s.serialize_field("data", &Base64Text(&self.data))?;
        s.serialize_field("metadata", &Metadata(self.partition_keys.as_ref()))?;
        s.end()
    }
}

/// Bytes as a base64 JSON string, encoded while it is written.
struct Base64Text<'a>(&'a [u8]);

impl Serialize for Base64Text<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&Base64Display::new(self.0, &STANDARD))
    }
}

// ---- Sizes ------------------------------------------------------------------------------------

/// Serialized length of a JSON string holding `s`, quotes included, as serde_json writes it:
/// `"` and `\` and the short escapes take 2 bytes, other control characters 6 (`\u00XX`),
/// everything else its UTF-8 length. Counted per 32-byte block with no branch
/// ([`count_per_block`]): every recordId is measured when the budget is set up, and its
/// escapes counted again when its entry is written ([`push_json_str`]).
pub fn json_string_len(s: &str) -> usize {
    fn extra(b: u8) -> u8 {
        let short = matches!(b, b'"' | b'\\' | b'\n' | b'\r' | b'\t' | 0x08 | 0x0c);
        u8::from(short) + 5 * u8::from((b < 0x20) & !short)
    }
    2 + s.len() + count_per_block(s.as_bytes(), extra)
}

/// Length of `n` bytes in padded base64.
pub fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// Serialized length of the response around its entries: `{"records":[` … `]}` and the
/// commas between `entries` entries.
pub fn envelope_len(entries: usize) -> usize {
    r#"{"records":[]}"#.len() + entries.saturating_sub(1)
}

/// Serialized length of the entry `outcome` makes for `record_id`.
pub fn entry_len(record_id: &str, outcome: &Outcome) -> usize {
    let (data, keys) = entry_parts(outcome);
    r#"{"recordId":,"result":"","data":"","metadata":{"partitionKeys":{}}}"#.len()
        + json_string_len(record_id)
        + outcome.result().as_str().len()
        + base64_len(data.len())
        + keys.map_or(0, |keys| keys.json_members().len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RecordError;
    use crate::output::EventStats;
    use chrono::DateTime;

    fn ok(data: &[u8]) -> Outcome {
        let time = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        Outcome::Ok {
            data: data.to_vec(),
            keys: PartitionKeys::new("MIXED", "cluster-ABC", time),
            stats: EventStats::default(),
        }
    }

    #[test]
    fn serializes_exact_result_spellings_and_base64_data() {
        let response = FirehoseResponse {
            records: vec![
                ResponseRecord::new("r1".into(), ok(b"{}\n")),
                ResponseRecord::new(
                    "r2".into(),
                    Outcome::Dropped {
                        stats: EventStats::default(),
                    },
                ),
                ResponseRecord::new("r3".into(), Outcome::Failed(RecordError::KeyNotResolved)),
            ],
        };
        let json: serde_json::Value = serde_json::to_value(&response).unwrap();
        let results: Vec<&str> = json["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["result"].as_str().unwrap())
            .collect();
        assert_eq!(results, ["Ok", "Dropped", "ProcessingFailed"]);
        assert_eq!(json["records"][0]["data"], "e30K");
        assert_eq!(json["records"][0]["recordId"], "r1");
        assert_eq!(
            json["records"][0]["metadata"]["partitionKeys"]["activity_class"],
            "MIXED"
        );
        assert_eq!(json["records"][1]["data"], "");
        assert_eq!(
            json["records"][2]["metadata"],
            serde_json::json!({"partitionKeys": {}})
        );
    }

    /// Fails the first write that would pass `left` bytes with "disk full", and every write
    /// after it with another error, counting them.
    #[derive(Debug)]
    struct FailingAfter {
        left: usize,
        failed: bool,
        calls_after_failing: usize,
    }

    impl Write for FailingAfter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.failed {
                self.calls_after_failing += 1;
                return Err(io::Error::other("a write after the first error"));
            }
            if buf.len() > self.left {
                self.failed = true;
                return Err(io::Error::other("disk full"));
            }
            self.left -= buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn sink_reports_its_first_write_error_and_writes_nothing_after_it() {
        let ids: Vec<String> = (0..40).map(|i| format!("r{i}")).collect();
        let records: Vec<String> = ids
            .iter()
            .map(|id| format!(r#"{{"recordId":"{id}","data":""}}"#))
            .collect();
        let json = format!(r#"{{"records":[{}]}}"#, records.join(","));
        let event = FirehoseEvent::from_json(json.as_bytes()).unwrap();
        // 8 KB of lines a record, about 11 KB an entry: the 64 KiB buffer is flushed after the
        // sixth, and that first write fails.
        let line = vec![b'x'; 8 * 1024];
        let mut writer = ResponseWriter::new(FailingAfter {
            left: 1000,
            failed: false,
            calls_after_failing: 0,
        });
        let mut sink = writer.sink(&event);
        for index in 0..ids.len() {
            let kept = sink(index, ok(&line));
            assert!(matches!(kept, Outcome::Ok { ref data, .. } if data.is_empty()));
        }
        drop(sink);
        assert_eq!(writer.out.calls_after_failing, 0);
        assert_eq!(writer.finish().unwrap_err().to_string(), "disk full");
    }

    /// serde_json is the oracle: the arithmetic size and the writer must equal what it writes,
    /// for record ids with every escape class and data of every length modulo 3 (and long
    /// enough for the SIMD encoder's main loop).
    #[test]
    fn computes_sizes_and_writes_json_exactly_as_serde_json() {
        let ids = [
            String::new(),
            "49548990523070250384108375484561110336120518198674640024".to_string(),
            "quote\"back\\slash/".to_string(),
            (0u8..0x20).map(char::from).collect::<String>(),
            "é中🦀\u{7f}\u{2028}".to_string(),
        ];
        let mut outcomes = Vec::new();
        for id in &ids {
            for data_len in 0..7 {
                outcomes.push((id.clone(), ok(&vec![b'x'; data_len])));
            }
            let every_byte: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
            outcomes.push((id.clone(), ok(&every_byte)));
            outcomes.push((
                id.clone(),
                Outcome::Dropped {
                    stats: EventStats::default(),
                },
            ));
            outcomes.push((id.clone(), Outcome::Failed(RecordError::OverResponseBudget)));
        }
        for (id, outcome) in &outcomes {
            let entry = ResponseRecord::new(id.clone(), outcome.clone());
            assert_eq!(
                entry_len(id, outcome),
                serde_json::to_vec(&entry).unwrap().len(),
                "{id:?}"
            );
        }
        // The writer: serde_json's output byte for byte, entry by entry and whole.
        let records: Vec<ResponseRecord> = outcomes
            .iter()
            .map(|(id, o)| ResponseRecord::new(id.clone(), o.clone()))
            .collect();
        for record in &records {
            let mut written = Vec::new();
            record.write_json(&mut written);
            assert_eq!(written, serde_json::to_vec(record).unwrap());
        }
        // Past the flush size too: about 200 KiB of entries.
        let many: Vec<ResponseRecord> = records.iter().cycle().take(records.len() * 20).cloned().collect();
        for records in [records, many, vec![]] {
            let response = FirehoseResponse { records };
            let mut streamed = Vec::new();
            response.write_json(&mut streamed).unwrap();
            assert_eq!(streamed, serde_json::to_vec(&response).unwrap());
        }
        for n in [0, 1, 2, outcomes.len()] {
            let records: Vec<ResponseRecord> = outcomes
                .iter()
                .take(n)
                .map(|(id, o)| ResponseRecord::new(id.clone(), o.clone()))
                .collect();
            let want: usize = envelope_len(n)
                + outcomes
                    .iter()
                    .take(n)
                    .map(|(id, o)| entry_len(id, o))
                    .sum::<usize>();
            assert_eq!(
                serde_json::to_vec(&FirehoseResponse { records }).unwrap().len(),
                want
            );
        }
    }
}
