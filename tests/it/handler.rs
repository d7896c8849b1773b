//! The shared handler on Firehose invocations made by the generator with the official ESDK
//! (tests/fixtures/firehose/), with a hand-written data-key fake behind the trait. Every check
//! is against the generator's ground truth (ground-truth.jsonl: intended class, result, hour,
//! and the exact text of every event it encrypted), read through the serialized response as
//! Firehose receives it.

use base64::Engine as _;
use das_partitioner::config::Config;
use das_partitioner::error::RecordError;
use das_partitioner::esdk::WrappingKey;
use das_partitioner::handler::{Handler, Invocation, InvocationError};
use das_partitioner::ingest::FirehoseEvent;
use das_partitioner::keys::{DataKeySource, KeyContext, KeyError};
use das_partitioner::output::Outcome;
use das_partitioner::output::response::ResponseWriter;
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

pub const ENGINES: [&str; 4] = ["postgresql", "mysql", "oracle", "sqlserver"];
pub const CLASSES: [&str; 9] = [
    "DDL",
    "DML",
    "READ",
    "CONNECT",
    "DISCONNECT",
    "ERROR",
    "AUTH_FAILURE",
    "OTHER",
    "MIXED",
];

pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/firehose")
}

pub fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .unwrap()
        .into()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyEntry {
    encryption_context: BTreeMap<String, String>,
    blob: String,
    plaintext: String,
}

/// Resolves the fixtures' opaque blobs; a wrong context fails like KMS does.
pub struct FixtureKeys {
    keys: HashMap<(String, String, Vec<u8>), Vec<u8>>,
}

impl FixtureKeys {
    pub fn load() -> Self {
        let entries: Vec<KeyEntry> =
            serde_json::from_str(&std::fs::read_to_string(dir().join("keys.json")).unwrap()).unwrap();
        let keys = entries
            .into_iter()
            .map(|e| {
                let (k, v) = e.encryption_context.into_iter().next().unwrap();
                ((k, v, b64(&e.blob)), b64(&e.plaintext))
            })
            .collect();
        FixtureKeys { keys }
    }
}

impl DataKeySource for FixtureKeys {
    async fn decrypt_data_key(&self, context: &KeyContext, blob: &[u8]) -> Result<WrappingKey, KeyError> {
        let lookup = (
            context.key.to_string(),
            context.resource_id.clone(),
            blob.to_vec(),
        );
        match self.keys.get(&lookup) {
            Some(key) => Ok(WrappingKey::new(key.clone()).unwrap()),
            None => Err(KeyError::permanent(
                "kms_invalid_ciphertext",
                "no such key under this context",
            )),
        }
    }
}

/// A source whose every call fails the same way.
pub struct FailingKeys(pub KeyError);

