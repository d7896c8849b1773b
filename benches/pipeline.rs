//! The per-record pipeline against its hardware floor, and across worker threads, on one
//! Firehose batch (data keys cached: they come from the generator's `keys.json`).
//!
//!     cargo bench --bench pipeline -- --event EVENT.json --keys keys.json [--rounds 9]
//!         [--threads 1,2] [--unpinned] [--json OUT.json] [--floor-once OUT]
//!
//! Three measurements, interleaved round by round so that machine noise hits them alike:
//!
//! - **ours**, one thread: per record what the handler does, ingest (base64 and envelope JSON),
//!   `record::transform_record` (ESDK decrypt with every check, bounded gunzip, events, filters,
//!   classification, lines, partition keys) and the response encoding (base64 of the lines);
//! - **floor**, one thread: only the work no implementation can skip, with the fastest crates
//!   at hand: base64 both ways, the envelope's and payload's JSON, AES-GCM unwrap of the data
//!   key, HKDF (and the key commitment of committing suites), header tag, ECDSA P-384 verification including decoding
//!   the public key (signed suites), AES-GCM frames, inflate, a JSON scan of the payload and
//!   of the fields classification reads (no classification), and the
//!   lines with the five added fields;
//! - **threads**: the handler's parallel per-record phase alone (envelopes already decoded,
//!   `transform_record` in the handler's order-preserving chunks) in a pool of N threads.
//!
//! Prints µs per record (median of the rounds), ours ÷ floor throughput, the speed-up of N
//! threads over one. `--unpinned` also times pools of N ≥ 2 whose threads are not pinned to
//! CPUs (src/workers.rs says why they are). `--json` also writes the figures. The floor reuses the crate's ESDK
//! *structure* parser (lengths and offsets, a few hundred nanoseconds), its P-384 point
//! decompression and its one-pass payload reader (`decode::parse_payload`: each event's text and
//! the fields classification reads in one walk, fewer instructions than serde_json's borrowed
//! raw values in two scans, which the floor used before), the fastest at hand, nothing else of
//! ours.
//!
//! `--floor-once OUT` instead does what a whole process of the floor would: reads the event,
//! runs the floor once over every record and writes a minimal Firehose response (each record's
//! id, result and base64 data, written as the record is done, as `dasp transform` writes its
//! own) to OUT, then exits. `make bench` times such processes on the batch and on its double,
//! as it times `dasp transform` and the reference, so that the floor's margin and the
//! reference's ratio to it are measured as ours are.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use base64_simd::STANDARD as SIMD;
use chrono::{DateTime, Utc};
use das_partitioner::config::Config;
use das_partitioner::decode::{self, EventView};
use das_partitioner::esdk::suite::Kdf;
use das_partitioner::esdk::{self, WrappingKey};
use das_partitioner::handler::chunks;
use das_partitioner::ingest::{self, Envelope, FirehoseEvent};
use das_partitioner::output::Outcome;
use das_partitioner::record::{RecordMeta, transform_record};
use rayon::prelude::*;
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::HashMap;
use std::hint::black_box;
use std::io::Write as _;
use std::time::Instant;

/// mimalloc: see Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    event: String,
    keys: String,
    rounds: usize,
    threads: Vec<usize>,
    unpinned: bool,
    json: Option<String>,
    floor_once: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        event: String::new(),
        keys: String::new(),
        rounds: 9,
        threads: vec![1, 2],
        unpinned: false,
        json: None,
        floor_once: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        match flag.as_str() {
            "--event" => a.event = it.next().expect("--event FILE"),
            "--keys" => a.keys = it.next().expect("--keys FILE"),
            "--rounds" => a.rounds = it.next().expect("--rounds N").parse().expect("--rounds N"),
            "--threads" => {
                a.threads = it
                    .next()
                    .expect("--threads 1,2")
                    .split(',')
                    .map(|n| n.parse().expect("--threads 1,2"))
                    .collect()
            }
            "--unpinned" => a.unpinned = true,
            "--json" => a.json = Some(it.next().expect("--json FILE")),
            "--floor-once" => a.floor_once = Some(it.next().expect("--floor-once OUT")),
            // `cargo bench` passes --bench; ignore it and anything else of the harness's.
            _ => {}
        }
    }
    assert!(
        !a.event.is_empty() && !a.keys.is_empty(),
        "usage: cargo bench --bench pipeline -- --event EVENT.json --keys keys.json"
    );
    a
}

