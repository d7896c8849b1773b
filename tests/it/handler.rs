//! The shared handler on Firehose invocations made by the generator with the official ESDK
//! (tests/fixtures/firehose/), with a hand-written data-key fake behind the trait.

use base64::Engine as _;
use das_partitioner::config::Config;
use das_partitioner::error::RecordError;
use das_partitioner::esdk::WrappingKey;
use das_partitioner::firehose::FirehoseEvent;
use das_partitioner::handler::{Handler, Invocation, InvocationError};
use das_partitioner::kms::{DataKeySource, KeyContext, KeyError};
use serde::Deserialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

const ENGINES: [&str; 4] = ["postgresql", "mysql", "oracle", "sqlserver"];
const CLASSES: [&str; 9] = [
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

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/firehose")
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn now() -> chrono::DateTime<chrono::Utc> {
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
struct FixtureKeys {
    keys: HashMap<(String, String, Vec<u8>), Vec<u8>>,
}

impl FixtureKeys {
    fn load() -> Self {
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
struct FailingKeys(KeyError);

impl DataKeySource for FailingKeys {
    async fn decrypt_data_key(&self, _: &KeyContext, _: &[u8]) -> Result<WrappingKey, KeyError> {
        Err(self.0.clone())
    }
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct Truth {
    engine: String,
    record_id: String,
    event_id: Option<String>,
    class: Option<String>,
    db_user_name: Option<String>,
    record_result: String,
}

fn truth() -> Vec<Truth> {
    std::fs::read_to_string(dir().join("ground-truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn event(engine: &str) -> FirehoseEvent {
    serde_json::from_slice(&std::fs::read(dir().join(format!("events/{engine}-1.json"))).unwrap()).unwrap()
}

async fn run(engine: &str, config: Config) -> Invocation {
    Handler::new(config, FixtureKeys::load())
        .handle(&event(engine), now())
        .await
        .unwrap()
}

/// Output rows of the response: eventId → (row, partition keys).
fn rows(inv: &Invocation) -> HashMap<String, (Value, HashMap<String, String>)> {
    let mut rows = HashMap::new();
    for r in &inv.response.records {
        if r.result.as_deref() != Some("Ok") {
            continue;
        }
        let text = std::str::from_utf8(&r.data.0).unwrap();
        assert!(text.ends_with('\n'));
        for line in text.lines() {
            let row: Value = serde_json::from_str(line).unwrap();
            let id = row["eventId"].as_str().unwrap().to_string();
            assert!(
                rows.insert(id, (row, r.metadata.partition_keys.clone()))
                    .is_none(),
                "duplicate event"
            );
        }
    }
    rows
}

#[tokio::test]
async fn answers_every_record_id_exactly_once_in_order() {
    for engine in ENGINES {
        let inv = run(engine, Config::default()).await;
        let input: Vec<String> = event(engine).records.into_iter().map(|r| r.record_id).collect();
        let output: Vec<String> = inv
            .response
            .records
            .iter()
            .map(|r| r.record_id.clone().unwrap())
            .collect();
        assert_eq!(input, output, "{engine}");
    }
}

#[tokio::test]
async fn classifies_every_event_of_every_engine_as_the_ground_truth() {
    let truth = truth();
    for engine in ENGINES {
        let rows = rows(&run(engine, Config::default()).await);
        let expected: Vec<&Truth> = truth
            .iter()
            .filter(|t| t.engine == engine && t.class.is_some())
            .collect();
        assert!(expected.len() > 50, "{engine}: too few events to mean anything");
        let mut wrong = Vec::new();
        for t in &expected {
            let (row, _) = rows
                .get(t.event_id.as_deref().unwrap())
                .unwrap_or_else(|| panic!("{engine}: missing event"));
            if row["activityClass"].as_str() != t.class.as_deref() {
                wrong.push(format!(
                    "{} want {:?} got {}",
                    row["commandText"], t.class, row["activityClass"]
                ));
            }
        }
        assert!(wrong.is_empty(), "{engine}: {wrong:#?}");
        assert_eq!(rows.len(), expected.len(), "{engine}: extra rows");
    }
}

#[tokio::test]
async fn results_match_ground_truth_heartbeats_dropped_corrupt_failed() {
    let truth = truth();
    let mut seen = HashSet::new();
    for engine in ENGINES {
        let inv = run(engine, Config::default()).await;
        for r in &inv.response.records {
            let id = r.record_id.as_deref().unwrap();
            let want = &truth.iter().find(|t| t.record_id == id).unwrap().record_result;
            assert_eq!(r.result.as_deref(), Some(want.as_str()), "{engine} {id}");
            seen.insert(want.clone());
        }
        assert_eq!(inv.failures.len(), inv.metrics.records_failed);
    }
    assert_eq!(
        seen.len(),
        3,
        "fixtures must hold Ok, Dropped and ProcessingFailed records"
    );
}

#[tokio::test]
async fn partition_keys_are_complete_and_s3_safe() {
    for engine in ENGINES {
        let inv = run(engine, Config::default()).await;
        for r in inv
            .response
            .records
            .iter()
            .filter(|r| r.result.as_deref() == Some("Ok"))
        {
            let keys = &r.metadata.partition_keys;
            let mut names: Vec<&str> = keys.keys().map(String::as_str).collect();
            names.sort();
            assert_eq!(
                names,
                ["activity_class", "day", "hour", "month", "resource_id", "year"]
            );
            for v in keys.values() {
                assert!(
                    !v.is_empty()
                        && v.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                    "{v}"
                );
            }
            assert!(CLASSES.contains(&keys["activity_class"].as_str()));
            assert_eq!(keys["year"], "2026");
        }
    }
}

#[tokio::test]
async fn partition_class_is_the_single_class_or_mixed() {
    let mut mixed = 0;
    for engine in ENGINES {
        let inv = run(engine, Config::default()).await;
        for r in inv
            .response
            .records
            .iter()
            .filter(|r| r.result.as_deref() == Some("Ok"))
        {
            let classes: HashSet<String> = std::str::from_utf8(&r.data.0)
                .unwrap()
                .lines()
                .map(|l| {
                    serde_json::from_str::<Value>(l).unwrap()["activityClass"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            let key = &r.metadata.partition_keys["activity_class"];
            if classes.len() == 1 {
                assert!(classes.contains(key));
            } else {
                assert_eq!(key, "MIXED");
                mixed += 1;
            }
        }
    }
    assert!(mixed > 0, "fixtures must hold mixed records");
}

#[tokio::test]
async fn adds_fields_and_keeps_the_event_verbatim() {
    let inv = run("mysql", Config::default()).await;
    let (row, _) = rows(&inv)
        .into_values()
        .find(|(row, _)| row["class"] == "MAIN")
        .unwrap();
    for field in [
        "logTime",
        "dbUserName",
        "command",
        "commandText",
        "exitCode",
        "serverType",
        "class",
    ] {
        assert!(row.get(field).is_some(), "{field} lost");
    }
    assert!(row["eventId"].as_str().unwrap().ends_with(char::is_numeric));
    assert_eq!(row["dasVersion"], "1.2");
    assert!(row["clusterId"].as_str().unwrap().starts_with("cluster-"));
}

#[tokio::test]
async fn drops_excluded_users_case_insensitively() {
    let truth = truth();
    let config = Config {
        excluded_users: ["RDSADMIN".to_lowercase()].into(),
        ..Config::default()
    };
    let mut excluded = 0;
    for engine in ENGINES {
        let inv = run(engine, config.clone()).await;
        let rows = rows(&inv);
        assert!(rows.values().all(|(r, _)| {
            !r["dbUserName"]
                .as_str()
                .unwrap_or("")
                .eq_ignore_ascii_case("rdsadmin")
        }));
        excluded += inv.metrics.excluded_events_dropped;
        let kept = truth
            .iter()
            .filter(|t| t.engine == engine && t.class.is_some())
            .filter(|t| {
                !t.db_user_name
                    .as_deref()
                    .unwrap_or("")
                    .eq_ignore_ascii_case("rdsadmin")
            })
            .count();
        assert_eq!(rows.len(), kept, "{engine}");
    }
    assert!(excluded > 0, "fixtures must hold rdsadmin events");
}

#[tokio::test]
async fn turns_records_past_the_response_budget_into_processing_failed() {
    let mut config = Config::default();
    config.limits.response_budget_bytes = 65_536;
    let inv = run("mysql", config).await;
    let size = serde_json::to_vec(&inv.response).unwrap().len();
    assert!(size <= 65_536, "response {size} bytes");
    let over: Vec<_> = inv
        .failures
        .iter()
        .filter(|(_, e)| *e == RecordError::OverResponseBudget)
        .collect();
    assert!(!over.is_empty());
    assert!(
        inv.response
            .records
            .iter()
            .any(|r| r.result.as_deref() == Some("Ok"))
    );
    assert_eq!(inv.response.records.len(), event("mysql").records.len());
}

#[tokio::test]
async fn fails_the_invocation_when_kms_is_transiently_down_for_every_record() {
    let source = FailingKeys(KeyError::transient("kms_throttled", "rate exceeded"));
    let err = Handler::new(Config::default(), source)
        .handle(&event("oracle"), now())
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        InvocationError::KmsUnavailable {
            label: "kms_throttled",
            ..
        }
    ));
}

#[tokio::test]
async fn fails_records_alone_on_permanent_kms_errors() {
    let source = FailingKeys(KeyError::permanent("kms_access_denied", "not allowed"));
    let inv = Handler::new(Config::default(), source)
        .handle(&event("oracle"), now())
        .await
        .unwrap();
    assert!(
        inv.response
            .records
            .iter()
            .all(|r| r.result.as_deref() == Some("ProcessingFailed"))
    );
    assert!(inv.failures.iter().any(|(_, e)| e.label() == "kms_access_denied"));
}

#[tokio::test]
async fn wrong_resource_id_fails_records_as_invalid_ciphertext() {
    let config = Config {
        resource_id: Some("cluster-SOMEOTHERDB".into()),
        ..Config::default()
    };
    let inv = run("postgresql", config).await;
    assert!(
        inv.response
            .records
            .iter()
            .all(|r| r.result.as_deref() == Some("ProcessingFailed"))
    );
}

#[tokio::test]
async fn fails_records_without_a_resource_id() {
    let mut ev = event("postgresql");
    ev.source_kinesis_stream_arn = Some("arn:aws:kinesis:us-east-1:1:stream/not-das".into());
    let inv = Handler::new(Config::default(), FixtureKeys::load())
        .handle(&ev, now())
        .await
        .unwrap();
    assert!(
        inv.response
            .records
            .iter()
            .all(|r| r.result.as_deref() == Some("ProcessingFailed"))
    );
    assert!(inv.failures.iter().any(|(_, e)| *e == RecordError::NoResourceId));
}

#[tokio::test]
async fn caches_data_keys_across_invocations() {
    let handler = Handler::new(Config::default(), FixtureKeys::load());
    let first = handler.handle(&event("sqlserver"), now()).await.unwrap();
    let second = handler.handle(&event("sqlserver"), now()).await.unwrap();
    assert!(first.metrics.kms_calls >= 1 && first.metrics.kms_calls < event("sqlserver").records.len());
    assert_eq!(second.metrics.kms_calls, 0);
    assert_eq!(second.metrics.kms_cache_hits, first.metrics.kms_calls);
}

#[tokio::test]
async fn matches_golden_responses() {
    for engine in ENGINES {
        let inv = run(engine, Config::default()).await;
        let got = serde_json::to_value(&inv.response).unwrap();
        let path = dir().join(format!("golden/{engine}-1.response.json"));
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, serde_json::to_vec_pretty(&got).unwrap()).unwrap();
        }
        let want: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        assert!(got == want, "{engine}: response differs from {}", path.display());
    }
}
