//! `dasp tail` and `dasp capture` against moto's Kinesis, the way a user runs them.
//!
//! The `#[ignore]`d tests need the emulator: `make test-kinesis` runs them through
//! scripts/with-moto.sh (AWS_ENDPOINT_URL_KINESIS on loopback) with `--ignored`. Run alone, they
//! fail loudly instead of passing vacuously.
//!
//! The records put on the streams are the committed generator fixtures
//! (tests/fixtures/firehose/events/<engine>-1.json, made by samples/das_stream.py --static-keys;
//! see tests/fixtures/firehose/README.md): each record's decoded data with its partition key,
//! on a stream named after the fixture's database (aws-rds-das-<resource id>), decrypted with
//! the fixture's keys.json. Each test uses its own engine's stream, so tests can run at once.

use crate::handler::{dir, event, truth};
use aws_sdk_kinesis::primitives::Blob;
use base64::Engine as _;
use das_partitioner::ingest::FirehoseEvent;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

async fn kinesis() -> aws_sdk_kinesis::Client {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_KINESIS")
        .expect("AWS_ENDPOINT_URL_KINESIS unset: run through scripts/with-moto.sh (make test-kinesis)");
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "refusing a non-loopback endpoint {endpoint}"
    );
    let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    aws_sdk_kinesis::Client::new(&config)
}

fn stream_of(ev: &FirehoseEvent) -> String {
    let arn = ev.source_kinesis_stream_arn.as_deref().unwrap();
    arn.rsplit_once(":stream/").unwrap().1.to_string()
}

/// A new, empty stream `name` with `shards` shards (one left by an earlier run is deleted).
async fn fresh_stream(client: &aws_sdk_kinesis::Client, name: &str, shards: i32) {
    let _ = client
        .delete_stream()
        .stream_name(name)
        .enforce_consumer_deletion(true)
        .send()
        .await;
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .unwrap();
}

/// The fixture's records as Kinesis holds them: decoded data and partition key. Records whose
/// data is not base64 (corrupted on purpose) cannot be on a stream and are left out.
fn kinesis_records(engine: &str) -> Vec<(Vec<u8>, String)> {
    // Read as plain JSON: the crate's own types keep no partition key (nothing of ours uses it).
    let text = std::fs::read(dir().join(format!("events/{engine}-1.json"))).unwrap();
    let raw: Value = serde_json::from_slice(&text).unwrap();
    raw["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(r["data"].as_str()?)
                .ok()?;
            let key = r["kinesisRecordMetadata"]["partitionKey"]
                .as_str()
                .or_else(|| r["recordId"].as_str())
                .unwrap()
                .to_string();
            Some((data, key))
        })
        .collect()
}

async fn put(client: &aws_sdk_kinesis::Client, name: &str, records: &[(Vec<u8>, String)]) {
    for (data, key) in records {
        client
            .put_record()
            .stream_name(name)
            .data(Blob::new(data.clone()))
            .partition_key(key)
            .send()
            .await
            .unwrap();
    }
}

/// The ground truth's kept events of `engine`: (the line's expected start, class).
fn expected(engine: &str) -> Vec<(String, String)> {
    truth()
        .into_iter()
        .filter(|t| t.engine == engine)
        .filter_map(|t| {
            let text = t.event_text?.trim().replace(['\n', '\r'], " ");
            let start = text.strip_suffix('}')?.to_string();
            Some((start, t.class?))
        })
        .collect()
}

/// Every expected event is on exactly one line, with its class; no other line.
fn assert_events_once(stdout: &str, expected: &[(String, String)]) {
    let lines: Vec<&str> = stdout.lines().collect();
    for (start, class) in expected {
        let found: Vec<&&str> = lines.iter().filter(|l| l.starts_with(start.as_str())).collect();
        assert_eq!(found.len(), 1, "event printed {} times: {start}", found.len());
        assert!(
            found[0].contains(&format!("\"activityClass\":\"{class}\"")),
            "not {class}: {}",
            found[0]
        );
    }
    assert_eq!(lines.len(), expected.len(), "extra lines");
}

