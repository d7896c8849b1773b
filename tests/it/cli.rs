//! The `dasp` binary as a user runs it.

use base64::Engine as _;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
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

/// `dasp` in an empty environment (a fresh HOME, no AWS settings), plus `env`.
fn dasp_clean(args: &[&str], env: &[(&str, &str)]) -> Output {
    let home = scratch("home");
    Command::new(env!("CARGO_BIN_EXE_dasp"))
        .args(args)
        .env_clear()
        .env("HOME", &home)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// A fresh, empty folder for one test, removed after it.
fn scratch(name: &str) -> crate::Scratch {
    crate::Scratch::new("cli", name)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The committed sample and its static test keys.
fn sample() -> (String, String) {
    let dir = format!("{}/samples/events", env!("CARGO_MANIFEST_DIR"));
    (
        format!("{dir}/firehose-aurora-postgresql.json"),
        format!("{dir}/firehose-aurora-postgresql.keys.json"),
    )
}

/// An address on which nothing listens.
fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    endpoint
}

fn results(response: &serde_json::Value) -> Vec<&str> {
    response["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["result"].as_str().unwrap())
        .collect()
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

// --- Errors a person can act on ---------------------------------------------------------------

/// Exit code 2 and exactly one line on stderr containing `needle`.
fn assert_one_line_error(out: &Output, needle: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("dasp: error: ") && err.contains(needle), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn transform_without_a_region_names_the_fix_in_one_line() {
    let (event, _) = sample();
    let out = dasp_clean(&["transform", "--event", &event], &[]);
    assert_one_line_error(
        &out,
        "set AWS_REGION (or AWS_DEFAULT_REGION, or a profile with a region)",
    );
}

#[test]
fn transform_names_a_profile_that_does_not_exist() {
    let (event, _) = sample();
    let out = dasp_clean(&["transform", "--event", &event], &[("AWS_PROFILE", "x")]);
    assert_one_line_error(&out, "profile 'x' not found");
}

#[test]
fn transform_takes_region_and_credentials_from_the_profile_files() {
    let (event, _) = sample();
    let dir = scratch("profile");
    let config = dir.join("config");
    std::fs::write(&config, "[profile prod]\nregion = eu-west-1\n").unwrap();
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        "[prod]\naws_access_key_id = a\naws_secret_access_key = b\n",
    )
    .unwrap();
    let endpoint = dead_endpoint();
    let out = dasp_clean(
        &["transform", "--event", &event],
        &[
            ("AWS_PROFILE", "prod"),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
            ("AWS_ENDPOINT_URL_KMS", &endpoint),
            ("DASP_KMS_RETRY_BUDGET_MS", "300"),
        ],
    );
    // past the checks: the KMS call itself fails
    assert!(
        stderr(&out).contains("KMS stayed unreachable"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn transform_rejects_an_endpoint_url_without_scheme() {
    let (event, _) = sample();
    for var in ["AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL"] {
        let out = dasp_clean(
            &["transform", "--event", &event],
            &[(var, "localhost:4566"), ("AWS_REGION", "us-east-1")],
        );
        assert_one_line_error(
            &out,
            &format!("{var}=\"localhost:4566\" must start with http:// or https://"),
        );
    }
}

#[test]
fn transform_without_credentials_says_so_in_one_line() {
    let (event, _) = sample();
    let out = dasp_clean(&["transform", "--event", &event], &[("AWS_REGION", "us-east-1")]);
    assert_one_line_error(&out, "no AWS credentials");
}

#[test]
fn transform_says_what_the_cli_did_when_kms_stays_unreachable() {
    let endpoint = dead_endpoint();
    let env = [
        ("AWS_ENDPOINT_URL_KMS", endpoint.as_str()),
        // A short retry budget keeps the test quick; the message is the same.
        ("DASP_KMS_RETRY_BUDGET_MS", "300"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let out_dir = scratch("unreachable");
    let response = out_dir.join("response.json");
    let args = [
        "transform",
        "--event",
        &fixture("firehose/events/oracle-1.json"),
        "--out",
        response.to_str().unwrap(),
    ];
    let out = dasp_clean(&args, &env);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert_eq!(
        err.lines().count(),
        1,
        "no SDK or IMDS output at the default level: {err}"
    );
    assert!(
        err.starts_with("dasp: error: KMS stayed unreachable for a data key after the retries: ")
            && err.contains("(kms_unreachable")
            && err.trim_end().ends_with("nothing was written"),
        "{err}"
    );
    assert!(
        !err.contains("Firehose") && !err.contains("DispatchFailure"),
        "{err}"
    );
    assert!(out.stdout.is_empty() && !response.exists());
    // Nor is an existing file touched.
    std::fs::write(&response, "earlier").unwrap();
    let out = dasp_clean(&args, &env);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read_to_string(&response).unwrap(), "earlier");
    std::fs::remove_file(&response).unwrap();

    let mut verbose = vec!["-v"];
    verbose.extend(args);
    let err = stderr(&dasp_clean(&verbose, &env));
    assert!(
        err.contains("DispatchFailure"),
        "-v keeps the SDK's detail: {err}"
    );
}

#[test]
fn transform_says_credentials_failed_rather_than_kms_unreachable() {
    let (event, _) = sample();
    let dir = scratch("credential-process");
    let config = dir.join("config");
    std::fs::write(
        &config,
        "[profile broken]\nregion = eu-west-1\ncredential_process = /bin/false\n",
    )
    .unwrap();
    let endpoint = dead_endpoint();
    let out = dasp_clean(
        &["transform", "--event", &event],
        &[
            ("AWS_PROFILE", "broken"),
            ("AWS_CONFIG_FILE", config.to_str().unwrap()),
            ("AWS_ENDPOINT_URL_KMS", &endpoint),
        ],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("the AWS credentials could not be loaded") && err.contains("nothing was written"),
        "{err}"
    );
}

#[test]
fn transform_checks_output_paths_before_any_aws_setup() {
    let (event, _) = sample();
    let dir = scratch("paths");
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    // No AWS settings at all: the path problem is reported first.
    let out_path = file.join("response.json");
    let out = dasp_clean(
        &[
            "transform",
            "--event",
            &event,
            "--out",
            out_path.to_str().unwrap(),
        ],
        &[],
    );
    assert_one_line_error(&out, file.to_str().unwrap());
    let layout = file.join("s3");
    let out = dasp_clean(
        &[
            "transform",
            "--event",
            &event,
            "--s3-layout",
            layout.to_str().unwrap(),
        ],
        &[],
    );
    assert_one_line_error(&out, file.to_str().unwrap());
    let missing = dir.join("missing.json");
    let out = dasp_clean(&["transform", "--event", missing.to_str().unwrap()], &[]);
    assert_one_line_error(&out, missing.to_str().unwrap());
}

#[test]
fn transform_warns_once_about_each_unknown_dasp_variable() {
    let (event, keys) = sample();
    let out = dasp_clean(
        &["transform", "--event", &event, "--data-keys", &keys],
        &[
            ("DASP_EXCLUDE_USERS", "rdsadmin"),
            ("DASP_KMS_CONCURENCY", "2"),
            ("DASP_FOO", "1"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("dasp: warning:")).collect();
    assert_eq!(warnings.len(), 3, "{err}");
    assert!(err.contains("DASP_EXCLUDE_USERS is ignored (did you mean DASP_EXCLUDED_USERS?)"));
    assert!(err.contains("DASP_KMS_CONCURENCY is ignored (did you mean DASP_KMS_CONCURRENCY?)"));
    assert!(err.contains("DASP_FOO is ignored") && !err.contains("DASP_FOO is ignored (did you mean"));
}

// --- Offline sample, output folders, idempotent archive --------------------------------------

#[test]
fn committed_sample_gives_ok_results_with_its_data_keys_file() {
    let (event, keys) = sample();
    let out = dasp_clean(&["transform", "--event", &event, "--data-keys", &keys], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let results = results(&response);
    assert_eq!(results.len(), 40);
    // The generator corrupted two records of this stream on purpose (tests/fixtures/firehose).
    assert_eq!(results.iter().filter(|r| **r == "ProcessingFailed").count(), 2);
    assert!(results.iter().filter(|r| **r == "Ok").count() > 30);
    assert!(!stderr(&out).contains("kms_"), "{}", stderr(&out));
}

#[test]
fn data_keys_of_another_database_fail_each_record_not_the_run() {
    let (_, keys) = sample();
    let out = dasp_clean(
        &[
            "transform",
            "--event",
            &fixture("firehose/events/mysql-1.json"),
            "--data-keys",
            &keys,
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(results(&response).iter().all(|r| *r == "ProcessingFailed"));
    assert!(stderr(&out).contains("kms_invalid_ciphertext"));
}

#[test]
fn transform_creates_the_parent_folders_of_its_outputs() {
    let (event, keys) = sample();
    let dir = scratch("parents");
    let response = dir.join("a/b/response.json");
    let layout = dir.join("c/d/s3");
    let out = dasp_clean(
        &[
            "transform",
            "--event",
            &event,
            "--data-keys",
            &keys,
            "--out",
            response.to_str().unwrap(),
            "--s3-layout",
            layout.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stdout.is_empty(), "the response goes to --out only");
    let response: serde_json::Value = serde_json::from_slice(&std::fs::read(&response).unwrap()).unwrap();
    assert_eq!(results(&response).len(), 40);
    assert!(layout.join("das").is_dir() && layout.join("das-errors").is_dir());
}

/// Alone, the response is written record by record as the outcomes come (each record's lines
/// freed once written); with --s3-layout the lines are held for the objects and the response
/// is written at the end. Both must be the same bytes, on standard output too (plus a newline).
#[test]
fn transform_streams_the_same_response_it_writes_when_holding_the_lines() {
    let (event, keys) = sample();
    let dir = scratch("streamed");
    let streamed = dir.join("streamed.json");
    let held = dir.join("held.json");
    let base = ["transform", "--event", &event, "--data-keys", &keys];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let out = dasp_clean(&args, &[]);
        assert!(out.status.success(), "{}", stderr(&out));
        out
    };
    run(&["--out", streamed.to_str().unwrap()]);
    let layout = dir.join("s3");
    run(&[
        "--out",
        held.to_str().unwrap(),
        "--s3-layout",
        layout.to_str().unwrap(),
    ]);
    let streamed = std::fs::read(&streamed).unwrap();
    assert_eq!(streamed, std::fs::read(&held).unwrap());
    assert_eq!(results(&serde_json::from_slice(&streamed).unwrap()).len(), 40);
    let stdout = run(&[]).stdout;
    assert_eq!(stdout.strip_suffix(b"\n"), Some(streamed.as_slice()));
}

fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut files = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    files
}

#[test]
fn s3_layout_rerun_replaces_its_objects_instead_of_adding_copies() {
    let (event, keys) = sample();
    let layout = scratch("rerun");
    let run = || {
        let out = dasp_clean(
            &[
                "transform",
                "--event",
                &event,
                "--data-keys",
                &keys,
                "--s3-layout",
                layout.to_str().unwrap(),
            ],
            &[],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        files_under(&layout)
    };
    let first = run();
    assert!(first.len() > 2, "{first:?}");
    assert_eq!(run(), first);

    // Without an invocationId the names derive from the records: still stable.
    let mut value: serde_json::Value = serde_json::from_slice(&std::fs::read(&event).unwrap()).unwrap();
    value.as_object_mut().unwrap().remove("invocationId");
    let no_id_dir = scratch("no-id");
    let no_id = no_id_dir.join("event.json");
    std::fs::write(&no_id, value.to_string()).unwrap();
    let layout = scratch("rerun-no-id");
    let run = || {
        let args = [
            "transform",
            "--event",
            no_id.to_str().unwrap(),
            "--data-keys",
            &keys,
            "--s3-layout",
            layout.to_str().unwrap(),
        ];
        assert!(dasp_clean(&args, &[]).status.success());
        files_under(&layout)
    };
    let first = run();
    assert_eq!(run(), first);
}

// --- Summary and --print ----------------------------------------------------------------------

#[test]
fn summary_line_counts_records_events_and_kms_calls() {
    let (event, keys) = sample();
    let out = dasp_clean(&["transform", "--event", &event, "--data-keys", &keys], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let response: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = |result: &str| results(&response).iter().filter(|r| **r == result).count();
    // Class counts from the generator's ground truth for this stream, not from a previous run.
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture("firehose/summary.json")).unwrap()).unwrap();
    let classes = &truth["events"]["byEngine"]["postgresql"];
    // The eight classes in the summary's order (the shared list ends with the MIXED partition).
    let order = &crate::handler::CLASSES[..8];
    let per_class: Vec<String> = order
        .iter()
        .filter(|c| classes[**c].as_u64().unwrap_or(0) > 0)
        .map(|c| format!("{} {c}", classes[*c]))
        .collect();
    let total: u64 = order.iter().map(|c| classes[*c].as_u64().unwrap_or(0)).sum();
    let expected_start = format!(
        "dasp: 40 records: {} Ok, {} Dropped, {} ProcessingFailed; {total} events: {}; ",
        n("Ok"),
        n("Dropped"),
        n("ProcessingFailed"),
        per_class.join(", ")
    );
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.starts_with("dasp: 40 records"))
        .unwrap_or_default();
    assert!(
        line.starts_with(&expected_start),
        "{line}\nwanted: {expected_start}"
    );
    assert!(
        line.ends_with(" heartbeats dropped, 0 excluded events; 1 KMS call, 0 cache hits"),
        "{line}"
    );
}

#[test]
fn print_writes_exactly_the_decoded_data_of_ok_records() {
    let (event, keys) = sample();
    let dir = scratch("print");
    let response_path = dir.join("response.json");
    let out = dasp_clean(
        &[
            "transform",
            "--event",
            &event,
            "--data-keys",
            &keys,
            "--print",
            "--out",
            response_path.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let response: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&response_path).unwrap()).unwrap();
    let mut expected = Vec::new();
    for record in response["records"].as_array().unwrap() {
        if record["result"] == "Ok" {
            let data = base64::engine::general_purpose::STANDARD
                .decode(record["data"].as_str().unwrap())
                .unwrap();
            expected.extend(data);
        }
    }
    assert!(!expected.is_empty());
    assert_eq!(out.stdout, expected);
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert!(v["activityClass"].is_string());
    }

    // Without --out nothing but the lines reaches stdout.
    let out = dasp_clean(
        &["transform", "--event", &event, "--data-keys", &keys, "--print"],
        &[],
    );
    assert_eq!(out.stdout, expected);
}

// --- inspect: every shape ---------------------------------------------------------------------

fn sample_event() -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(sample().0).unwrap()).unwrap()
}

fn inspect_lines(out: &Output) -> Vec<String> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn inspect_reads_a_firehose_event_record_by_record() {
    let (event, _) = sample();
    let out = dasp(&["inspect", &event], b"", &[]);
    let lines = inspect_lines(&out);
    assert_eq!(lines.len(), 40, "{}", stderr(&out));
    assert!(lines[0].starts_with("record 0 (49547921008024773674688402121979672416366376710411944653): DatabaseActivityMonitoringRecords 1.1; ESDK v1 suite 0x0178"), "{}", lines[0]);
    // One record of the sample was truncated by the generator: it is named with the reason,
    // the others are still read, and the exit code says some could not be read.
    let unreadable: Vec<&String> = lines.iter().filter(|l| l.contains("cannot read:")).collect();
    assert_eq!(unreadable.len(), 1, "{lines:?}");
    assert!(
        unreadable[0].contains("malformed ESDK message"),
        "{}",
        unreadable[0]
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("40 records: 39 read, 1 unreadable"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn inspect_reads_kinesis_get_records_output_and_one_record_per_line() {
    let event = sample_event();
    let records: Vec<serde_json::Value> = event["records"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|r| serde_json::json!({"SequenceNumber": "4954", "Data": r["data"], "PartitionKey": "p"}))
        .collect();
    let kinesis = serde_json::json!({"Records": records, "NextShardIterator": "x"});
    let out = dasp(&["inspect", "--json"], kinesis.to_string().as_bytes(), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines = inspect_lines(&out);
    assert_eq!(lines.len(), 3);
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["record"], "record 0 (4954)");
    assert_eq!(first["envelopeType"], "DatabaseActivityMonitoringRecords");
    assert_eq!(first["envelopeVersion"], "1.1");
    assert_eq!(first["suiteId"], "0x0178");

    // Firehose records, one JSON object per line, one of them damaged.
    let mut text = String::new();
    for r in event["records"].as_array().unwrap().iter().take(2) {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    text.push_str("{\"recordId\":\"bad\",\"data\":\"%%%\"}\n");
    let out = dasp(&["inspect"], text.as_bytes(), &[]);
    let lines = inspect_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[2], "line 3: cannot read: the record data is not base64");
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn inspect_shows_the_envelope_type_and_version() {
    let event = sample_event();
    let envelope = base64::engine::general_purpose::STANDARD
        .decode(event["records"][0]["data"].as_str().unwrap())
        .unwrap();
    let out = dasp(&["inspect"], &envelope, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.starts_with("envelope type:     DatabaseActivityMonitoringRecords\nenvelope version:  1.1\n"),
        "{text}"
    );
    let out = dasp(&["inspect", "--json"], &envelope, &[]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["envelopeType"].as_str(), v["envelopeVersion"].as_str()),
        (Some("DatabaseActivityMonitoringRecords"), Some("1.1"))
    );
}

// --- help and version -------------------------------------------------------------------------

#[test]
fn every_subcommands_long_help_lists_its_environment_exit_codes_and_an_example() {
    for (command, variables) in [
        (
            "transform",
            &[
                "DASP_RESOURCE_ID",
                "DASP_EXCLUDED_USERS",
                "DASP_MAX_INFLATED_BYTES",
                "DASP_RESPONSE_BUDGET_BYTES",
                "DASP_KMS_CONCURRENCY",
                "DASP_KMS_CACHE_SIZE",
                "AWS_REGION",
                "AWS_PROFILE",
                "AWS_ENDPOINT_URL_KMS",
                "RUST_LOG",
            ][..],
        ),
        ("inspect", &["RUST_LOG"][..]),
    ] {
        let out = dasp_clean(&[command, "--help"], &[]);
        assert!(out.status.success());
        let help = String::from_utf8(out.stdout).unwrap();
        for needle in variables
            .iter()
            .chain(&["Environment:", "Exit codes:", "Example:", "dasp "])
        {
            assert!(help.contains(needle), "{command} --help lacks {needle}");
        }
    }
    let help = String::from_utf8(dasp_clean(&["transform", "--help"], &[]).stdout).unwrap();
    assert!(
        help.contains("TESTING AID"),
        "--data-keys says it is for test data"
    );
}

#[test]
fn version_names_the_git_commit() {
    let out = dasp_clean(&["--version"], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    let commit = text
        .trim()
        .strip_prefix(concat!("dasp ", env!("CARGO_PKG_VERSION"), " (commit "))
        .and_then(|rest| rest.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        commit == "unknown" || (commit.len() >= 7 && commit.chars().all(|c| c.is_ascii_hexdigit())),
        "{text}"
    );
}

#[test]
fn install_assets_writes_man_pages_and_completions_from_the_clap_definitions() {
    let dir = scratch("assets");
    let (man, completions) = (dir.join("man/man1"), dir.join("completions"));
    let out = dasp_clean(
        &[
            "install-assets",
            "--man-dir",
            man.to_str().unwrap(),
            "--completions-dir",
            completions.to_str().unwrap(),
        ],
        &[],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let page = std::fs::read_to_string(man.join("dasp-transform.1")).unwrap();
    assert!(
        page.contains("DASP_RESOURCE_ID") && page.contains("data\\-keys"),
        "{page}"
    );
    assert!(man.join("dasp.1").is_file() && man.join("dasp-inspect.1").is_file());
    assert!(
        !man.join("dasp-install-assets.1").exists(),
        "the hidden command has no page"
    );
    for file in ["dasp.bash", "_dasp", "dasp.fish"] {
        let text = std::fs::read_to_string(completions.join(file)).unwrap();
        assert!(text.contains("transform") && text.contains("s3-layout"), "{file}");
        assert!(
            !text.contains("install-assets"),
            "{file} completes the hidden command"
        );
    }
}
