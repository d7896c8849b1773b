//! Where one record's time goes, stage by stage, on one Firehose batch (data keys cached: they
//! come from the generator's `keys.json`), one thread:
//!
//!     cargo bench --bench stages -- --event EVENT.json --keys keys.json [--rounds 30]
//!         [--only STAGE]
//!
//! Each stage runs over every record of the batch, the stages interleaved round by round, and
//! prints µs per record (median of the rounds):
//!
//! - **ingest**: `ingest::decode_record` (the record's base64 and its envelope);
//! - **decrypt**: `esdk::decrypt`, every check included;
//! - **gunzip**: `decode::gunzip` of the decrypted payload;
//! - **parse**: `decode::parse_payload` of the inflated payload (each event's text and the
//!   fields classification reads);
//! - **record**: `record::transform_record` as a whole (decrypt, gunzip, parse, then per event
//!   the filters, classification and line, then the partition keys) and the base64 of its lines
//!   as the response holds them.
//!
//! What `record` takes beyond decrypt, gunzip and parse is the per-event work. `--only STAGE`
//! runs that one stage in a loop (about ten seconds of it) and prints nothing, for `perf
//! record`. `benches/pipeline.rs` holds the whole per-record work against its floor; this says
//! which part of it to look at.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_precision_loss
)]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64_simd::STANDARD as SIMD;
use chrono::Utc;
use das_partitioner::config::Config;
use das_partitioner::decode;
use das_partitioner::esdk::{self, RawAesKeyring, WrappingKey};
use das_partitioner::ingest::{self, Envelope, FirehoseEvent};
use das_partitioner::output::Outcome;
use das_partitioner::record::{RecordMeta, transform_record};
use serde::Deserialize;
use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

/// mimalloc: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const STAGES: [&str; 5] = ["ingest", "decrypt", "gunzip", "parse", "record"];

#[derive(Deserialize)]
struct KeyEntry {
    blob: String,
    plaintext: String,
}

struct Batch {
    event: FirehoseEvent<'static>,
    envelopes: Vec<Envelope>,
    keys: HashMap<Vec<u8>, WrappingKey>,
    gzipped: Vec<Vec<u8>>,
    inflated: Vec<Vec<u8>>,
    prefixes: Vec<String>,
    config: Config,
}

impl Batch {
    fn load(event_path: &str, keys_path: &str) -> Batch {
        let bytes: &'static [u8] = Box::leak(std::fs::read(event_path).unwrap().into_boxed_slice());
        let event = FirehoseEvent::from_json(bytes).unwrap();
        let entries: Vec<KeyEntry> = serde_json::from_slice(&std::fs::read(keys_path).unwrap()).unwrap();
        let keys: HashMap<Vec<u8>, WrappingKey> = entries
            .iter()
            .map(|e| {
                let plaintext = STANDARD.decode(&e.plaintext).unwrap();
                (
                    STANDARD.decode(&e.blob).unwrap(),
                    WrappingKey::new(plaintext).unwrap(),
                )
            })
            .collect();
        let envelopes: Vec<Envelope> = event
            .records
            .iter()
            .map(|r| ingest::decode_record(r).unwrap())
            .collect();
        let gzipped: Vec<Vec<u8>> = envelopes
            .iter()
            .map(|e| {
                let keyring = RawAesKeyring::das(&keys[&e.key_blob]);
                esdk::decrypt(&e.message, &keyring).unwrap().as_bytes().to_vec()
            })
            .collect();
        let config = Config::default();
        let inflated = gzipped
            .iter()
            .map(|g| decode::gunzip(g, config.limits.max_inflated_bytes).unwrap())
            .collect();
        let prefixes = event.records.iter().map(|r| r.event_id_prefix()).collect();
        Batch {
            event,
            envelopes,
            keys,
            gzipped,
            inflated,
            prefixes,
            config,
        }
    }

    /// One stage over every record.
    fn run(&self, stage: &str) {
        match stage {
            "ingest" => {
                for record in &self.event.records {
                    black_box(ingest::decode_record(record).unwrap());
                }
            }
            "decrypt" => {
                for e in &self.envelopes {
                    let keyring = RawAesKeyring::das(&self.keys[&e.key_blob]);
                    black_box(esdk::decrypt(&e.message, &keyring).unwrap());
                }
            }
            "gunzip" => {
                for g in &self.gzipped {
                    black_box(decode::gunzip(g, self.config.limits.max_inflated_bytes).unwrap());
                }
            }
            "parse" => {
                for json in &self.inflated {
                    black_box(decode::parse_payload(json).unwrap());
                }
            }
            "record" => {
                let now = Utc::now();
                for (e, prefix) in self.envelopes.iter().zip(&self.prefixes) {
                    let meta = RecordMeta {
                        resource_id: "cluster-BENCH",
                        event_id_prefix: prefix,
                        fallback_time: now,
                        max_output_bytes: usize::MAX,
                    };
                    let outcome = transform_record(e, &self.keys[&e.key_blob], &meta, &self.config);
                    if let Outcome::Ok { data, .. } = &outcome {
                        black_box(SIMD.encode_to_string(data));
                    }
                    black_box(outcome);
                }
            }
            _ => panic!("--only takes one of {STAGES:?}"),
        }
    }
}

fn main() {
    let (mut event, mut keys, mut rounds, mut only) = (None, None, 30usize, None);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--event" => event = it.next(),
            "--keys" => keys = it.next(),
            "--rounds" => rounds = it.next().expect("--rounds N").parse().expect("--rounds N"),
            "--only" => only = it.next(),
            // `cargo bench` passes --bench; ignore it and anything else of the harness's.
            _ => {}
        }
    }
    let usage = "usage: cargo bench --bench stages -- --event EVENT.json --keys keys.json";
    let batch = Batch::load(&event.expect(usage), &keys.expect(usage));
    let records = batch.event.records.len() as f64;

    if let Some(stage) = only {
        let start = Instant::now();
        while start.elapsed().as_secs() < 10 {
            batch.run(&stage);
        }
        return;
    }
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); STAGES.len()];
    for _ in 0..rounds {
        for (stage, times) in STAGES.iter().zip(&mut times) {
            let start = Instant::now();
            batch.run(stage);
            times.push(start.elapsed().as_secs_f64());
        }
    }
    println!(
        "{} records, {rounds} rounds, one thread",
        batch.event.records.len()
    );
    for (stage, times) in STAGES.iter().zip(&mut times) {
        times.sort_by(f64::total_cmp);
        println!(
            "{stage:8} {:9.2} µs/record",
            times[times.len() / 2] / records * 1e6
        );
    }
}