fn keys_json() -> String {
    dir().join("keys.json").display().to_string()
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_dasp"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Runs dasp to its end, killed (and the test failed) after [`DEADLINE`].
fn run(args: &[&str]) -> Output {
    let mut child = spawn(args);
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).map(|_| buf)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > DEADLINE {
            child.kill().unwrap();
            let _ = child.wait();
            panic!(
                "dasp {args:?} still running after {DEADLINE:?}; stderr: {}",
                String::from_utf8_lossy(&err.join().unwrap().unwrap())
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    Output {
        status,
        stdout: out.join().unwrap().unwrap(),
        stderr: err.join().unwrap().unwrap(),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A fresh, empty folder for one test, removed after it.
fn scratch(name: &str) -> crate::Scratch {
    crate::Scratch::new("tail", name)
}

/// Failed records are named by shard and sequence number with their label; nothing of an event.
fn assert_no_event_content(stderr: &str) {
    for needle in ["commandText", "dbUserName", "logTime"] {
        assert!(!stderr.contains(needle), "event content on stderr: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Kinesis emulator: make test-kinesis"]
async fn tail_prints_every_event_of_every_shard_once_with_its_class() {
    let client = kinesis().await;
    let ev = event("postgresql");
    let name = stream_of(&ev);
    fresh_stream(&client, &name, 2).await;
    put(&client, &name, &kinesis_records("postgresql")).await;
    let expected = expected("postgresql");
    let count = expected.len().to_string();
    let keys = keys_json();
    let out = run(&[
        "tail",
        "--stream",
        &name,
        "--from",
        "TRIM_HORIZON",
        "--data-keys",
        &keys,
        "--format",
        "json",
        "--count",
        &count,
    ]);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_events_once(&text(&out.stdout), &expected);
    assert!(stderr.contains("reading 2 shards of"), "{stderr}");
    let summary = stderr.lines().last().unwrap();
    assert!(
        summary.contains(&format!("{count} printed")) && summary.contains("heartbeat"),
        "{summary}"
    );
    assert_no_event_content(&stderr);
    // The fixture's corrupted records: one line each, shard/sequence number and label.
    let failed: Vec<&str> = stderr.lines().filter(|l| l.contains(" failed: ")).collect();
    assert!(!failed.is_empty(), "the fixture has corrupted records: {stderr}");
    for line in &failed {
        let label = line.rsplit_once(" failed: ").unwrap().1;
        assert!(line.starts_with("dasp: record shardId-"), "{line}");
        assert!(
            !label.is_empty() && label.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{line}"
        );
    }
    assert!(
        summary.contains(&format!(
            "{} failed (",
            if failed.len() == 1 {
                "1 record".to_string()
            } else {
                format!("{} records", failed.len())
            }
        )),
        "{summary}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Kinesis emulator: make test-kinesis"]
async fn tail_filters_by_class_and_user_and_prints_text_columns() {
    let client = kinesis().await;
    let ev = event("oracle");
    let name = stream_of(&ev);
    fresh_stream(&client, &name, 2).await;
    put(&client, &name, &kinesis_records("oracle")).await;
    let ddl: Vec<_> = truth()
        .into_iter()
        .filter(|t| t.engine == "oracle" && t.class.as_deref() == Some("DDL"))
        .collect();
    assert!(!ddl.is_empty(), "the fixture has DDL events");
    let user = ddl[0].db_user_name.clone().unwrap();
    let wanted = ddl
        .iter()
        .filter(|t| t.db_user_name.as_deref() == Some(&user))
        .count();
    let resource_id = name.strip_prefix("aws-rds-das-").unwrap();
    let keys = keys_json();
    let count = wanted.to_string();
    let out = run(&[
        "tail",
        "--resource-id",
        resource_id,
        "--from",
        "TRIM_HORIZON",
        "--data-keys",
        &keys,
        "--class",
        "ddl",
        "--user",
        &user,
        "--count",
        &count,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), wanted);
    for line in stdout.lines() {
        assert!(line.contains(" DDL ") && line.contains(&user), "{line}");
        assert!(!line.starts_with('{') && line.chars().count() <= 160, "{line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Kinesis emulator: make test-kinesis"]
async fn tail_from_latest_prints_an_event_put_after_it_started_within_a_second() {
    let client = kinesis().await;
    let ev = event("sqlserver");
    let name = stream_of(&ev);
    fresh_stream(&client, &name, 2).await;
    // Put before tail starts: not printed from LATEST.
    let records = kinesis_records("sqlserver");
    put(&client, &name, &records[..5]).await;
    let keys = keys_json();
    let mut child = spawn(&[
        "tail",
        "--stream",
        &name,
        "--data-keys",
        &keys,
        "--format",
        "json",
        "--count",
        "1",
    ]);
    let stderr = BufReader::new(child.stderr.take().unwrap());
    let (err_tx, err_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = err_tx.send(line);
        }
    });
    // Put once it has its shard iterators (earlier lines may be warnings).
    let started = std::iter::from_fn(|| err_rx.recv_timeout(Duration::from_secs(20)).ok())
        .find(|l| l.contains("reading"))
        .unwrap();
    assert!(started.contains("from LATEST"), "{started}");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let _ = out_tx.send(line);
        }
    });
    // The first record with a kept event, by the ground truth.
    let truth = truth();
    let (index, first) = ev
        .records
        .iter()
        .enumerate()
        .find_map(|(i, r)| {
            truth
                .iter()
                .find(|t| t.record_id == r.record_id && t.class.is_some())
                .map(|t| (i, t.clone()))
        })
        .unwrap();
    let data = base64::engine::general_purpose::STANDARD
        .decode(ev.records[index].data.as_deref().unwrap())
        .unwrap();
    let put_at = Instant::now();
    put(&client, &name, &[(data, "k".to_string())]).await;
    let line = out_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let latency = put_at.elapsed();
    let start = first.event_text.unwrap().trim().replace(['\n', '\r'], " ");
    assert!(line.starts_with(start.strip_suffix('}').unwrap()), "{line}");
    assert!(
        latency < Duration::from_secs(1),
        "printed {latency:?} after the put"
    );
    eprintln!("tail latency from put to line: {latency:?}");
    let status = child.wait().unwrap();
    assert!(status.success());
    let rest: Vec<String> = err_rx.iter().collect();
    assert!(rest.last().unwrap().contains("1 printed"), "{rest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Kinesis emulator: make test-kinesis"]
async fn tail_follows_a_split_shard_into_its_children() {
    let client = kinesis().await;
    let ev = event("mysql");
    // Its own stream: the capture test uses the fixture's.
    let name = format!("{}-split", stream_of(&ev));
    let resource_id = stream_of(&ev).strip_prefix("aws-rds-das-").unwrap().to_string();
    fresh_stream(&client, &name, 1).await;
    let records = kinesis_records("mysql");
    let (before, after) = records.split_at(records.len() / 2);
    put(&client, &name, before).await;
    client
        .split_shard()
        .stream_name(&name)
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key((1u128 << 127).to_string())
        .send()
        .await
        .unwrap();
    put(&client, &name, after).await;
    let shards = client.list_shards().stream_name(&name).send().await.unwrap();
    assert_eq!(shards.shards().len(), 3, "the split made two children");
    let expected = expected("mysql");
    let count = expected.len().to_string();
    let keys = keys_json();
    let out = Command::new(env!("CARGO_BIN_EXE_dasp"))
        .args([
            "tail",
            "--stream",
            &name,
            "--from",
            "TRIM_HORIZON",
            "--data-keys",
            &keys,
            "--format",
            "json",
            "--count",
            &count,
        ])
        .env("DASP_RESOURCE_ID", &resource_id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_events_once(&text(&out.stdout), &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the Kinesis emulator: make test-kinesis"]
async fn capture_then_transform_gives_the_ground_truth() {
    let client = kinesis().await;
    let ev = event("mysql");
    let name = stream_of(&ev);
    fresh_stream(&client, &name, 2).await;
    let records = kinesis_records("mysql");
    put(&client, &name, &records).await;
    let dir = scratch("capture");
    let file = dir.join("nested/event.json");
    let file_arg = file.display().to_string();
    let out = run(&["capture", "--stream", &name, "--out", &file_arg]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(&format!("{} records of {name} written", records.len())));
    let captured: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(
        captured["sourceKinesisStreamArn"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":stream/{name}"))
    );
    assert!(
        captured["deliveryStreamArn"]
            .as_str()
            .unwrap()
            .contains("placeholder")
    );
    for r in captured["records"].as_array().unwrap() {
        assert!(r["approximateArrivalTimestamp"].is_i64(), "{r}");
        let meta = &r["kinesisRecordMetadata"];
        assert!(
            meta["sequenceNumber"].is_string() && meta["shardId"].is_string(),
            "{r}"
        );
    }
    let keys = keys_json();
    let out = run(&["transform", "--event", &file_arg, "--data-keys", &keys, "--print"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_events_once(&text(&out.stdout), &expected("mysql"));
    // --records caps the capture.
    let few = dir.join("few.json").display().to_string();
    let out = run(&["capture", "--stream", &name, "--out", &few, "--records", "5"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let captured: Value = serde_json::from_slice(&std::fs::read(&few).unwrap()).unwrap();
    assert_eq!(captured["records"].as_array().unwrap().len(), 5);
}

#[test]
fn tail_rejects_unknown_classes_and_a_missing_stream_before_any_aws_access() {
    let out = Command::new(env!("CARGO_BIN_EXE_dasp"))
        .args([
            "tail",
            "--resource-id",
            "cluster-ABCDEFGHIJ",
            "--class",
            "DDL,SELECT",
        ])
        .env_remove("AWS_REGION")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("\"SELECT\"") && stderr.contains("AUTH_FAILURE"),
        "{stderr}"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dasp"))
        .args(["capture", "--out", "x.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--resource-id"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(env!("CARGO_BIN_EXE_dasp"))
        .args(["tail", "--resource-id", "mydb"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a database resource id"),
        "{}",
        text(&out.stderr)
    );
}
