//! `dasp replay`: records that failed in a first run (over the response budget, data key
//! missing) are recovered by replaying the processing-failed objects that run wrote, and the
//! union of both runs' events is the generator's ground truth, each event exactly once.
//!
//! The batches come from samples/das_stream.py (.venv's Python, static keys). The S3 test runs
//! against moto's S3 (`make test-kms`, scripts/with-moto.sh) and is `#[ignore]`d otherwise.

use das_partitioner::cli::failed_records;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh, empty folder for one test, removed after it.
fn scratch(name: &str) -> crate::Scratch {
    crate::Scratch::new("replay", name)
}

/// `dasp` with a fresh HOME and only `env`, plus the process's AWS_* when `aws` is set.
fn dasp(args: &[&str], env: &[(&str, &str)], aws: bool) -> Output {
    let home = scratch("home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_dasp"));
    cmd.args(args).env_clear().env("HOME", &home);
    if aws {
        cmd.envs(std::env::vars().filter(|(k, _)| k.starts_with("AWS_")));
    }
    cmd.envs(env.iter().copied()).output().unwrap()
}

/// A generated PostgreSQL batch: (folder, the one event file, keys.json, resource id).
struct Batch {
    dir: crate::Scratch,
    event: PathBuf,
    keys: PathBuf,
    resource_id: String,
}

fn generate(name: &str, records: usize) -> Batch {
    let dir = scratch(name);
    let root = env!("CARGO_MANIFEST_DIR");
    let out = Command::new(format!("{root}/.venv/bin/python"))
        .arg(format!("{root}/samples/das_stream.py"))
        .args(["--engines", "postgresql", "--static-keys", "--seed", "7"])
        .args([
            "--records",
            &records.to_string(),
            "--batch-size",
            &records.to_string(),
        ])
        .arg("--out-dir")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let event = dir.join("events/postgresql-1.json");
    let truth = truth(&dir);
    let resource_id = truth[0]["resourceId"].as_str().unwrap().to_string();
    Batch {
        keys: dir.join("keys.json"),
        dir,
        event,
        resource_id,
    }
}