impl DataKeySource for FailingKeys {
    async fn decrypt_data_key(&self, _: &KeyContext, _: &[u8]) -> Result<WrappingKey, KeyError> {
        Err(self.0.clone())
    }
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct Truth {
    pub engine: String,
    pub resource_id: String,
    pub record_id: String,
    pub event_id: Option<String>,
    pub class: Option<String>,
    pub db_user_name: Option<String>,
    pub record_result: String,
    pub hour: String,
    pub cluster_id: Option<String>,
    pub instance_id: Option<String>,
    pub das_version: Option<String>,
    pub event_text: Option<String>,
}

pub fn truth() -> Vec<Truth> {
    std::fs::read_to_string(dir().join("ground-truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn event(engine: &str) -> FirehoseEvent<'static> {
    let bytes = std::fs::read(dir().join(format!("events/{engine}-1.json"))).unwrap();
    serde_json::from_slice::<FirehoseEvent>(&bytes)
        .unwrap()
        .into_owned()
}

/// `ev` with each decodable record's KMS blob replaced by `blob_for(index, blob)`; the ESDK
/// message is untouched, so a source that resolves the new blob to the old blob's key still
/// decrypts it. Builds invocations with several data keys out of the one-key fixtures.
pub fn rekey(ev: &FirehoseEvent, blob_for: impl Fn(usize, &[u8]) -> Vec<u8>) -> FirehoseEvent<'static> {
    let b64e = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut ev = ev.clone().into_owned();
    for (index, record) in ev.records.iter_mut().enumerate() {
        let Some(data) = record.data.as_deref() else {
            continue;
        };
        let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(data) else {
            continue;
        };
        let Ok(mut envelope) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        let Some(Value::String(key)) = envelope.get("key") else {
            continue;
        };
        let blob = blob_for(index, &b64(key));
        envelope["key"] = Value::String(b64e(&blob));
        record.data = Some(b64e(&serde_json::to_vec(&envelope).unwrap()).into());
    }
    ev
}

/// One invocation: its metrics and outcomes, and the serialized response Firehose receives.
pub struct Run {
    pub invocation: Invocation,
    pub response: Value,
}

pub async fn run_with<S: DataKeySource>(engine: &str, config: Config, keys: S) -> Run {
    let ev = event(engine);
    let invocation = Handler::new(config, keys).handle(&ev, now()).await.unwrap();
    let response = response_of(&invocation, &ev);
    Run { invocation, response }
}

pub async fn run(engine: &str, config: Config) -> Run {
    run_with(engine, config, FixtureKeys::load()).await
}

/// The response as serde_json serializes it, the bytes the Lambda sends (the invocation is
/// rebuilt, not consumed).
pub fn response_of(invocation: &Invocation, ev: &FirehoseEvent) -> Value {
    let copy = Invocation {
        outcomes: invocation.outcomes.clone(),
        metrics: invocation.metrics.clone(),
    };
    let bytes = serde_json::to_vec(&copy.into_response(ev)).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

pub fn records(response: &Value) -> &Vec<Value> {
    response["records"].as_array().unwrap()
}

pub fn results(response: &Value) -> Vec<&str> {
    records(response)
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect()
}

/// One delivered line: the parsed row and its raw text.
pub struct Line {
    pub row: Value,
    pub text: String,
}

/// Every delivered line, by eventId; fails on a duplicate eventId or a line without `\n`.
pub fn lines(response: &Value) -> HashMap<String, Line> {
    let mut lines = HashMap::new();
    for r in records(response).iter().filter(|r| r["result"] == "Ok") {
        let data = b64(r["data"].as_str().unwrap());
        let text = String::from_utf8(data).unwrap();
        assert!(text.ends_with('\n'), "every line ends with a newline");
        for line in text.lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            let id = row["eventId"].as_str().unwrap().to_string();
            let line = Line {
                row,
                text: line.to_string(),
            };
            assert!(lines.insert(id, line).is_none(), "duplicate event");
        }
    }
    lines
}

#[tokio::test]
async fn answers_every_record_id_exactly_once_in_order() {
    for engine in ENGINES {
        let run = run(engine, Config::default()).await;
        let input: Vec<String> = event(engine)
            .records
            .into_iter()
            .map(|r| r.record_id.into_owned())
            .collect();
        let output: Vec<&str> = records(&run.response)
            .iter()
            .map(|r| r["recordId"].as_str().unwrap())
            .collect();
        assert_eq!(input, output, "{engine}");
    }
}

#[tokio::test]
async fn classifies_every_event_of_every_engine_as_the_ground_truth() {
    let truth = truth();
    for engine in ENGINES {
        let lines = lines(&run(engine, Config::default()).await.response);
        let expected: Vec<&Truth> = truth
            .iter()
            .filter(|t| t.engine == engine && t.class.is_some())
            .collect();
        assert!(expected.len() > 50, "{engine}: too few events to mean anything");
        let mut wrong = Vec::new();
        for t in &expected {
            let line = lines
                .get(t.event_id.as_deref().unwrap())
                .unwrap_or_else(|| panic!("{engine}: missing event"));
            if line.row["activityClass"].as_str() != t.class.as_deref() {
                wrong.push(format!(
                    "{} want {:?} got {}",
                    line.row["commandText"], t.class, line.row["activityClass"]
                ));
            }
        }
        assert!(wrong.is_empty(), "{engine}: {wrong:#?}");
        assert_eq!(lines.len(), expected.len(), "{engine}: extra rows");
    }
}

#[tokio::test]
async fn results_match_ground_truth_heartbeats_dropped_corrupt_failed() {
    let truth = truth();
    let mut seen = HashSet::new();
    for engine in ENGINES {
        let run = run(engine, Config::default()).await;
        for r in records(&run.response) {
            let id = r["recordId"].as_str().unwrap();
            let want = &truth.iter().find(|t| t.record_id == id).unwrap().record_result;
            assert_eq!(r["result"].as_str(), Some(want.as_str()), "{engine} {id}");
            seen.insert(want.clone());
        }
    }
    assert_eq!(
        seen.len(),
        3,
        "fixtures must hold Ok, Dropped and ProcessingFailed records"
    );
}

/// Each line is the encrypted event's exact text with five fields added before its closing
/// brace; the added values come from the ground truth, not from the code under test.
#[tokio::test]
async fn every_line_is_the_encrypted_event_verbatim_plus_the_added_fields() {
    let truth = truth();
    for engine in ENGINES {
        let lines = lines(&run(engine, Config::default()).await.response);
        for t in truth.iter().filter(|t| t.engine == engine && t.class.is_some()) {
            let line = &lines[t.event_id.as_deref().unwrap()];
            let text = t.event_text.as_deref().unwrap();
            let body = text.strip_suffix('}').unwrap();
            assert!(
                line.text.starts_with(body) && line.text.as_bytes().get(body.len()) == Some(&b','),
                "{engine}: event text not kept verbatim"
            );
            let added = format!(
                "{{{}}}",
                line.text
                    .get(body.len() + 1..)
                    .unwrap()
                    .strip_suffix('}')
                    .unwrap()
            );
            let added: Value = serde_json::from_str(&added).unwrap();
            let want = serde_json::json!({
                "activityClass": t.class,
                "clusterId": t.cluster_id,
                "instanceId": t.instance_id,
                "eventId": t.event_id,
                "dasVersion": t.das_version,
            });
            assert_eq!(added, want, "{engine}");
            assert_eq!(line.row.as_object().unwrap().len(), {
                let original: Value = serde_json::from_str(text).unwrap();
                original.as_object().unwrap().len() + 5
            });
        }
    }
}

/// Partition keys follow from the ground truth alone: the single class of the record's events
/// or MIXED, the database's resource id, and the UTC hour of its earliest event.
#[tokio::test]
async fn partition_keys_are_the_class_resource_and_hour_of_the_ground_truth() {
    let truth = truth();
    let mut mixed = 0;
    for engine in ENGINES {
        let run = run(engine, Config::default()).await;
        for r in records(&run.response).iter().filter(|r| r["result"] == "Ok") {
            let id = r["recordId"].as_str().unwrap();
            let events: Vec<&Truth> = truth
                .iter()
                .filter(|t| t.record_id == id && t.class.is_some())
                .collect();
            let classes: HashSet<&str> = events.iter().map(|t| t.class.as_deref().unwrap()).collect();
            let class = if classes.len() == 1 {
                classes.iter().next().unwrap().to_string()
            } else {
                mixed += 1;
                "MIXED".to_string()
            };
            let hour = events.iter().map(|t| t.hour.as_str()).min().unwrap();
            let [y, m, d, h]: [&str; 4] = hour.split('-').collect::<Vec<_>>().try_into().unwrap();
            let want = serde_json::json!({
                "activity_class": class,
                "resource_id": events[0].resource_id,
                "year": y, "month": m, "day": d, "hour": h,
            });
            assert_eq!(r["metadata"]["partitionKeys"], want, "{engine} {id}");
            assert!(CLASSES.contains(&class.as_str()));
        }
    }
    assert!(mixed > 0, "fixtures must hold mixed records");
}

#[tokio::test]
async fn drops_excluded_users_case_insensitively() {
    let truth = truth();
    let config = Config {
        excluded_users: ["rdsadmin".to_string()].into(),
        ..Config::default()
    };
    let mut excluded = 0;
    for engine in ENGINES {
        let run = run(engine, config.clone()).await;
        let lines = lines(&run.response);
        let is_rdsadmin = |u: Option<&str>| u.unwrap_or("").eq_ignore_ascii_case("rdsadmin");
        assert!(lines.values().all(|l| !is_rdsadmin(l.row["dbUserName"].as_str())));
        let engine_truth = truth.iter().filter(|t| t.engine == engine && t.class.is_some());
        let (dropped, kept): (Vec<&Truth>, Vec<&Truth>) =
            engine_truth.partition(|t| is_rdsadmin(t.db_user_name.as_deref()));
        assert_eq!(lines.len(), kept.len(), "{engine}");
        assert_eq!(run.invocation.metrics.events.excluded, dropped.len(), "{engine}");
        excluded += dropped.len();
    }
    assert!(excluded > 0, "fixtures must hold rdsadmin events");
}

/// The metrics count what the response delivers: records by result, and events by class
/// from the lines themselves.
#[tokio::test]
async fn metrics_count_exactly_what_the_response_delivers() {
    for engine in ENGINES {
        let run = run(engine, Config::default()).await;
        let m = &run.invocation.metrics;
        let results = results(&run.response);
        let count = |r: &str| results.iter().filter(|x| **x == r).count();
        assert_eq!(
            (m.records_ok, m.records_dropped, m.records_failed),
            (count("Ok"), count("Dropped"), count("ProcessingFailed")),
            "{engine}"
        );
        let lines = lines(&run.response);
        for (i, class) in CLASSES.iter().take(8).enumerate() {
            let delivered = lines
                .values()
                .filter(|l| l.row["activityClass"] == *class)
                .count();
            assert_eq!(m.events.by_class[i], delivered, "{engine} {class}");
        }
        let bytes_out: usize = records(&run.response)
            .iter()
            .map(|r| b64(r["data"].as_str().unwrap()).len())
            .sum();
        assert_eq!(m.bytes_out, bytes_out, "{engine}");
    }
}

#[tokio::test]
async fn turns_records_past_the_response_budget_into_processing_failed() {
    let mut config = Config::default();
    config.limits.response_budget_bytes = 65_536;
    let run = run("mysql", config).await;
    let size = serde_json::to_vec(&run.response).unwrap().len();
    assert!(size <= 65_536, "response {size} bytes");
    let over = run
        .invocation
        .failures()
        .filter(|(_, e)| **e == RecordError::OverResponseBudget)
        .count();
    assert!(over > 0);
    let results = results(&run.response);
    assert!(results.contains(&"Ok"));
    assert_eq!(results.len(), event("mysql").records.len());
    // The earliest records are delivered first: every record before the first over-budget one
    // has its ground-truth result.
    let truth = truth();
    let first_over = run
        .invocation
        .failures()
        .find(|(_, e)| **e == RecordError::OverResponseBudget)
        .unwrap()
        .0;
    assert!(first_over > 0);
    for r in &records(&run.response)[..first_over] {
        let want = &truth
            .iter()
            .find(|t| t.record_id == r["recordId"])
            .unwrap()
            .record_result;
        assert_eq!(r["result"].as_str(), Some(want.as_str()));
    }
}

/// `dasp transform` and the Lambda write each record's entry as its outcome comes and free its
/// lines: the bytes must be the response `handle` returns, every record once and in order,
/// the budget's failures included, and the metrics must still count the lines freed.
#[tokio::test]
async fn streams_the_same_response_and_metrics_as_it_returns() {
    // 100,000 bytes: some mysql records fail over it, and a chunk's lines stay under twice the
    // bytes still free, so which ones does not depend on the threads' timing.
    for (engine, budget) in [
        ("postgresql", None),
        ("mysql", Some(100_000)),
        ("oracle", None),
        ("sqlserver", None),
    ] {
        let mut config = Config::default();
        if let Some(budget) = budget {
            config.limits.response_budget_bytes = budget;
        }
        let ev = event(engine);
        // Two handlers, so that both invocations resolve their keys alike (no cache hits).
        let held = Handler::new(config.clone(), FixtureKeys::load())
            .handle(&ev, now())
            .await
            .unwrap();
        let mut want = Vec::new();
        let copy = Invocation {
            outcomes: held.outcomes.clone(),
            metrics: held.metrics.clone(),
        };
        copy.into_response(&ev).write_json(&mut want).unwrap();

        let mut writer = ResponseWriter::new(Vec::new());
        let mut seen = Vec::new();
        let mut sink = writer.sink(&ev);
        let streamed = Handler::new(config, FixtureKeys::load())
            .handle_into(&ev, now(), None, &mut |index, outcome| {
                seen.push(index);
                sink(index, outcome)
            })
            .await
            .unwrap();
        drop(sink);
        let written = writer.finish().unwrap();
        assert_eq!(
            String::from_utf8(written).unwrap(),
            String::from_utf8(want).unwrap(),
            "{engine}"
        );
        assert_eq!(seen, (0..ev.records.len()).collect::<Vec<_>>(), "{engine}");
        assert_eq!(streamed.metrics, held.metrics, "{engine}");
        assert!(held.metrics.bytes_out > 0, "{engine}");
        if budget.is_some() {
            assert!(
                held.failures()
                    .any(|(_, e)| *e == RecordError::OverResponseBudget)
            );
        }
        let kept: Vec<_> = held.outcomes.into_iter().map(Outcome::without_data).collect();
        assert_eq!(
            streamed.outcomes, kept,
            "{engine}: the outcomes without their lines"
        );
    }
}

/// Retries that end at once: one attempt per key, no waiting.
pub fn no_retries() -> Config {
    let mut config = Config::default();
    config.kms_retry.budget = std::time::Duration::ZERO;
    config
}

#[tokio::test]
async fn fails_the_invocation_when_kms_is_transiently_down_for_every_record() {
    let source = FailingKeys(KeyError::transient("kms_throttled", "rate exceeded"));
    let ev = event("oracle");
    let err = Handler::new(no_retries(), source)
        .handle(&ev, now())
        .await
        .unwrap_err();
    let InvocationError::KmsUnavailable {
        label,
        keys,
        records,
        total_records,
        ..
    } = &err
    else {
        panic!("unexpected {err}");
    };
    assert_eq!((*label, *keys), ("kms_throttled", 1));
    // Every record with a readable envelope waits on the key; one record of the fixture has none.
    let decodable = decodable(&ev);
    assert_eq!((*records, *total_records), (decodable.len(), ev.records.len()));
    assert!(
        err.to_string()
            .contains(&format!("{} of {} records", decodable.len(), ev.records.len())),
        "{err}"
    );
}

/// Indexes of the records whose envelope decodes (the others fail before any key is needed).
pub fn decodable(ev: &FirehoseEvent) -> Vec<usize> {
    (0..ev.records.len())
        .filter(|i| das_partitioner::ingest::decode_record(&ev.records[*i]).is_ok())
        .collect()
}

/// Serves `FixtureKeys` for blobs it knows; a blob ending in `#<label>` is the same key behind
/// a fault: `#throttled` transient, `#denied` permanent, `#flaky` transient on the first
/// call only; any other suffix decrypts.
pub struct SuffixKeys {
    inner: FixtureKeys,
    calls: std::sync::Mutex<HashMap<Vec<u8>, usize>>,
}

impl SuffixKeys {
    pub fn new() -> Self {
        SuffixKeys {
            inner: FixtureKeys::load(),
            calls: Default::default(),
        }
    }
}

impl DataKeySource for SuffixKeys {
    async fn decrypt_data_key(&self, context: &KeyContext, blob: &[u8]) -> Result<WrappingKey, KeyError> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            let n = calls.entry(blob.to_vec()).or_default();
            *n += 1;
            *n
        };
        let (base, suffix) = match blob.iter().rposition(|b| *b == b'#') {
            Some(at) => (&blob[..at], &blob[at + 1..]),
            None => (blob, &b""[..]),
        };
        match suffix {
            b"throttled" => Err(KeyError::transient("kms_throttled", "Rate exceeded")),
            b"flaky" if n == 1 => Err(KeyError::transient("kms_unavailable", "HTTP 503")),
            b"denied" => Err(KeyError::permanent("kms_access_denied", "not allowed")),
            _ => self.inner.decrypt_data_key(context, base).await,
        }
    }
}

