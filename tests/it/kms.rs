//! aws-sdk-kms against a real KMS emulator (moto's server), as DAS uses KMS, and KMS faults
//! injected in front of it by scripts/kms-faults.py.
//!
//! The `#[ignore]`d tests need the emulator and the fault stand-in: `make test-kms` starts both
//! on loopback ports (scripts/with-moto.sh, scripts/with-kms-faults.sh), runs them with
//! `--ignored`, and stops them. Run alone, they fail loudly instead of passing vacuously.
//!
//! The fault tests run the whole handler with the real client through the stand-in. Their
//! invocations are the committed fixtures with each record's data key re-encrypted by the
//! emulator (KMS Encrypt of the fixture's plaintext data key, under keys each test creates), so
//! every test has its own KMS keys and its fault rules select only its own requests.

use crate::handler::{decodable, event, now, rekey, response_of, results, run};
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::DataKeySpec;
use das_partitioner::config::Config;
use das_partitioner::handler::{Handler, Invocation, InvocationError};
use das_partitioner::ingest::FirehoseEvent;
use das_partitioner::keys::retry::decrypt_with_retries;
use das_partitioner::keys::{
    DataKeySource, KeyContext, KeyErrorKind, KmsDataKeys, RetryPolicy, blob_fingerprint,
    resource_id_from_stream_arn,
};
use serde_json::{Value, json};
use std::io::{Read as _, Write as _};
use std::time::Duration;

fn emulator() -> (String, String) {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_KMS")
        .expect("AWS_ENDPOINT_URL_KMS unset: run through scripts/with-moto.sh (make test-kms)");
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "refusing a non-loopback endpoint {endpoint}"
    );
    let key_id = std::env::var("MOTO_KMS_KEY_ID").expect("MOTO_KMS_KEY_ID unset");
    (endpoint, key_id)
}

/// GenerateDataKey under `context`, as RDS does when it starts an activity stream.
async fn generate(key_id: &str, context: &KeyContext) -> (Vec<u8>, Vec<u8>) {
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let out = aws_sdk_kms::Client::new(&config)
        .generate_data_key()
        .key_id(key_id)
        .key_spec(DataKeySpec::Aes256)
        .encryption_context(context.key, &context.resource_id)
        .send()
        .await
        .unwrap();
    (
        out.plaintext.unwrap().into_inner(),
        out.ciphertext_blob.unwrap().into_inner(),
    )
}

/// A data key generated under `resource_id`'s context, as RDS does, decrypts through
/// `KmsDataKeys` to the same plaintext; the context key is the one DAS uses for that resource.
async fn assert_decrypts_under(resource_id: &str, context_key: &str) {
    let (_, key_id) = emulator();
    let context = KeyContext::for_resource(resource_id).unwrap();
    assert_eq!(context.key, context_key);
    let (plaintext, blob) = generate(&key_id, &context).await;
    let key = KmsDataKeys::from_env()
        .await
        .decrypt_data_key(&context, &blob)
        .await
        .unwrap();
    assert!(key.ct_eq(&plaintext));
}

#[tokio::test]
#[ignore = "needs the KMS emulator: make test-kms"]
async fn decrypts_aurora_data_key_under_cluster_context() {
    assert_decrypts_under("cluster-ABCDEFGHIJ", "aws:rds:dbc-id").await;
}

#[tokio::test]
#[ignore = "needs the KMS emulator: make test-kms"]
async fn decrypts_rds_instance_data_key_under_db_context() {
    assert_decrypts_under("db-KLMNOPQRST", "aws:rds:db-id").await;
}

#[tokio::test]
#[ignore = "needs the KMS emulator: make test-kms"]
async fn rejects_wrong_context_as_permanent_error() {
    let (_, key_id) = emulator();
    let context = KeyContext::for_resource("cluster-RIGHT").unwrap();
    let (_, blob) = generate(&key_id, &context).await;
    let source = KmsDataKeys::from_env().await;
    for wrong in ["cluster-WRONG", "db-RIGHT"] {
        let err = source
            .decrypt_data_key(&KeyContext::for_resource(wrong).unwrap(), &blob)
            .await
            .unwrap_err();
        assert_eq!(err.kind, KeyErrorKind::Permanent, "{wrong}: {err}");
        assert_eq!(err.label, "kms_invalid_ciphertext", "{wrong}: {err}");
    }
}

#[tokio::test]
#[ignore = "needs the KMS emulator: make test-kms"]
async fn rejects_garbage_ciphertext_as_permanent_error() {
    emulator();
    let context = KeyContext::for_resource("cluster-X").unwrap();
    let err = KmsDataKeys::from_env()
        .await
        .decrypt_data_key(&context, &[7u8; 150])
        .await
        .unwrap_err();
    assert_eq!(err.kind, KeyErrorKind::Permanent, "{err}");
}

