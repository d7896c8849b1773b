//! A whole record after valid encryption: the input becomes a plaintext that is sealed under a
//! fixed test key (the test-only encryptor, suite 0x0178) and run through `transform_record`,
//! so mutations reach inflate, the payload, every event and the lines instead of stopping at the
//! first authentication tag. The first byte picks how the rest is used (a payload, the inside of
//! an event list, or a gzip stream) and the envelope version.
//!
//! Checks: the payload's one-pass read agrees with serde's wherever it reads one; an Ok
//! record's lines are JSON objects with the added fields, in event order, one per kept event,
//! each keeping every field of its event (as serde_json reads the event), within the record's
//! output budget; a failure has a stable label.
#![no_main]

use chrono::{TimeZone, Utc};
use das_partitioner::config::Config;
use das_partitioner::decode::gunzip;
use das_partitioner::decode::payload::one_pass_disagreement;
use das_partitioner::esdk::WrappingKey;
use das_partitioner::ingest::Envelope;
use das_partitioner::output::Outcome;
use das_partitioner::record::{RecordMeta, transform_record};
use flate2::{Compression, write::GzEncoder};
use fuzz_support::{ENVELOPE_VERSIONS, RECORD_KEY, check_lines, seal::seal};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::io::Write;
use std::sync::OnceLock;

const PREFIX: &str = "49650000000000000000000000000000000000000000000000000000-0";
const MAX_OUTPUT: usize = 1 << 20;
const MAX_INFLATED: usize = 4 << 20;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn config() -> &'static Config {
    static CONFIG: OnceLock<Config> = OnceLock::new();
    CONFIG.get_or_init(|| {
        let mut config = Config::default();
        config.limits.max_inflated_bytes = MAX_INFLATED;
        config.excluded_users.insert("rdsadmin".to_string());
        config
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let compressed = match mode % 3 {
        0 => gzip(rest),
        1 => {
            let mut payload = br#"{"type":"DatabaseActivityMonitoringRecord","clusterId":"cluster-FUZZ","instanceId":"db-FUZZ","databaseActivityEventList":["#.to_vec();
            payload.extend_from_slice(rest);
            payload.extend_from_slice(b"]}");
            gzip(&payload)
        }
        _ => rest.to_vec(),
    };
    // The payload as the pipeline will inflate it, for the checks below.
    let inflated = gunzip(&compressed, MAX_INFLATED).ok();
    // The payload's one-pass read: where it reads a payload, serde reads the same.
    if let Some(difference) = inflated.as_deref().and_then(one_pass_disagreement) {
        panic!("the one-pass payload read disagrees with serde: {difference}");
    }
    let envelope = Envelope {
        version: ENVELOPE_VERSIONS[usize::from(mode / 3) % ENVELOPE_VERSIONS.len()].map(str::to_string),
        message: seal(&compressed, &RECORD_KEY),
        key_blob: b"fuzz".to_vec(),
    };
    let key = WrappingKey::new(RECORD_KEY.to_vec()).unwrap();
    let meta = RecordMeta {
        resource_id: "cluster-FUZZ",
        event_id_prefix: PREFIX,
        fallback_time: Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap(),
        max_output_bytes: MAX_OUTPUT,
    };
    match transform_record(&envelope, &key, &meta, config()) {
        Outcome::Ok { data, keys, stats } => {
            assert!(data.len() <= MAX_OUTPUT, "output past the record's budget");
            // The events as a reference parser reads them, where it can.
            let events = inflated
                .as_deref()
                .and_then(|json| serde_json::from_slice::<Value>(json).ok())
                .and_then(|payload| match payload.get("databaseActivityEventList") {
                    Some(Value::Array(events)) => Some(events.clone()),
                    _ => None,
                });
            let lines = check_lines(&data, Some(PREFIX), events.as_deref());
            assert_eq!(lines, stats.events(), "one line per kept event");
            for (_, value) in keys.pairs() {
                assert!(!value.is_empty());
                assert!(
                    value
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-".contains(&b))
                );
            }
        }
        Outcome::Dropped { stats } => assert_eq!(stats.events(), 0),
        Outcome::Failed(e) => assert!(!e.label().is_empty()),
    }
});