fn truth(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("ground-truth.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every file under `dir`, relative.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    out.sort();
    out
}

/// (eventId, activityClass) of every delivered event under `layout/das`.
fn delivered(layout: &Path) -> Vec<(String, String)> {
    files(&layout.join("das"))
        .iter()
        .flat_map(|f| {
            std::fs::read_to_string(layout.join("das").join(f))
                .unwrap()
                .lines()
                .map(|l| {
                    let v: Value = serde_json::from_str(l).unwrap();
                    (
                        v["eventId"].as_str().unwrap().to_string(),
                        v["activityClass"].as_str().unwrap().to_string(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Replayed record id (`replay-<tag>-<line>`) → the original recordId, from the error objects
/// under `errors` and the generated event (rawData is the original record's data).
fn replay_ids(errors: &Path, event: &Path) -> BTreeMap<String, String> {
    let event: Value = serde_json::from_slice(&std::fs::read(event).unwrap()).unwrap();
    let by_data: BTreeMap<&str, &str> = event["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["data"].as_str().unwrap(), r["recordId"].as_str().unwrap()))
        .collect();
    let mut ids = BTreeMap::new();
    for f in files(errors) {
        let bytes = std::fs::read(errors.join(&f)).unwrap();
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for entry in failed_records::parse_object(&bytes).unwrap() {
            let entry = entry.unwrap();
            let original = by_data[entry.raw_data.as_str()];
            ids.insert(
                failed_records::replay_record_id(&name, entry.line),
                original.to_string(),
            );
        }
    }
    ids
}

/// Both runs' events together are the ground truth's: each expected event exactly once, with
/// its class, and nothing else.
fn assert_union_is_the_truth(batch: &Batch, first: &Path, replayed: &Path) {
    let truth = truth(&batch.dir);
    // (recordId, eventIndex) → (eventId, class) of every expected event.
    let expected: BTreeMap<(String, u64), (String, String)> = truth
        .iter()
        .filter(|t| !t["eventId"].is_null())
        .map(|t| {
            (
                (
                    t["recordId"].as_str().unwrap().to_string(),
                    t["eventIndex"].as_u64().unwrap(),
                ),
                (
                    t["eventId"].as_str().unwrap().to_string(),
                    t["class"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect();
    let by_event_id: BTreeMap<&str, (&(String, u64), &str)> = expected
        .iter()
        .map(|(k, (id, class))| (id.as_str(), (k, class.as_str())))
        .collect();
    let ids = replay_ids(&first.join("das-errors"), &batch.event);
    let mut seen: BTreeMap<(String, u64), usize> = BTreeMap::new();
    for (event_id, class) in delivered(first) {
        let (key, want) = by_event_id[event_id.as_str()];
        assert_eq!(class, want, "{event_id}");
        *seen.entry(key.clone()).or_default() += 1;
    }
    let first_run = seen.len();
    for (event_id, class) in delivered(replayed) {
        let (record, index) = event_id.rsplit_once('-').unwrap();
        let original = ids
            .get(record)
            .unwrap_or_else(|| panic!("unknown replayed record {event_id}"));
        let key = (original.clone(), index.parse::<u64>().unwrap());
        let (_, want) = &expected[&key];
        assert_eq!(&class, want, "{event_id}");
        *seen.entry(key).or_default() += 1;
    }
    assert!(
        first_run > 0 && first_run < expected.len(),
        "the first run delivered {first_run} of {}",
        expected.len()
    );
    assert_eq!(
        seen.keys().collect::<BTreeSet<_>>(),
        expected.keys().collect::<BTreeSet<_>>()
    );
    assert!(seen.values().all(|n| *n == 1), "some events were delivered twice");
}

fn first_run(batch: &Batch, layout: &Path, keys: &Path, env: &[(&str, &str)]) -> Output {
    let out = dasp(
        &[
            "transform",
            "--event",
            batch.event.to_str().unwrap(),
            "--out",
            layout.join("response.json").to_str().unwrap(),
            "--s3-layout",
            layout.to_str().unwrap(),
            "--data-keys",
            keys.to_str().unwrap(),
        ],
        env,
        false,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out
}

fn replay_into(batch: &Batch, errors: &Path, layout: &Path) -> Output {
    replay_with(batch, errors, layout, &[])
}

fn replay_with(batch: &Batch, errors: &Path, layout: &Path, env: &[(&str, &str)]) -> Output {
    dasp(
        &[
            "replay",
            "--errors",
            errors.to_str().unwrap(),
            "--s3-layout",
            layout.to_str().unwrap(),
            "--resource-id",
            &batch.resource_id,
            "--data-keys",
            batch.keys.to_str().unwrap(),
        ],
        env,
        false,
    )
}

#[test]
fn replay_recovers_records_that_were_over_the_response_budget() {
    let batch = generate("budget", 120);
    let first = batch.dir.join("first");
    let out = first_run(
        &batch,
        &first,
        &batch.keys,
        &[("DASP_RESPONSE_BUDGET_BYTES", "65536")],
    );
    let response = std::fs::read_to_string(first.join("response.json")).unwrap();
    assert!(
        response.contains("ProcessingFailed"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let second = batch.dir.join("second");
    let out = replay_into(&batch, &first.join("das-errors"), &second);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(out.stdout.is_empty(), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains(" 0 not recovered"), "{stderr}");
    assert_union_is_the_truth(&batch, &first, &second);
}

/// A replayed invocation over its own budget: the records left out are replayed again alone.
#[test]
fn replay_retries_records_over_its_own_budget_one_by_one() {
    let batch = generate("alone", 120);
    let first = batch.dir.join("first");
    first_run(
        &batch,
        &first,
        &batch.keys,
        &[("DASP_RESPONSE_BUDGET_BYTES", "65536")],
    );
    let second = batch.dir.join("second");
    let out = replay_with(
        &batch,
        &first.join("das-errors"),
        &second,
        &[("DASP_RESPONSE_BUDGET_BYTES", "65536")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("over_response_budget"));
    assert_union_is_the_truth(&batch, &first, &second);
}

#[test]
fn replay_recovers_records_whose_data_key_was_missing() {
    let batch = generate("key", 160);
    let mut keys: Vec<Value> = serde_json::from_slice(&std::fs::read(&batch.keys).unwrap()).unwrap();
    assert!(keys.len() >= 2, "the batch needs two data keys");
    keys.remove(1);
    let partial = batch.dir.join("partial-keys.json");
    std::fs::write(&partial, serde_json::to_vec(&keys).unwrap()).unwrap();
    let first = batch.dir.join("first");
    first_run(&batch, &first, &partial, &[]);

    // Without the key the replay fails the same records again, lists them, exits 1.
    let again = batch.dir.join("again");
    let out = dasp(
        &[
            "replay",
            "--errors",
            first.join("das-errors").to_str().unwrap(),
            "--s3-layout",
            again.to_str().unwrap(),
            "--resource-id",
            &batch.resource_id,
            "--data-keys",
            partial.to_str().unwrap(),
        ],
        &[],
        false,
    );
    assert_eq!(out.status.code(), Some(1));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        !listed.is_empty()
            && listed
                .lines()
                .all(|l| l.contains("das-errors") && l.rsplit(": ").next().unwrap().starts_with("k")),
        "{listed}"
    );

    let second = batch.dir.join("second");
    let out = replay_into(&batch, &first.join("das-errors"), &second);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_union_is_the_truth(&batch, &first, &second);
}

#[test]
fn replaying_again_replaces_the_same_objects_with_the_same_content() {
    let batch = generate("rerun", 120);
    let first = batch.dir.join("first");
    first_run(
        &batch,
        &first,
        &batch.keys,
        &[("DASP_RESPONSE_BUDGET_BYTES", "65536")],
    );
    let second = batch.dir.join("second");
    assert!(
        replay_into(&batch, &first.join("das-errors"), &second)
            .status
            .success()
    );
    let once: Vec<(PathBuf, Vec<u8>)> = files(&second)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(second.join(f)).unwrap()))
        .collect();
    assert!(!once.is_empty());
    assert!(
        replay_into(&batch, &first.join("das-errors"), &second)
            .status
            .success()
    );
    let twice: Vec<(PathBuf, Vec<u8>)> = files(&second)
        .into_iter()
        .map(|f| (f.clone(), std::fs::read(second.join(f)).unwrap()))
        .collect();
    assert_eq!(once, twice);
}

#[test]
fn replay_without_a_resource_id_names_the_fix() {
    let dir = scratch("noid");
    std::fs::write(dir.join("object"), "{\"rawData\":\"eA==\"}\n").unwrap();
    let out = dasp(
        &[
            "replay",
            "--errors",
            dir.to_str().unwrap(),
            "--s3-layout",
            dir.join("out").to_str().unwrap(),
        ],
        &[],
        false,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resource-id"));
}

#[test]
fn replay_lists_unreadable_entries_and_objects_and_exits_1() {
    let batch = generate("bad", 20);
    let errors = batch.dir.join("errors");
    std::fs::create_dir_all(&errors).unwrap();
    std::fs::write(errors.join("lines"), "not json\n{\"attemptsMade\":1}\n").unwrap();
    std::fs::write(errors.join("broken.gz"), [0x1f, 0x8b, 8, 0, 1, 2]).unwrap();
    let out = replay_into(&batch, &errors, &batch.dir.join("out"));
    assert_eq!(out.status.code(), Some(1));
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(listed.contains("broken.gz: replay_object_not_gzip"), "{listed}");
    assert!(listed.contains("lines:1: replay_entry_not_json"), "{listed}");
    assert!(listed.contains("lines:2: replay_no_raw_data"), "{listed}");
}

/// Against moto's S3 (`make test-kms`): gzip error objects uploaded to a bucket, replayed from
/// s3:// to s3://, the recovered objects listed.
#[test]
#[ignore = "needs moto's S3: make test-kms (scripts/with-moto.sh)"]
fn replay_reads_and_writes_s3_through_the_emulator() {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_S3")
        .expect("AWS_ENDPOINT_URL_S3 unset: run through scripts/with-moto.sh (make test-kms)");
    assert!(
        endpoint.starts_with("http://127.0.0.1:"),
        "refusing a non-loopback endpoint {endpoint}"
    );
    let batch = generate("s3", 120);
    let first = batch.dir.join("first");
    first_run(
        &batch,
        &first,
        &batch.keys,
        &[("DASP_RESPONSE_BUDGET_BYTES", "65536")],
    );
    let errors = first.join("das-errors");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bucket = format!("replay-{}", std::process::id());
    let client = rt.block_on(async {
        let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(s3)
    });
    rt.block_on(async {
        client.create_bucket().bucket(&bucket).send().await.unwrap();
        for f in files(&errors) {
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            gz.write_all(&std::fs::read(errors.join(&f)).unwrap()).unwrap();
            let key = format!("das-errors/{}", f.to_string_lossy());
            client
                .put_object()
                .bucket(&bucket)
                .key(key)
                .body(gz.finish().unwrap().into())
                .send()
                .await
                .unwrap();
        }
    });
    let out = dasp(
        &[
            "replay",
            "--errors",
            &format!("s3://{bucket}/das-errors"),
            "--to",
            &format!("s3://{bucket}/recovered"),
            "--resource-id",
            &batch.resource_id,
            "--data-keys",
            batch.keys.to_str().unwrap(),
        ],
        &[],
        true,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The same objects as a replay of the local copies, under the prefix.
    let local = batch.dir.join("local");
    assert!(replay_into(&batch, &errors, &local).status.success());
    let listed: Vec<String> = rt.block_on(async {
        let out = client
            .list_objects_v2()
            .bucket(&bucket)
            .prefix("recovered/")
            .send()
            .await
            .unwrap();
        out.contents()
            .iter()
            .map(|o| o.key().unwrap().to_string())
            .collect()
    });
    let expected: Vec<String> = files(&local)
        .iter()
        .map(|f| format!("recovered/{}", f.to_string_lossy()))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(listed, expected);
}
