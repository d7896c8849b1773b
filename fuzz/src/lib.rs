//! What the fuzz targets share: the test-only encryptor, the fixtures' keys, and the checks
//! every Ok output must pass (each line one JSON object that carries the added fields and keeps
//! every field of its event).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use das_partitioner::esdk::WrappingKey;
use das_partitioner::output::line::{ADDED_FIELDS, RENAMED_PREFIX};
use serde_json::{Map, Value};
use std::sync::OnceLock;

/// The test-only AWS Encryption SDK encryptor of the integration tests (suite 0x0178, the shape
/// DAS writes), checked there byte for byte against the official Python SDK.
#[path = "../../tests/it/seal.rs"]
pub mod seal;

/// The envelope versions the targets try: none, then those of the four engines (das-records.md).
pub const ENVELOPE_VERSIONS: [Option<&str>; 6] = [
    None,
    Some("1.0"),
    Some("1.1"),
    Some("1.2"),
    Some("1.3"),
    Some("1.4"),
];

/// The wrapping key every record the `record` target seals is encrypted under (test-only).
pub const RECORD_KEY: [u8; 32] = [0x3c; 32];

/// The official-SDK fixtures' wrapping keys (tests/fixtures/esdk/cases.json), in file order:
/// the `esdk_message` target's first byte picks one, so every fixture is a seed.
pub fn fixture_keys() -> &'static [WrappingKey] {
    static KEYS: OnceLock<Vec<WrappingKey>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let cases: Vec<Value> =
            serde_json::from_str(include_str!("../../tests/fixtures/esdk/cases.json")).unwrap();
        cases
            .iter()
            .map(|case| {
                let b64 = case["wrappingKey"].as_str().unwrap();
                let bytes = base64_decode(b64);
                WrappingKey::new(bytes).unwrap()
            })
            .collect()
    })
}

/// The Firehose fixtures' data keys (tests/fixtures/firehose/keys.json): the `handler`
/// target's seeds are those invocations.
pub const FIREHOSE_KEYS: &str = include_str!("../../tests/fixtures/firehose/keys.json");

pub fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(text).unwrap()
}

/// Checks the JSON lines of an Ok record. `events` are the record's events as a reference
/// parser (serde_json) reads them, where it can; `id_prefix` the eventId prefix. Returns the
/// number of lines.
pub fn check_lines(data: &[u8], id_prefix: Option<&str>, events: Option<&[Value]>) -> usize {
    assert!(
        data.is_empty() || data.ends_with(b"\n"),
        "Ok data must end with a newline"
    );
    let mut last_index = None;
    let mut count = 0;
    for line in data.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        count += 1;
        let parsed: Map<String, Value> = match serde_json::from_slice(line) {
            Ok(map) => map,
            // serde_json's maps reject what the event itself carried and the line keeps verbatim,
            // valid JSON all the same: a lone surrogate escape, or a number beyond a double's
            // range (`1e999`; RFC 8259 leaves the range to the reader). The line must still be
            // one JSON object by the grammar; anything else is a defect.
            Err(e) => {
                let grammar = serde_json::from_slice::<serde::de::IgnoredAny>(line);
                assert!(
                    line.starts_with(b"{")
                        && grammar.is_ok()
                        && (has_lone_surrogate_escape(line)
                            || e.to_string().starts_with("number out of range")),
                    "an Ok line is not a JSON object: {e}: {}",
                    String::from_utf8_lossy(line)
                );
                continue;
            }
        };
        for field in ADDED_FIELDS {
            assert!(parsed.contains_key(field), "an Ok line lacks {field}");
        }
        let (Some(prefix), Some(Value::String(id))) = (id_prefix, parsed.get("eventId")) else {
            continue;
        };
        let index: usize = id
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_prefix('-'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("eventId {id} is not {prefix}-<index>"));
        assert!(
            last_index.is_none_or(|last| index > last),
            "eventIds out of order or repeated"
        );
        last_index = Some(index);
        let Some(events) = events else { continue };
        let original = events
            .get(index)
            .expect("an eventId names an event the record has");
        if let Value::Object(original) = original {
            keeps_fields(original, &parsed);
        }
    }
    count
}

/// Every field of the event is in its line with the same value, under its own name or, for a
/// name the pipeline adds, under `source_<name>` (prefixed again while the event has that too).
fn keeps_fields(original: &Map<String, Value>, line: &Map<String, Value>) {
    for (key, value) in original {
        let mut name = if ADDED_FIELDS.contains(&key.as_str()) {
            format!("{RENAMED_PREFIX}{key}")
        } else {
            key.clone()
        };
        let mut found = false;
        for _ in 0..=original.len() {
            if line.get(&name) == Some(value) {
                found = true;
                break;
            }
            name.insert_str(0, RENAMED_PREFIX);
        }
        assert!(found, "the line lost the event's field {key:?}");
    }
}

fn has_lone_surrogate_escape(line: &[u8]) -> bool {
    line.windows(3)
        .any(|w| w[0] == b'\\' && w[1] == b'u' && matches!(w[2], b'd' | b'D'))
}

/// Runs a future to completion on one shared current-thread runtime with timers.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_time()
                .build()
                .unwrap()
        })
        .block_on(future)
}

/// zlib's messages for the codes libdeflate reads and zlib refuses (src/decode/inflate.rs's
/// doc: the one way `gunzip` and flate2's reader part).
const CODES_ONLY_LIBDEFLATE_READS: [&str; 3] = [
    "invalid literal/length code",
    "invalid distance code",
    "too many length or distance symbols",
];

/// Whether zlib refuses the gzip members of `data` for one of the codes libdeflate reads:
/// zlib-rs's raw inflate, member by member, first fails with one of their messages. The output
/// goes through a buffer under 260 bytes: with more room zlib-rs decodes in its fast loop, which
/// reports a bad code as "repeated call with bad state", hiding which code it was.
pub fn zlib_refuses_a_code_libdeflate_reads(data: &[u8]) -> bool {
    use das_partitioner::decode::inflate::header_len;
    use flate2::{Decompress, FlushDecompress, Status};
    let mut rest = data;
    while !rest.is_empty() {
        let Some(body) = header_len(rest).ok().and_then(|at| rest.get(at..)) else {
            return false;
        };
        let mut inflater = Decompress::new(false);
        let mut chunk = [0u8; 200];
        loop {
            let (read, written) = (inflater.total_in(), inflater.total_out());
            let input = body.get(usize::try_from(read).unwrap()..).unwrap_or_default();
            match inflater.decompress(input, &mut chunk, FlushDecompress::Finish) {
                Err(e) => {
                    return e
                        .message()
                        .is_some_and(|m| CODES_ONLY_LIBDEFLATE_READS.contains(&m.trim_end_matches('\0')));
                }
                Ok(Status::StreamEnd) => break,
                // No progress: the input ran out.
                Ok(_) if inflater.total_in() == read && inflater.total_out() == written => return false,
                Ok(_) => {}
            }
        }
        let used = usize::try_from(inflater.total_in()).unwrap();
        rest = body.get(used + 8..).unwrap_or_default();
    }
    false
}
