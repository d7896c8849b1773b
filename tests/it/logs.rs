//! The logs never carry event content or key material: a demo-sized generated run (four
//! engines, corrupted records so that failures are logged) through `dasp transform` and
//! `dasp replay` at debug level (`-vv`, `RUST_LOG=debug`), the captured standard error searched
//! for every event's SQL text and user name from the ground truth and for every data key of
//! keys.json in base64 and hex.

use base64::Engine as _;
use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

fn dasp_debug(args: &[&str]) -> String {
    let home = crate::Scratch::new("logs", "home");
    let out = Command::new(env!("CARGO_BIN_EXE_dasp"))
        .arg("-vv")
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn debug_logs_of_a_demo_run_hold_no_event_content_and_no_key_material() {
    let dir = crate::Scratch::new("logs", "demo");
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(format!("{root}/.venv/bin/python"))
        .arg(format!("{root}/samples/das_stream.py"))
        .args([
            "--records",
            "1200",
            "--corrupt",
            "14",
            "--static-keys",
            "--seed",
            "3",
        ])
        .arg("--out-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let keys = dir.join("keys.json");
    let mut logs = String::new();
    let mut events: Vec<_> = std::fs::read_dir(dir.join("events"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    events.sort();
    for (n, event) in events.iter().enumerate() {
        let layout = dir.join(format!("s3-{n}"));
        logs.push_str(&dasp_debug(&[
            "transform",
            "--event",
            event.to_str().unwrap(),
            "--out",
            dir.join(format!("response-{n}.json")).to_str().unwrap(),
            "--s3-layout",
            layout.to_str().unwrap(),
            "--data-keys",
            keys.to_str().unwrap(),
        ]));
        let ev: Value = serde_json::from_slice(&std::fs::read(event).unwrap()).unwrap();
        let arn = ev["sourceKinesisStreamArn"].as_str().unwrap();
        let resource = arn.rsplit("aws-rds-das-").next().unwrap();
        if layout.join("das-errors").exists() {
            logs.push_str(&dasp_debug(&[
                "replay",
                "--errors",
                layout.join("das-errors").to_str().unwrap(),
                "--s3-layout",
                dir.join(format!("replayed-{n}")).to_str().unwrap(),
                "--resource-id",
                resource,
                "--data-keys",
                keys.to_str().unwrap(),
            ]));
        }
    }
    // The search can fail: failed records are logged, at debug level.
    assert!(logs.contains("record processing failed"), "{logs}");

    let truth: Vec<Value> = std::fs::read_to_string(dir.join("ground-truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut sql = BTreeSet::new();
    let mut users = BTreeSet::new();
    for t in &truth {
        if let Some(user) = t["dbUserName"].as_str() {
            users.insert(user.to_string());
        }
        if let Some(text) = t["eventText"].as_str() {
            let event: Value = serde_json::from_str(text).unwrap();
            for field in ["commandText", "statementText", "sqlText", "SQL_TEXT"] {
                if let Some(s) = event[field].as_str().filter(|s| s.len() >= 8) {
                    sql.insert(s.to_string());
                }
            }
        }
    }
    assert!(
        sql.len() > 50 && users.len() > 3,
        "{} statements, {} users",
        sql.len(),
        users.len()
    );
    // The needles are what the run handled: the delivered events hold them.
    let mut delivered = String::new();
    for n in 0..events.len() {
        for entry in walk(&dir.join(format!("s3-{n}/das"))) {
            delivered.push_str(&std::fs::read_to_string(entry).unwrap());
        }
    }
    let found = sql.iter().filter(|s| delivered.contains(s.as_str())).count();
    assert!(
        found * 2 > sql.len(),
        "only {found} of {} statements delivered",
        sql.len()
    );
    for s in &sql {
        assert!(!logs.contains(s.as_str()), "SQL text in the logs: {s}");
    }
    let words: BTreeSet<&str> = logs
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .collect();
    for user in &users {
        assert!(!words.contains(user.as_str()), "user name in the logs: {user}");
    }
    let entries: Vec<Value> = serde_json::from_slice(&std::fs::read(&keys).unwrap()).unwrap();
    assert!(!entries.is_empty());
    for entry in &entries {
        let b64 = entry["plaintext"].as_str().unwrap();
        let key = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
        let b64_url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&key);
        for needle in [b64.to_string(), b64_url, hex.clone(), hex.to_uppercase()] {
            assert!(!logs.contains(&needle), "key material in the logs");
        }
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