/// The first `n` records keep their blob, the others get `blob#suffix`.
pub fn split_keys(ev: &FirehoseEvent, n: usize, suffix: &str) -> FirehoseEvent<'static> {
    rekey(ev, |i, blob| {
        let mut blob = blob.to_vec();
        if i >= n {
            blob.extend(format!("#{suffix}").bytes());
        }
        blob
    })
}

#[tokio::test]
async fn fails_only_the_records_of_a_key_with_a_permanent_error() {
    let baseline = run("oracle", Config::default()).await;
    let ev = split_keys(&event("oracle"), 25, "denied");
    let inv = Handler::new(Config::default(), SuffixKeys::new())
        .handle(&ev, now())
        .await
        .unwrap();
    let response = response_of(&inv, &ev);
    let (got, want) = (results(&response), results(&baseline.response));
    assert_eq!(
        got[..25],
        want[..25],
        "the other key's records are as without the fault"
    );
    assert!(got[25..].iter().all(|r| *r == "ProcessingFailed"), "{got:?}");
    let denied: Vec<usize> = inv
        .failures()
        .filter(|(_, e)| e.label() == "kms_access_denied")
        .map(|(i, _)| i)
        .collect();
    let want_denied: Vec<usize> = decodable(&ev).into_iter().filter(|i| *i >= 25).collect();
    assert_eq!(denied, want_denied);
}

