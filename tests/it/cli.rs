//! The `dasp` binary as a user runs it.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn dasp(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dasp"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn fixture(path: &str) -> String {
    format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn inspect_json_prints_exactly_the_documented_keys() {
    let out = dasp(
        &["inspect", &fixture("esdk/s0378-f262144-ctx.esdk"), "--json"],
        b"",
        &[],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "contentType",
            "encryptedDataKeys",
            "encryptionContextKeys",
            "frameLength",
            "frames",
            "messageVersion",
            "signed",
            "suiteId",
            "suiteName"
        ]
    );
    assert_eq!(v["suiteId"], "0x0378");
    assert_eq!(v["frameLength"], 262_144);
    assert_eq!(v["frames"], 3);
    assert_eq!(v["signed"], true);
    assert_eq!(v["contentType"], "framed");
    assert_eq!(
        v["encryptedDataKeys"],
        serde_json::json!([{"providerId": "BC", "keyName": "DataKey"}])
    );
}

#[test]
fn inspect_reads_a_das_envelope_from_stdin() {
    let event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("firehose/events/postgresql-1.json")).unwrap())
            .unwrap();
    use base64::Engine as _;
    let envelope = base64::engine::general_purpose::STANDARD
        .decode(event["records"][1]["data"].as_str().unwrap())
        .unwrap();
    let out = dasp(&["inspect", "--json"], &envelope, &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["suiteId"], "0x0178");
    assert_eq!(v["encryptionContextKeys"], serde_json::json!([]));
}

#[test]
fn inspect_rejects_malformed_input_with_one_line_and_exit_code_2() {
    for input in [&b"{\"type\":\"x\"}"[..], b"not base64 at all!", b"AQI=", b""] {
        let out = dasp(&["inspect", "--json"], input, &[]);
        assert_eq!(out.status.code(), Some(2), "{input:?}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.starts_with("dasp: error: "), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn transform_exits_non_zero_when_kms_is_unreachable_for_every_record() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let env = [
        ("AWS_ENDPOINT_URL_KMS", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let out = dasp(
        &["transform", "--event", &fixture("firehose/events/oracle-1.json")],
        b"",
        &env,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("invocation failed"));
    assert!(
        out.stdout.is_empty(),
        "no response may be written when the invocation fails"
    );
}

#[test]
fn transform_rejects_invalid_configuration_naming_the_variable() {
    let out = dasp(
        &["transform", "--event", &fixture("firehose/events/oracle-1.json")],
        b"",
        &[("DASP_KMS_CONCURRENCY", "0")],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("DASP_KMS_CONCURRENCY"));
}

#[test]
fn lambda_binary_started_outside_lambda_says_so_in_one_line_and_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_das-partitioner"))
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("AWS_LAMBDA_RUNTIME_API") && stderr.contains("dasp transform"));
    assert!(!stderr.contains("panicked"));
}