#[derive(Deserialize)]
struct KeyEntry {
    blob: String,
    plaintext: String,
}

/// The generator's keys.json: KMS blob → plaintext data key.
fn load_keys(path: &str) -> HashMap<Vec<u8>, Vec<u8>> {
    let entries: Vec<KeyEntry> = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    entries
        .into_iter()
        .map(|e| {
            (
                STANDARD.decode(e.blob).unwrap(),
                STANDARD.decode(e.plaintext).unwrap(),
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Ours.

struct Ours {
    config: Config,
    keys: HashMap<Vec<u8>, WrappingKey>,
    resource_id: String,
    now: DateTime<Utc>,
}

impl Ours {
    fn record(&self, record: &ingest::FirehoseRecord, envelope: &Envelope) -> Outcome {
        let key = &self.keys[&envelope.key_blob];
        let prefix = record.event_id_prefix();
        let meta = RecordMeta {
            resource_id: &self.resource_id,
            event_id_prefix: &prefix,
            fallback_time: record.arrival_time().unwrap_or(self.now),
            max_output_bytes: usize::MAX,
        };
        transform_record(envelope, key, &meta, &self.config)
    }

    /// Ingest, transform and encode every record, one thread. Returns bytes of output.
    fn batch(&self, event: &FirehoseEvent) -> usize {
        let mut out = 0;
        for record in &event.records {
            let envelope = ingest::decode_record(record).unwrap();
            if let Outcome::Ok { data, .. } = self.record(record, &envelope) {
                out += SIMD.encode_to_string(&data).len();
            }
        }
        out
    }

    /// The parallel per-record phase alone, as the handler runs it.
    fn parallel(&self, event: &FirehoseEvent, envelopes: &[Envelope]) -> usize {
        let work: Vec<_> = event.records.iter().zip(envelopes).collect();
        let mut ok = 0;
        for records in chunks(&work, |(r, _)| r.data_len(), rayon::current_num_threads()) {
            let produced: Vec<Outcome> = records.par_iter().map(|(r, e)| self.record(r, e)).collect();
            ok += produced
                .iter()
                .filter(|o| matches!(o, Outcome::Ok { .. }))
                .count();
        }
        ok
    }
}

// ---------------------------------------------------------------------------------------------
// The floor.

#[derive(Deserialize)]
struct FloorEnvelope<'a> {
    #[serde(borrow, rename = "databaseActivityEvents")]
    events: &'a str,
    #[serde(borrow)]
    key: &'a str,
    #[serde(borrow)]
    version: Option<&'a str>,
}

struct Floor {
    /// The AES-GCM key of each data key, prepared once (as a key cache holds it).
    keys: HashMap<Vec<u8>, LessSafeKey>,
}

fn open(key: &LessSafeKey, iv: &[u8], aad: &[u8], in_out: &mut [u8]) -> usize {
    let nonce = Nonce::try_assume_unique_for_key(iv).unwrap();
    key.open_in_place(nonce, Aad::from(aad), in_out).unwrap().len()
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

thread_local! {
    /// The floor's inflater, made once a thread as ours is.
    static INFLATER: std::cell::RefCell<libdeflate_ex::Inflater> =
        std::cell::RefCell::new(libdeflate_ex::Inflater::new());
}

impl Floor {
    /// The floor's keys: each data key's AES-GCM key.
    fn new(raw_keys: HashMap<Vec<u8>, Vec<u8>>) -> Floor {
        let keys = raw_keys
            .into_iter()
            .map(|(blob, key)| {
                (
                    blob,
                    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap()),
                )
            })
            .collect();
        Floor { keys }
    }

    /// One record, one thread: the base64 of the record's output, or `None` (all heartbeats).
    fn record(&self, data: &str, prefix: &str) -> Option<String> {
        let raw = SIMD.decode_to_vec(data).unwrap();
        let envelope: FloorEnvelope = serde_json::from_slice(&raw).unwrap();
        let message = SIMD.decode_to_vec(envelope.events).unwrap();
        let blob = SIMD.decode_to_vec(envelope.key).unwrap();
        let wrapping = &self.keys[&blob];

        // ESDK: structure, then only the cryptography.
        let parsed = esdk::parse(&message).unwrap();
        let (header, body) = (&parsed.header, &parsed.body);
        // The serialized encryption context (empty for an empty context).
        let mut aad = Vec::new();
        if !header.context.is_empty() {
            aad.extend_from_slice(&(header.context.len() as u16).to_be_bytes());
        }
        for (k, v) in &header.context {
            aad.extend_from_slice(&(k.len() as u16).to_be_bytes());
            aad.extend_from_slice(k.as_bytes());
            aad.extend_from_slice(&(v.len() as u16).to_be_bytes());
            aad.extend_from_slice(v.as_bytes());
        }
        let edk = &header.encrypted_data_keys[0];
        let mut data_key = edk.ciphertext.to_vec();
        let iv = &edk.provider_info[edk.provider_info.len() - 12..];
        let n = open(wrapping, iv, &aad, &mut data_key);
        data_key.truncate(n);

        let suite = header.suite.id.to_be_bytes();
        let mut content_key = [0u8; 32];
        match header.suite.kdf {
            Kdf::Hkdf(algorithm) => {
                let zeros = [0u8; 64];
                let salt_len = algorithm.hmac_algorithm().digest_algorithm().output_len();
                hkdf::Salt::new(algorithm, &zeros[..salt_len])
                    .extract(&data_key)
                    .expand(&[&suite, header.message_id], Len(32))
                    .unwrap()
                    .fill(&mut content_key)
                    .unwrap();
            }
            Kdf::HkdfCommitting => {
                let prk = hkdf::Salt::new(hkdf::HKDF_SHA512, header.message_id).extract(&data_key);
                prk.expand(&[&suite, b"DERIVEKEY"], Len(32))
                    .unwrap()
                    .fill(&mut content_key)
                    .unwrap();
                let mut commitment = [0u8; 32];
                prk.expand(&[b"COMMITKEY"], Len(32))
                    .unwrap()
                    .fill(&mut commitment)
                    .unwrap();
                let expected = header.commitment.unwrap();
                assert!(aws_lc_rs::constant_time::verify_slices_are_equal(&commitment, expected).is_ok());
            }
            Kdf::Identity => content_key.copy_from_slice(&data_key[..32]),
        }
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &content_key).unwrap());
        let mut tag = header.auth_tag.to_vec();
        open(&key, &header.auth_iv, header.body_bytes, &mut tag);

        if let Some(algorithm) = header.suite.signature {
            let encoded = header.context_value("aws-crypto-public-key").unwrap();
            let public_key = STANDARD.decode(encoded).unwrap();
            // The fastest check at hand is the crate's: its decompression (fiat-crypto's field
            // arithmetic, about twice aws-lc's speed), then p384-check (aws-lc's check with
            // RustCrypto's faster scalar inversion).
            assert!(esdk::footer::signature_holds(
                algorithm,
                &public_key,
                body.signed_bytes,
                body.signature.unwrap()
            ));
        }

        let mut plaintext = Vec::with_capacity(body.content_len() + 16);
        for frame in &body.frames {
            let start = plaintext.len();
            plaintext.extend_from_slice(frame.ciphertext);
            plaintext.extend_from_slice(frame.tag);
            let mut aad = Vec::with_capacity(header.message_id.len() + 40);
            aad.extend_from_slice(header.message_id);
            aad.extend_from_slice(frame.kind.aad_content_string());
            aad.extend_from_slice(&frame.sequence_number.to_be_bytes());
            aad.extend_from_slice(&(frame.ciphertext.len() as u64).to_be_bytes());
            let n = open(&key, &frame.iv, &aad, &mut plaintext[start..]);
            plaintext.truncate(start + n);
        }

        // Inflate: the plain 10-byte header DAS writes, the deflate stream in one libdeflate
        // call (the fastest inflater at hand, BENCHMARKS.md) into a buffer sized from the
        // trailer with room for its fast loop, the stream's end and the trailer's CRC-32 and
        // size checked.
        let (body, trailer) = plaintext[10..].split_at(plaintext.len() - 18);
        let size = u32::from_le_bytes(trailer[4..].try_into().unwrap());
        let mut json = Vec::with_capacity(size as usize + libdeflate_ex::FAST_LOOP_ROOM);
        let inflated = INFLATER.with_borrow_mut(|d| d.inflate(body, &mut json)).unwrap();
        assert_eq!(inflated.consumed, body.len());
        assert_eq!(trailer[..4], crc32fast::hash(&json).to_le_bytes());
        assert_eq!(json.len(), size as usize);

        // The JSON scan and the lines.
        let payload = decode::parse_payload(&json).unwrap();
        let version = envelope.version.unwrap_or("");
        let mut out = Vec::with_capacity(json.len() + payload.events.len() * 160);
        // The generator's ids need no escaping.
        let id = |out: &mut Vec<u8>, id: &Option<Cow<'_, str>>| match id {
            Some(id) => {
                out.push(b'"');
                out.extend_from_slice(id.as_bytes());
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        };
        for (i, event) in payload.events.iter().enumerate() {
            let text = event.text;
            let heartbeat = match &event.view {
                Some(view) => view.is_heartbeat(),
                None => EventView::parse(text).unwrap().is_heartbeat(),
            };
            if heartbeat {
                continue;
            }
            black_box(&event.view);
            let body = text.trim_end().strip_suffix('}').unwrap();
            out.extend_from_slice(body.as_bytes());
            out.extend_from_slice(b",\"activityClass\":\"READ\",\"clusterId\":");
            id(&mut out, &payload.cluster_id);
            out.extend_from_slice(b",\"instanceId\":");
            id(&mut out, &payload.instance_id);
            out.extend_from_slice(b",\"eventId\":\"");
            out.extend_from_slice(prefix.as_bytes());
            out.push(b'-');
            out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
            out.extend_from_slice(b"\",\"dasVersion\":\"");
            out.extend_from_slice(version.as_bytes());
            out.extend_from_slice(b"\"}\n");
        }
        (!out.is_empty()).then(|| SIMD.encode_to_string(&out))
    }

    /// A whole process's share after reading the event: every record through the floor, and
    /// the minimal Firehose response written to `path` as each record is done (the generator's
    /// record ids need no escaping).
    fn respond(&self, event: &FirehoseEvent, path: &str) {
        let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
        out.write_all(b"{\"records\":[").unwrap();
        for (i, r) in event.records.iter().enumerate() {
            if i > 0 {
                out.write_all(b",").unwrap();
            }
            let data = self.record(data_of(r), &r.event_id_prefix());
            let result = if data.is_some() { "Ok" } else { "Dropped" };
            write!(
                out,
                "{{\"recordId\":\"{}\",\"result\":\"{result}\",\"data\":\"{}\"}}",
                r.record_id,
                data.as_deref().unwrap_or("")
            )
            .unwrap();
        }
        out.write_all(b"]}\n").unwrap();
        out.flush().unwrap();
    }

    fn batch(&self, event: &FirehoseEvent) -> usize {
        event
            .records
            .iter()
            .filter_map(|r| self.record(data_of(r), &r.event_id_prefix()))
            .map(|b| b.len())
            .sum()
    }
}

/// The record's base64 text.
fn data_of<'r>(record: &'r ingest::FirehoseRecord<'_>) -> &'r str {
    record.data.as_deref().expect("record data")
}

// ---------------------------------------------------------------------------------------------

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args = args();
    let bytes = std::fs::read(&args.event).unwrap();
    let event = FirehoseEvent::from_json(&bytes).unwrap();
    let raw_keys = load_keys(&args.keys);
    if let Some(out) = &args.floor_once {
        Floor::new(raw_keys).respond(&event, out);
        return;
    }
    let records = event.records.len();
    let resource_id = event
        .source_kinesis_stream_arn
        .as_deref()
        .and_then(das_partitioner::keys::resource_id_from_stream_arn)
        .expect("a DAS stream ARN")
        .to_string();
    let ours = Ours {
        config: Config::default(),
        keys: raw_keys
            .iter()
            .map(|(blob, key)| (blob.clone(), WrappingKey::new(key.clone()).unwrap()))
            .collect(),
        resource_id,
        now: Utc::now(),
    };
    let floor = Floor::new(raw_keys);
    let envelopes: Vec<Envelope> = event
        .records
        .iter()
        .map(|r| ingest::decode_record(r).unwrap())
        .collect();
    let pools: Vec<(usize, rayon::ThreadPool)> = args
        .threads
        .iter()
        .map(|&n| (n, das_partitioner::workers::pool_builder(n).build().unwrap()))
        .collect();
    let unpinned_pools: Vec<(usize, rayon::ThreadPool)> = args
        .threads
        .iter()
        .filter(|&&n| args.unpinned && n >= 2)
        .map(|&n| (n, rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap()))
        .collect();

    // Same output size both ways (the floor's lines carry a fixed class, same length as READ
    // only by chance, so compare record counts instead), then warm up.
    let ok_ours = ours.parallel(&event, &envelopes);
    let ok_floor = event
        .records
        .iter()
        .filter(|r| floor.record(data_of(r), &r.event_id_prefix()).is_some())
        .count();
    assert_eq!(
        ok_ours, ok_floor,
        "ours and the floor disagree on which records have lines"
    );
    black_box(ours.batch(&event));
    black_box(floor.batch(&event));

    let per_record = |f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        start.elapsed().as_secs_f64() * 1e6 / records as f64
    };
    let mut t_ours = Vec::new();
    let mut t_floor = Vec::new();
    let mut t_threads: Vec<Vec<f64>> = vec![Vec::new(); pools.len()];
    let mut t_unpinned: Vec<Vec<f64>> = vec![Vec::new(); unpinned_pools.len()];
    for _ in 0..args.rounds {
        t_ours.push(per_record(&mut || {
            black_box(ours.batch(&event));
        }));
        t_floor.push(per_record(&mut || {
            black_box(floor.batch(&event));
        }));
        for ((_, pool), times) in pools
            .iter()
            .chain(&unpinned_pools)
            .zip(t_threads.iter_mut().chain(&mut t_unpinned))
        {
            // Each pool starts idle, as a Lambda's does at each invocation: the other CPUs'
            // threads have slept, and how soon they wake is part of what is measured.
            std::thread::sleep(std::time::Duration::from_millis(20));
            times.push(per_record(&mut || {
                pool.install(|| black_box(ours.parallel(&event, &envelopes)));
            }));
        }
    }
    let (ours_us, floor_us) = (median(t_ours), median(t_floor));
    let thread_us: Vec<(usize, f64)> = pools
        .iter()
        .map(|(n, _)| *n)
        .zip(t_threads.into_iter().map(median))
        .collect();
    let unpinned_us: Vec<(usize, f64)> = unpinned_pools
        .iter()
        .map(|(n, _)| *n)
        .zip(t_unpinned.into_iter().map(median))
        .collect();
    let base = thread_us.first().map_or(f64::NAN, |t| t.1);

    println!(
        "{}: {records} records, {:.2} MB, {} rounds",
        args.event,
        event.records.iter().map(|r| data_of(r).len()).sum::<usize>() as f64 / 1e6,
        args.rounds
    );
    println!("  floor   {floor_us:9.1} µs/record (one thread)");
    println!(
        "  ours    {ours_us:9.1} µs/record (one thread)  = {:.0}% of the floor's throughput",
        100.0 * floor_us / ours_us
    );
    for (n, us) in &thread_us {
        let pinned = if das_partitioner::workers::pins(*n) {
            ", pinned"
        } else {
            ""
        };
        println!(
            "  per-record phase, {n} thread(s){pinned}: {us:9.1} µs/record  speed-up {:.2}x",
            base / us
        );
    }
    for (n, us) in &unpinned_us {
        println!(
            "  per-record phase, {n} thread(s), unpinned: {us:9.1} µs/record  speed-up {:.2}x",
            base / us
        );
    }
    if let Some(path) = args.json {
        let threads: serde_json::Map<String, serde_json::Value> = thread_us
            .iter()
            .map(|(n, us)| (n.to_string(), serde_json::json!(us)))
            .collect();
        let out = serde_json::json!({
            "event": args.event,
            "records": records,
            "rounds": args.rounds,
            "floor_us_per_record": floor_us,
            "ours_us_per_record": ours_us,
            "fraction_of_floor": floor_us / ours_us,
            "parallel_phase_us_per_record": threads,
            "parallel_phase_unpinned_us_per_record": unpinned_us
                .iter()
                .map(|(n, us)| (n.to_string(), serde_json::json!(us)))
                .collect::<serde_json::Map<_, _>>(),
        });
        std::fs::write(path, serde_json::to_vec_pretty(&out).unwrap()).unwrap();
    }
}