#[tokio::test(start_paused = true)]
async fn retries_a_transient_fault_and_delivers_every_record() {
    let baseline = run("postgresql", Config::default()).await;
    let ev = split_keys(&event("postgresql"), 20, "flaky");
    let handler = Handler::new(Config::default(), SuffixKeys::new());
    let inv = handler.handle(&ev, now()).await.unwrap();
    let response = response_of(&inv, &ev);
    assert_eq!(results(&response), results(&baseline.response));
    assert_eq!(lines(&response).len(), lines(&baseline.response).len());
    assert_eq!(inv.metrics.kms_calls, 3, "two keys, one retry");
    assert_eq!(inv.metrics.kms_retries, 1);
}

#[tokio::test(start_paused = true)]
async fn stops_retrying_before_the_lambda_deadline() {
    let ev = event("sqlserver");
    let handler = Handler::new(
        Config::default(),
        FailingKeys(KeyError::transient("kms_throttled", "")),
    );
    let start = tokio::time::Instant::now();
    let remaining = std::time::Duration::from_secs(8);
    let err = handler
        .handle_within(&ev, now(), Some(remaining))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        InvocationError::KmsUnavailable {
            label: "kms_throttled",
            ..
        }
    ));
    let reserve = das_partitioner::limits::KMS_DEADLINE_RESERVE;
    assert!(
        start.elapsed() <= remaining - reserve,
        "took {:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn fails_records_alone_on_permanent_kms_errors() {
    let source = FailingKeys(KeyError::permanent("kms_access_denied", "not allowed"));
    let run = run_with("oracle", Config::default(), source).await;
    assert!(results(&run.response).iter().all(|r| *r == "ProcessingFailed"));
    assert!(
        run.invocation
            .failures()
            .any(|(_, e)| e.label() == "kms_access_denied")
    );
}