#[tokio::test]
async fn reports_unreachable_kms_as_transient() {
    // A loopback port nothing listens on: connection refused at once, retried, then given up.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(aws_sdk_kms::config::BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new("us-east-1"))
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .credentials_provider(aws_sdk_kms::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    let source = KmsDataKeys::new(aws_sdk_kms::Client::from_conf(config));
    let context = KeyContext::for_resource("cluster-X").unwrap();
    let err = source.decrypt_data_key(&context, &[1u8; 100]).await.unwrap_err();
    assert_eq!(err.kind, KeyErrorKind::Transient, "{err}");
    assert_eq!(err.label, "kms_unreachable");
}

// --- Faults injected by scripts/kms-faults.py -------------------------------------------------

/// The fault stand-in's URL (loopback only).
fn faults() -> String {
    emulator();
    let url = std::env::var("KMS_FAULTS_ENDPOINT")
        .expect("KMS_FAULTS_ENDPOINT unset: run through scripts/with-kms-faults.sh (make test-kms)");
    assert!(url.starts_with("http://127.0.0.1:"), "refusing {url}");
    url
}

/// One request to the stand-in's control endpoints; the response body.
fn control(method: &str, path: &str, body: &str) -> String {
    let url = faults();
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    body.to_string()
}

fn add_rules(rules: Value) {
    control("POST", "/_faults/rules", &rules.to_string());
}

/// The Decrypt requests the stand-in saw for `key_id`: (fault, HTTP status sent).
fn decrypts_of(key_id: &str) -> Vec<(Option<String>, Option<u64>)> {
    let log: Vec<Value> = serde_json::from_str(&control("GET", "/_faults/log", "")).unwrap();
    log.iter()
        .filter(|e| e["target"] == "Decrypt" && e["key_id"] == key_id)
        .map(|e| (e["fault"].as_str().map(String::from), e["status"].as_u64()))
        .collect()
}

fn successful_decrypts(key_id: &str) -> usize {
    decrypts_of(key_id)
        .iter()
        .filter(|(fault, status)| fault.is_none() && *status == Some(200))
        .count()
}

/// A client of the emulator itself (setting up keys, never faulted).
async fn moto() -> aws_sdk_kms::Client {
    emulator();
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_kms::Client::new(&config)
}

async fn create_key() -> String {
    moto()
        .await
        .create_key()
        .description("das-partitioner fault test")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap()
        .key_id
        .to_string()
}

/// KMS Encrypt of `plaintext` under `key_id` and `context`: a blob as RDS would hand out.
async fn encrypt(key_id: &str, context: &KeyContext, plaintext: &[u8]) -> Vec<u8> {
    moto()
        .await
        .encrypt()
        .key_id(key_id)
        .plaintext(Blob::new(plaintext))
        .encryption_context(context.key, &context.resource_id)
        .send()
        .await
        .unwrap()
        .ciphertext_blob
        .unwrap()
        .into_inner()
}

/// The production client (SDK retries off), pointed at the fault stand-in.
async fn through_faults() -> KmsDataKeys {
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    KmsDataKeys::from_kms_config(aws_sdk_kms::config::Builder::from(&sdk).endpoint_url(faults()))
}

/// Short timeouts, so that a delayed answer is a timeout within the test's patience.
fn fast_config() -> Config {
    Config {
        kms_retry: RetryPolicy {
            attempt_timeout: Duration::from_secs(1),
            budget: Duration::from_secs(6),
            base_delay: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
        ..Config::default()
    }
}

/// The plaintext data key of the fixture blob `blob` (tests/fixtures/firehose/keys.json).
fn fixture_plaintext(blob: &[u8]) -> Vec<u8> {
    let path = crate::handler::dir().join("keys.json");
    let keys: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entry = keys
        .iter()
        .find(|k| crate::handler::b64(k["blob"].as_str().unwrap()) == blob)
        .unwrap();
    crate::handler::b64(entry["plaintext"].as_str().unwrap())
}

/// A fixture invocation whose records `0..split` use data key A and the rest data key B: the
/// fixture's data key encrypted by the emulator under two fresh KMS keys (B under `b_context`
/// when given: a key RDS did not make for this database).
struct TwoKeys {
    ev: FirehoseEvent<'static>,
    engine: &'static str,
    split: usize,
    key_a: String,
    key_b: String,
    blob_b: Vec<u8>,
}

async fn two_keys(engine: &'static str, split: usize, b_context: Option<&str>) -> TwoKeys {
    let ev = event(engine);
    let resource = resource_id_from_stream_arn(ev.source_kinesis_stream_arn.as_deref().unwrap()).unwrap();
    let context = KeyContext::for_resource(resource).unwrap();
    let original = das_partitioner::ingest::decode_record(&ev.records[decodable(&ev)[0]])
        .unwrap()
        .key_blob;
    let plaintext = fixture_plaintext(&original);
    let (key_a, key_b) = (create_key().await, create_key().await);
    let blob_a = encrypt(&key_a, &context, &plaintext).await;
    let other = b_context.map(|id| KeyContext::for_resource(id).unwrap());
    let blob_b = encrypt(&key_b, other.as_ref().unwrap_or(&context), &plaintext).await;
    let ev = rekey(&ev, |i, blob| match blob == original.as_slice() {
        true if i < split => blob_a.clone(),
        true => blob_b.clone(),
        false => blob.to_vec(),
    });
    TwoKeys {
        ev,
        engine,
        split,
        key_a,
        key_b,
        blob_b,
    }
}

impl TwoKeys {
    async fn handle(&self, config: Config) -> Result<Invocation, InvocationError> {
        Handler::new(config, through_faults().await)
            .handle(&self.ev, now())
            .await
    }

    /// Records of key B that reach the key stage (the others fail on their own).
    fn records_b(&self) -> Vec<usize> {
        decodable(&self.ev)
            .into_iter()
            .filter(|i| *i >= self.split)
            .collect()
    }
}

/// Each injected fault, on one real Decrypt request: permanent or transient, and its label.
#[tokio::test]
#[ignore = "needs the KMS emulator and the fault stand-in: make test-kms"]
async fn sorts_every_injected_kms_fault_into_permanent_and_transient() {
    use KeyErrorKind::{Permanent, Transient};
    let cases = [
        ("throttle", Transient, "kms_throttled"),
        ("kms-500", Transient, "kms_unavailable"),
        ("kms-503", Transient, "kms_unavailable"),
        ("http-500", Transient, "kms_http_error"),
        ("http-503", Transient, "kms_http_error"),
        ("http-403", Transient, "kms_http_error"),
        ("garbage", Transient, "kms_bad_response"),
        ("reset", Transient, "kms_unreachable"),
        ("delay", Transient, "kms_timeout"),
        ("access-denied", Permanent, "kms_access_denied"),
        ("invalid-ciphertext", Permanent, "kms_invalid_ciphertext"),
        ("disabled", Permanent, "kms_key_disabled"),
        ("not-found", Permanent, "kms_key_not_found"),
        ("invalid-state", Permanent, "kms_key_invalid_state"),
    ];
    let context = KeyContext::for_resource("cluster-FAULTS").unwrap();
    let key_id = create_key().await;
    let source = through_faults().await;
    // One attempt, timed out after 1 s: the retry layer's timeout, as the handler runs it.
    let once = RetryPolicy {
        attempt_timeout: Duration::from_secs(1),
        budget: Duration::ZERO,
        ..RetryPolicy::default()
    };
    let mut mismatches = Vec::new();
    for (fault, kind, label) in cases {
        let blob = encrypt(&key_id, &context, &[9; 32]).await;
        let ciphertext = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &blob);
        add_rules(json!({"fault": fault, "match": {"ciphertext": ciphertext}, "times": 1, "seconds": 3}));
        let stop_at = once.stop_at(tokio::time::Instant::now(), None);
        let first = decrypt_with_retries(&source, &once, stop_at, &context, &blob).await;
        match first.result {
            Err(e) if e.kind == kind && e.label == label => {}
            other => mismatches.push(format!("{fault}: {other:?}")),
        }
        assert_eq!(first.attempts, 1, "{fault}: budget 0 means one attempt");
        // The rule was for one request: the next one reaches the emulator and decrypts.
        let second = source.decrypt_data_key(&context, &blob).await;
        assert!(second.unwrap().ct_eq(&[9; 32]), "{fault}: not a one-off");
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
}

/// Throttling, a 5xx without a KMS code, a reset and a timeout before success: every record
/// is delivered as without faults, and each key was decrypted successfully exactly once.
#[tokio::test]
#[ignore = "needs the KMS emulator and the fault stand-in: make test-kms"]
async fn retries_transient_faults_then_delivers_every_record_with_one_decrypt_per_key() {
    let keys = two_keys("postgresql", 20, None).await;
    add_rules(json!([
        {"fault": "throttle", "match": {"key_id": keys.key_a}, "times": 2},
        {"fault": "http-503", "match": {"key_id": keys.key_b}, "times": 1},
        {"fault": "reset", "match": {"key_id": keys.key_b}, "skip": 1, "times": 1},
        {"fault": "delay", "seconds": 3, "match": {"key_id": keys.key_b}, "skip": 2, "times": 1},
    ]));
    let inv = keys.handle(fast_config()).await.unwrap();
    let baseline = run(keys.engine, Config::default()).await;
    assert_eq!(results(&response_of(&inv, &keys.ev)), results(&baseline.response));
    assert_eq!((inv.metrics.kms_calls, inv.metrics.kms_retries), (7, 5));
    for (key, faults) in [(&keys.key_a, 2), (&keys.key_b, 3)] {
        let seen = decrypts_of(key);
        assert_eq!(successful_decrypts(key), 1, "{seen:?}");
        assert_eq!(seen.len(), faults + 1, "{seen:?}");
    }
}

/// One key of two stays throttled: the invocation fails (Firehose retries the batch), naming
/// the key, its label and its records; the throttled key was retried, not given up at once.
#[tokio::test]
#[ignore = "needs the KMS emulator and the fault stand-in: make test-kms"]
async fn fails_the_invocation_when_one_key_of_several_stays_throttled() {
    let keys = two_keys("oracle", 25, None).await;
    add_rules(json!({"fault": "throttle", "match": {"key_id": keys.key_b}}));
    let err = keys.handle(fast_config()).await.unwrap_err();
    let InvocationError::KmsUnavailable {
        label,
        key,
        keys: unavailable,
        distinct_keys,
        records,
        ..
    } = &err
    else {
        panic!("unexpected {err}");
    };
    assert_eq!(
        (*label, *unavailable, *distinct_keys),
        ("kms_throttled", 1, 2),
        "{err}"
    );
    assert_eq!(*key, blob_fingerprint(&keys.blob_b));
    assert_eq!(*records, keys.records_b().len());
    assert!(decrypts_of(&keys.key_b).len() > 1, "the throttled key is retried");
    assert_eq!(successful_decrypts(&keys.key_a), 1);
}

/// Timeouts, resets and HTTP 5xx without a KMS code that persist fail the invocation as
/// transient, each under its own label, after retries.
#[tokio::test]
#[ignore = "needs the KMS emulator and the fault stand-in: make test-kms"]
async fn persistent_timeouts_resets_and_codeless_5xx_fail_the_invocation() {
    for (fault, want) in [
        ("delay", "kms_timeout"),
        ("reset", "kms_unreachable"),
        ("http-503", "kms_http_error"),
    ] {
        let keys = two_keys("mysql", 20, None).await;
        add_rules(json!({"fault": fault, "seconds": 3, "match": {"key_id": keys.key_b}}));
        match keys.handle(fast_config()).await {
            Err(InvocationError::KmsUnavailable { label, .. }) => assert_eq!(label, want, "{fault}"),
            other => panic!("{fault}: {:?}", other.map(|i| i.metrics)),
        }
        assert!(decrypts_of(&keys.key_b).len() > 1, "{fault} is retried");
    }
}

/// Permanent refusals of one key (injected, or moto's own answer to a wrong encryption
/// context) fail only that key's records, with a stable label, once each: never retried.
#[tokio::test]
#[ignore = "needs the KMS emulator and the fault stand-in: make test-kms"]
async fn fails_only_the_records_of_a_key_kms_refuses_permanently() {
    let cases = [
        (Some("access-denied"), None, "kms_access_denied"),
        (Some("invalid-ciphertext"), None, "kms_invalid_ciphertext"),
        (Some("disabled"), None, "kms_key_disabled"),
        (None, Some("cluster-SOMEOTHERDATABASE"), "kms_invalid_ciphertext"),
    ];
    for (fault, b_context, label) in cases {
        let keys = two_keys("oracle", 25, b_context).await;
        if let Some(fault) = fault {
            add_rules(json!({"fault": fault, "match": {"key_id": keys.key_b}}));
        }
        let inv = keys.handle(fast_config()).await.unwrap();
        let baseline = run(keys.engine, Config::default()).await;
        let response = response_of(&inv, &keys.ev);
        let (got, want) = (results(&response), results(&baseline.response));
        assert_eq!(got[..keys.split], want[..keys.split], "{label}: key A's records");
        assert!(
            got[keys.split..].iter().all(|r| *r == "ProcessingFailed"),
            "{label}"
        );
        let failed: Vec<usize> = inv
            .failures()
            .filter(|(_, e)| e.label() == label)
            .map(|(i, _)| i)
            .collect();
        assert_eq!(failed, keys.records_b(), "{label}");
        assert_eq!(decrypts_of(&keys.key_b).len(), 1, "{label}: not retried");
        assert_eq!(successful_decrypts(&keys.key_a), 1);
    }
}