#[tokio::test]
async fn wrong_resource_id_fails_records_as_invalid_ciphertext() {
    let config = Config {
        resource_id: Some("cluster-SOMEOTHERDB".into()),
        ..Config::default()
    };
    let run = run("postgresql", config).await;
    assert!(results(&run.response).iter().all(|r| *r == "ProcessingFailed"));
    assert!(
        run.invocation
            .failures()
            .any(|(_, e)| e.label() == "kms_invalid_ciphertext")
    );
}

#[tokio::test]
async fn caches_data_keys_across_invocations() {
    let handler = Handler::new(Config::default(), FixtureKeys::load());
    let ev = event("sqlserver");
    let distinct: HashSet<Vec<u8>> = ev
        .records
        .iter()
        .filter_map(|r| das_partitioner::ingest::decode_record(r).ok())
        .map(|e| e.key_blob)
        .collect();
    let first = handler.handle(&ev, now()).await.unwrap();
    let second = handler.handle(&ev, now()).await.unwrap();
    assert!(!distinct.is_empty() && distinct.len() < ev.records.len());
    assert_eq!(
        first.metrics.kms_calls,
        distinct.len(),
        "one KMS call per distinct key"
    );
    assert_eq!(second.metrics.kms_calls, 0);
    assert_eq!(second.metrics.kms_cache_hits, distinct.len());
    assert_eq!(handler.cached_keys(), distinct.len());
}
