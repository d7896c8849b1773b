//! Hostile payloads inside valid encryption, and hostile Firehose events. Records are encrypted
//! by the test encryptor (`seal.rs`, checked byte for byte against the official SDK) under the
//! Aurora PostgreSQL fixture database's test-only data key (tests/fixtures/firehose/keys.json),
//! and run through the whole handler; lines are read back as Firehose delivers them, by
//! serde_json and, where it matters, by Python's `json` module.

use crate::handler::{FixtureKeys, b64, event, lines, now, records, response_of, run, truth};
use crate::regression::assert_scales_linearly;
use crate::seal::seal;
use base64::Engine as _;
use das_partitioner::config::Config;
use das_partitioner::handler::{Handler, Invocation};
use das_partitioner::ingest::envelope::key_blob_at_end;
use das_partitioner::ingest::{FirehoseEvent, FirehoseRecord};
use das_partitioner::limits::MAX_JSON_DEPTH;
use das_partitioner::output::line::ADDED_FIELDS;
use flate2::{Compression, write::GzEncoder};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::io::Write;
use std::process::{Command, Stdio};

/// Runs a future on a tokio runtime with timers (the handler's KMS retries need them).
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

const RESOURCE: &str = "cluster-HUIGSB4XNBWEKXFIOA7H7VOFGL";

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// The fixture database's KMS blob (base64) and the test-only data key it stands for.
fn test_key() -> (String, [u8; 32]) {
    let keys: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(crate::handler::dir().join("keys.json")).unwrap())
            .unwrap();
    let entry = keys.iter().find(|k| k["resourceId"] == RESOURCE).unwrap();
    let key = b64(entry["plaintext"].as_str().unwrap()).try_into().unwrap();
    (entry["blob"].as_str().unwrap().to_string(), key)
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A DAS payload holding `events` (raw JSON texts).
fn payload(events: &[&str]) -> Vec<u8> {
    format!(
        r#"{{"type":"DatabaseActivityMonitoringRecord","clusterId":"{RESOURCE}","instanceId":"db-HOSTILE","databaseActivityEventList":[{}]}}"#,
        events.join(",")
    )
    .into_bytes()
}

/// The base64 `data` of a Kinesis record carrying `plaintext` (gzipped and sealed).
fn data_for(plaintext: &[u8], version: &str) -> String {
    let (blob, key) = test_key();
    let message = seal(&gzip(plaintext), &key);
    let envelope = format!(
        r#"{{"type":"DatabaseActivityMonitoringRecords","version":{version},"databaseActivityEvents":"{}","key":"{blob}"}}"#,
        base64(&message)
    );
    base64(envelope.as_bytes())
}

/// A Firehose invocation with one record per payload (dasVersion "1.2").
fn invocation(payloads: &[Vec<u8>]) -> Value {
    let records: Vec<Value> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({
                "recordId": format!("record-{i}"),
                "approximateArrivalTimestamp": 1_767_261_600_000_i64, // 2026-01-01T10:00:00Z
                "data": data_for(p, r#""1.2""#),
                "kinesisRecordMetadata": {"sequenceNumber": format!("{}", 1000 + i), "subsequenceNumber": 0,
                    "shardId": "shardId-000000000000", "partitionKey": "p"},
            })
        })
        .collect();
    json!({
        "invocationId": "hostile",
        "sourceKinesisStreamArn": format!("arn:aws:kinesis:us-east-1:123456789012:stream/aws-rds-das-{RESOURCE}"),
        "region": "us-east-1",
        "records": records,
    })
}

struct Ran {
    invocation: Invocation,
    response: Value,
}

/// The Firehose event as the handler reads it from `event`'s JSON text.
fn parsed(event: &Value) -> FirehoseEvent<'static> {
    serde_json::from_str::<FirehoseEvent>(&event.to_string())
        .unwrap()
        .into_owned()
}

fn handle_with(event: &Value, config: Config) -> Ran {
    let ev = parsed(event);
    let invocation = block_on(Handler::new(config, FixtureKeys::load()).handle(&ev, now())).unwrap();
    let response = response_of(&invocation, &ev);
    Ran { invocation, response }
}

fn handle(event: &Value) -> Ran {
    handle_with(event, Config::default())
}

impl Ran {
    fn result(&self, i: usize) -> &str {
        records(&self.response)[i]["result"].as_str().unwrap()
    }

    fn label(&self, i: usize) -> Option<&'static str> {
        self.invocation.outcomes[i].error().map(|e| e.label())
    }

    /// The delivered text of record `i`.
    fn text(&self, i: usize) -> String {
        String::from_utf8(b64(records(&self.response)[i]["data"].as_str().unwrap())).unwrap()
    }
}

/// Every top-level (key, value) pair of a JSON object, duplicates included, in order.
fn pairs(line: &str) -> Vec<(String, Value)> {
    struct Pairs;
    impl<'de> Visitor<'de> for Pairs {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    serde_json::Deserializer::from_str(line)
        .deserialize_map(Pairs)
        .unwrap()
}

/// What Python's json module reads: for each line of `text` as `str.splitlines` cuts it, the
/// number of top-level pairs (duplicates included), and the value of `field` as JSON.
fn python_reads(text: &str, field: &str) -> Vec<(usize, String)> {
    let script = "import sys, json\n\
        text = sys.stdin.buffer.read().decode('utf-8')\n\
        for line in text.splitlines():\n\
        \x20   pairs = json.loads(line, object_pairs_hook=lambda p: p)\n\
        \x20   value = dict(pairs).get(sys.argv[1])\n\
        \x20   print(len(pairs), json.dumps(value, ensure_ascii=True))\n";
    let mut child = Command::new("python3")
        .args(["-c", script, field])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed by the hostile tests");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python could not read the lines: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (n, v) = l.split_once(' ').unwrap();
            (n.parse().unwrap(), v.to_string())
        })
        .collect()
}

const PG_SELECT: &str = r#"{"class":"READ","clientApplication":"psql","command":"SELECT","commandText":"select 1","databaseName":"postgres","dbProtocol":"Postgres 3.0","dbUserName":"alice","errorMessage":null,"exitCode":null,"logTime":"2026-01-01 10:05:00.000000+00","serverType":"PostgreSQL","serviceName":"Amazon Aurora PostgreSQL-Compatible edition","statementId":1,"substatementId":1,"type":"record"}"#;

// ---- 1. keys the output adds, and duplicate keys ----

#[test]
fn an_events_own_added_keys_are_kept_renamed_and_ours_are_the_only_ones() {
    let event = r#"{"type":"record","serverType":"PostgreSQL","command":"SELECT","commandText":"select 1","logTime":"2026-01-01 10:05:00+00",
        "activityClass":"DDL","eventId":"forged","clusterId":{"x":1},"instanceId":null,"dasVersion":"9.9","source_eventId":"already here"}"#;
    let ran = handle(&invocation(&[payload(&[event])]));
    assert_eq!(ran.result(0), "Ok");
    let text = ran.text(0);
    let got = pairs(text.trim_end());
    for field in ADDED_FIELDS {
        assert_eq!(
            got.iter().filter(|(k, _)| k == field).count(),
            1,
            "{field}: {text}"
        );
    }
    let get = |k: &str| got.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
    assert_eq!(get("activityClass"), Some(json!("READ")));
    assert_eq!(get("eventId"), Some(json!("1000-0-0")));
    assert_eq!(get("dasVersion"), Some(json!("1.2")));
    assert_eq!(get("source_activityClass"), Some(json!("DDL")));
    assert_eq!(get("source_eventId"), Some(json!("already here")));
    assert_eq!(get("source_source_eventId"), Some(json!("forged")));
    assert_eq!(get("source_clusterId"), Some(json!({"x": 1})));
    assert_eq!(get("source_instanceId"), Some(Value::Null));
    assert_eq!(get("source_dasVersion"), Some(json!("9.9")));
    // Nothing lost: the event's 11 keys and our 5.
    assert_eq!(got.len(), 16);
    assert_eq!(python_reads(&text, "eventId"), [(16, "\"1000-0-0\"".to_string())]);
}

#[test]
fn duplicate_keys_inside_an_event_are_all_kept_in_a_line_serde_json_and_python_read() {
    let event = r#"{"type":"record","serverType":"PostgreSQL","command":"SELECT","commandText":"select 1","x":1,"x":2,"nested":{"y":1,"y":[2]}}"#;
    let ran = handle(&invocation(&[payload(&[event])]));
    assert_eq!(ran.result(0), "Ok");
    let text = ran.text(0);
    assert!(
        text.starts_with(event.strip_suffix('}').unwrap()),
        "kept verbatim: {text}"
    );
    let row: Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(row["x"], 2);
    assert_eq!(pairs(text.trim_end()).iter().filter(|(k, _)| k == "x").count(), 2);
    assert_eq!(python_reads(&text, "x"), [(12, "2".to_string())]);
}

// ---- 2. text the classifier reads, odd characters, layout ----

/// `event` with `insert` added at the end of its commandText string.
fn with_command_text_suffix(event: &str, insert: &str) -> String {
    let start = event.find(r#""commandText":""#).unwrap() + r#""commandText":""#.len();
    let bytes = event.as_bytes();
    let mut end = start;
    while !(bytes[end] == b'"' && bytes[end - 1] != b'\\') {
        end += 1;
    }
    format!("{}{insert}{}", &event[..end], &event[end..])
}

#[test]
fn a_lone_surrogate_in_classified_text_keeps_the_event_verbatim_and_classified() {
    let truth = truth();
    for engine in ["sqlserver", "postgresql", "mysql", "oracle"] {
        let t = truth
            .iter()
            .find(|t| t.engine == engine && t.class.as_deref() == Some("DDL"))
            .unwrap();
        let original = t.event_text.as_deref().unwrap();
        let event = with_command_text_suffix(original, r" \ud800 \udc00x");
        let ran = handle(&invocation(&[payload(&[&event])]));
        assert_eq!(ran.result(0), "Ok", "{engine}: {:?}", ran.label(0));
        let text = ran.text(0);
        assert!(
            text.starts_with(event.strip_suffix('}').unwrap()),
            "{engine}: not verbatim"
        );
        let read = python_reads(&text, "activityClass");
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].1, "\"DDL\"", "{engine}");
    }
}

/// Found by the `record` fuzz target: a number beyond a double's range is valid JSON (RFC 8259
/// leaves the range to the reader) and the event keeps it as the database wrote it; Python reads
/// the line (as `inf`), serde_json's maps refuse it, and neither may cost the event its line.
#[test]
fn numbers_beyond_a_doubles_range_are_kept_verbatim_in_a_valid_line() {
    let event = PG_SELECT.replace(
        r#""statementId":1"#,
        r#""statementId":5001e887,"rowCount":-1e-999"#,
    );
    let ran = handle(&invocation(&[payload(&[&event])]));
    assert_eq!(ran.result(0), "Ok", "{:?}", ran.label(0));
    let text = ran.text(0);
    assert!(
        text.starts_with(event.strip_suffix('}').unwrap()),
        "not verbatim: {text}"
    );
    let read = python_reads(&text, "activityClass");
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].1, "\"READ\"");
    serde_json::from_str::<serde::de::IgnoredAny>(text.trim_end()).unwrap();
}

#[test]
fn nul_line_separators_and_a_byte_order_mark_keep_records_ok_and_lines_whole() {
    let events = [
        r#"{"type":"record","serverType":"PostgreSQL","command":"SELECT","commandText":"select '\u0000' -- \u2028 \u2029"}"#,
        "{\"type\":\"record\",\"serverType\":\"PostgreSQL\",\"command\":\"SELECT\",\"commandText\":\"select 1 -- raw \u{2028} and \u{2029} and \u{85}\"}",
    ];
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(payload(&events));
    let ran = handle(&invocation(&[bom]));
    assert_eq!(ran.result(0), "Ok", "{:?}", ran.label(0));
    let text = ran.text(0);
    let read = python_reads(&text, "commandText");
    assert_eq!(read.len(), 2, "python's splitlines sees two lines: {text:?}");
    assert_eq!(read[0].1, r#""select '\u0000' -- \u2028 \u2029""#);
    assert_eq!(read[1].1, r#""select 1 -- raw \u2028 and \u2029 and \u0085""#);
    for line in text.lines() {
        assert_eq!(
            serde_json::from_str::<Value>(line).unwrap()["activityClass"],
            "READ"
        );
    }
}

#[test]
fn pretty_printed_payloads_and_events_give_one_valid_line_per_event_with_every_field() {
    let event: Value = serde_json::from_str(PG_SELECT).unwrap();
    let pretty = serde_json::to_string_pretty(&json!({
        "type": "DatabaseActivityMonitoringRecord", "clusterId": RESOURCE, "instanceId": "db-1",
        "databaseActivityEventList": [event, {"type": "record", "command": "SELECT", "nested": {"a": [1, {"b": "x\ny"}]}}],
    }))
    .unwrap()
    .replace('\n', "\r\n");
    let ran = handle(&invocation(&[pretty.into_bytes()]));
    assert_eq!(ran.result(0), "Ok");
    let text = ran.text(0);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let first: Value = serde_json::from_str(lines[0]).unwrap();
    for (k, v) in event.as_object().unwrap() {
        assert_eq!(&first[k], v, "{k}");
    }
    let second: Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(second["nested"]["a"][1]["b"], "x\ny");
}

// ---- 3. depth ----

fn nested_event(depth: usize) -> String {
    format!(
        r#"{{"type":"record","command":"SELECT","x":{}{}}}"#,
        "[".repeat(depth - 1),
        "]".repeat(depth - 1)
    )
}

#[test]
fn events_nested_deeper_than_max_json_depth_fail_their_record_alone() {
    let ran = handle(&invocation(&[
        payload(&[&nested_event(MAX_JSON_DEPTH)]),
        payload(&[PG_SELECT, &nested_event(MAX_JSON_DEPTH + 1)]),
        payload(&[&nested_event(100_000)]),
        payload(&[&nested_event(1_000_000)]),
        payload(&[PG_SELECT]),
    ]));
    assert_eq!(ran.result(0), "Ok");
    let line = ran.text(0);
    serde_json::from_str::<Value>(line.trim_end()).unwrap();
    assert_eq!(python_reads(&line, "command").len(), 1);
    for i in 1..=3 {
        assert_eq!(ran.result(i), "ProcessingFailed", "{i}");
        assert_eq!(ran.label(i), Some("event_too_deep"), "{i}");
    }
    assert_eq!(ran.result(4), "Ok");
}

#[test]
fn deep_nesting_anywhere_in_a_record_or_the_invocation_never_overflows_the_stack() {
    let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
    for n in [100_000, 1_000_000] {
        // In the payload, outside the events: skipped.
        let p = format!(
            r#"{{"type":"DatabaseActivityMonitoringRecord","extra":{},"databaseActivityEventList":[{PG_SELECT}]}}"#,
            deep(n)
        );
        // Inside the envelope, in an unknown field and as the version.
        let (blob, key) = test_key();
        let message = base64(&seal(&gzip(&payload(&[PG_SELECT])), &key));
        let envelope = |extra: &str, version: &str| {
            base64(
                format!(
                    r#"{{"type":"DatabaseActivityMonitoringRecords","version":{version},"extra":{extra},"databaseActivityEvents":"{message}","key":"{blob}"}}"#
                )
                .as_bytes(),
            )
        };
        let mut ev = invocation(&[p.into_bytes()]);
        let recs = ev["records"].as_array_mut().unwrap();
        let template = recs[0].clone();
        for (id, data) in [
            ("envelope-extra", envelope(&deep(n), r#""1.2""#)),
            ("envelope-version", envelope("1", &deep(n))),
        ] {
            let mut r = template.clone();
            r["recordId"] = json!(id);
            r["data"] = json!(data);
            recs.push(r);
        }
        // In the Firehose event: as data, as metadata, as a top-level field.
        let text = ev.to_string();
        let text = text.replacen(
            r#""records":["#,
            &format!(
                r#""deep":{d},"records":[{{"recordId":"deep-data","data":{d},"kinesisRecordMetadata":{d},"approximateArrivalTimestamp":{d}}},"#,
                d = deep(n)
            ),
            1,
        );
        let parsed: FirehoseEvent = serde_json::from_str(&text).unwrap();
        let inv =
            block_on(Handler::new(Config::default(), FixtureKeys::load()).handle(&parsed, now())).unwrap();
        let labels: Vec<Option<&str>> = inv
            .outcomes
            .iter()
            .map(|o| o.error().map(|e| e.label()))
            .collect();
        // 1,000,000 levels in the envelope put the record over its data cap before any parse.
        let envelope_labels = if n == 100_000 {
            [None, Some("envelope_invalid_version")]
        } else {
            [Some("envelope_field_size"); 2]
        };
        assert_eq!(labels[..2], [Some("data_missing"), None], "{n}");
        assert_eq!(labels[2..], envelope_labels, "{n}");
    }
}

// ---- 4. dasVersion ----

#[test]
fn a_das_version_outside_its_shape_fails_the_record_with_a_stable_label() {
    let mut ev = invocation(&[
        payload(&[PG_SELECT]),
        payload(&[PG_SELECT]),
        payload(&[PG_SELECT]),
    ]);
    let p = payload(&[PG_SELECT]);
    ev["records"][1]["data"] = json!(data_for(&p, &format!("\"{}\"", "1".repeat(17))));
    ev["records"][2]["data"] = json!(data_for(&p, r#""1.2\",\"activityClass\":\"x""#));
    let ran = handle(&ev);
    assert_eq!(ran.result(0), "Ok");
    let row: Value = serde_json::from_str(ran.text(0).trim_end()).unwrap();
    assert_eq!(row["dasVersion"], "1.2");
    for i in [1, 2] {
        assert_eq!(ran.result(i), "ProcessingFailed");
        assert_eq!(ran.label(i), Some("envelope_invalid_version"));
    }
}

// ---- 5. size ----

fn event_with_text(len: usize) -> String {
    format!(
        r#"{{"type":"record","serverType":"PostgreSQL","command":"SELECT","commandText":"select '{}'"}}"#,
        "a".repeat(len)
    )
}

#[test]
fn a_10_mb_string_is_delivered_whole_under_a_large_budget_and_fails_as_over_budget_otherwise() {
    let p = payload(&[&event_with_text(10 * 1024 * 1024)]);
    let ran = handle(&invocation(std::slice::from_ref(&p)));
    assert_eq!(ran.result(0), "ProcessingFailed");
    assert_eq!(ran.label(0), Some("over_response_budget"));
    let mut config = Config::default();
    config.limits.response_budget_bytes = 64 * 1024 * 1024;
    let ran = handle_with(&invocation(&[p]), config);
    assert_eq!(ran.result(0), "Ok");
    let row: Value = serde_json::from_str(ran.text(0).trim_end()).unwrap();
    assert_eq!(row["commandText"].as_str().unwrap().len(), 10 * 1024 * 1024 + 9);
    assert_eq!(row["activityClass"], "READ");
}

#[test]
fn long_strings_and_many_events_take_linear_time() {
    let mut config = Config::default();
    config.limits.response_budget_bytes = 64 * 1024 * 1024;
    let handler = Handler::new(config, FixtureKeys::load());
    let run = |ev: &FirehoseEvent, want_lines: usize| {
        let inv = block_on(handler.handle(ev, now())).unwrap();
        assert_eq!(inv.metrics.events.events(), want_lines);
    };
    let strings = |n: usize| parsed(&invocation(&[payload(&[&event_with_text(n)])]));
    let (s1, s10) = (strings(1_000_000), strings(10_000_000));
    assert_scales_linearly("string length, 1 MB / 10 MB", 3, || run(&s1, 1), || run(&s10, 1));
    let many = |n: usize| invocation(&[payload(&vec![PG_SELECT; n])]);
    let large = many(50_000);
    let (e5k, e50k) = (parsed(&many(5_000)), parsed(&large));
    assert_scales_linearly(
        "events in one record, 5,000 / 50,000",
        3,
        || run(&e5k, 5_000),
        || run(&e50k, 50_000),
    );
    let ran = handle_with(&large, {
        let mut c = Config::default();
        c.limits.response_budget_bytes = 64 * 1024 * 1024;
        c
    });
    let ids: HashSet<String> = ran
        .text(0)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["eventId"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 50_000);
}

#[test]
fn a_long_cluster_id_is_not_repeated_into_every_line() {
    let p = format!(
        r#"{{"type":"DatabaseActivityMonitoringRecord","clusterId":"{}","instanceId":"db-1","databaseActivityEventList":[{}]}}"#,
        "c".repeat(1024 * 1024),
        vec![PG_SELECT; 1000].join(",")
    );
    let ran = handle(&invocation(&[p.into_bytes()]));
    assert_eq!(ran.result(0), "ProcessingFailed");
    assert_eq!(ran.label(0), Some("payload_id_too_long"));
}

// ---- 6. the Firehose event ----

#[test]
fn a_wrong_typed_optional_firehose_field_fails_no_other_record_and_not_the_batch() {
    let baseline = block_on(run("postgresql", Config::default()));
    let mut ev: Value = serde_json::from_slice(
        &std::fs::read(crate::handler::dir().join("events/postgresql-1.json")).unwrap(),
    )
    .unwrap();
    ev["invocationId"] = json!(5);
    ev["deliveryStreamArn"] = json!(["x"]);
    ev["region"] = json!({"a": 1});
    ev["records"][0]["kinesisRecordMetadata"] = json!("x");
    ev["records"][1]["approximateArrivalTimestamp"] = json!("x");
    ev["records"][2]["kinesisRecordMetadata"] = json!({"sequenceNumber": {"a": 1}, "subsequenceNumber": [1]});
    ev["records"][3]["data"] = json!(42);
    let ran = handle(&ev);
    let want: Vec<&str> = crate::handler::results(&baseline.response);
    for (i, want) in want.iter().enumerate() {
        if i == 3 {
            assert_eq!(ran.result(i), "ProcessingFailed");
            assert_eq!(ran.label(i), Some("data_missing"));
        } else {
            assert_eq!(ran.result(i), *want, "record {i}");
        }
    }
}

#[test]
fn envelope_errors_name_the_field() {
    let mut ev = invocation(&[payload(&[PG_SELECT])]);
    ev["records"][0]["data"] = json!(base64(
        br#"{"type":"DatabaseActivityMonitoringRecords","key":"AQID"}"#
    ));
    let ran = handle(&ev);
    let err = ran.invocation.outcomes[0].error().unwrap();
    assert_eq!(err.label(), "envelope_field_missing");
    assert_eq!(
        err.to_string(),
        r#"envelope field "databaseActivityEvents" is missing"#
    );
}

#[test]
fn an_envelope_wrong_before_the_key_it_ends_with_fails_alone_with_its_own_error() {
    // Step 1 reads this record's key from the end of its data, as it reads that of every
    // envelope DAS writes; the record still fails where its envelope is read whole, with the
    // error of that reading, and the record beside it is delivered.
    let (blob, _) = test_key();
    let long = "AQID".repeat(400);
    // A blob no data key is known for: its key fails to resolve, and the record still fails
    // with its envelope's error, the one it had before any key was looked at.
    let unknown = base64(b"no data key is known for this blob");
    let cases: [(String, &str); 5] = [
        (
            format!(r#"{{"type":"Other","databaseActivityEvents":"AQID","key":"{unknown}"}}"#),
            "envelope_unknown_type",
        ),
        (
            format!(r#"{{"type":"Other","databaseActivityEvents":"AQID","key":"{blob}"}}"#),
            "envelope_unknown_type",
        ),
        (
            format!(
                r#"{{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"!!","key":"{blob}"}}"#
            ),
            "envelope_field_not_base64",
        ),
        (
            format!(
                r#"{{"type":"DatabaseActivityMonitoringRecords","version":7,"databaseActivityEvents":"AQID","key":"{blob}"}}"#
            ),
            "envelope_invalid_version",
        ),
        // Base64 that breaks before the last 1,024 characters, which alone are read for the key.
        (
            format!(
                r#"{{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"{long}","key":"{blob}"}}"#
            ),
            "data_not_base64",
        ),
    ];
    for (envelope, label) in cases {
        let mut data = base64(envelope.as_bytes());
        if label == "data_not_base64" {
            data.replace_range(..4, "!!!!");
        }
        assert!(key_blob_at_end(&data).is_some(), "{envelope}");
        let mut ev = invocation(&[payload(&[PG_SELECT]), payload(&[PG_SELECT])]);
        ev["records"][0]["data"] = json!(data);
        let ran = handle(&ev);
        assert_eq!((ran.result(0), ran.label(0)), ("ProcessingFailed", Some(label)));
        assert_eq!(ran.result(1), "Ok", "{label}");
    }
}

fn event_ids(ran: &crate::handler::Run) -> Vec<String> {
    let mut ids: Vec<String> = lines(&ran.response).into_keys().collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn records_sharing_a_sequence_number_or_lacking_metadata_get_distinct_stable_event_ids() {
    let baseline = run("postgresql", Config::default()).await;
    let delivered = lines(&baseline.response).len();
    let base: FirehoseEvent = event("postgresql");
    type Change = fn(usize, &mut FirehoseRecord);
    let variants: [(&str, Change); 3] = [
        ("same sequence number", |_, r| {
            let m = r.kinesis_record_metadata.as_mut().unwrap();
            m.sequence_number = Some(json!("7"));
            m.subsequence_number = Some(json!(0));
        }),
        ("no metadata", |_, r| r.kinesis_record_metadata = None),
        ("no metadata, one recordId", |_, r| {
            r.kinesis_record_metadata = None;
            r.record_id = "same".into();
        }),
    ];
    for (what, change) in variants {
        let mut ev = base.clone();
        for (i, r) in ev.records.iter_mut().enumerate() {
            change(i, r);
        }
        let handler = Handler::new(Config::default(), FixtureKeys::load());
        let mut runs = Vec::new();
        for _ in 0..2 {
            let invocation = handler.handle(&ev, now()).await.unwrap();
            let response = response_of(&invocation, &ev);
            // `lines` fails on a duplicate eventId.
            runs.push(event_ids(&crate::handler::Run { invocation, response }));
        }
        assert_eq!(runs[0].len(), delivered, "{what}");
        assert_eq!(runs[0], runs[1], "{what}: a retry of the batch gets the same ids");
    }
    // The first record with a given sequence number keeps the documented form.
    let mut ev = base.clone();
    for r in &mut ev.records {
        r.kinesis_record_metadata.as_mut().unwrap().sequence_number = Some(json!("7"));
        r.kinesis_record_metadata.as_mut().unwrap().subsequence_number = Some(json!(0));
    }
    let prefixes = das_partitioner::ingest::event_id_prefixes(&ev.records);
    assert_eq!(prefixes[0], "7-0");
    assert_eq!(prefixes[1], ev.records[1].record_id);
}

#[test]
fn extreme_event_and_arrival_times_fall_back_to_a_four_digit_partition_year() {
    let at = |t: &str| {
        format!(
            r#"{{"type":"record","serverType":"PostgreSQL","command":"SELECT","commandText":"select 1","logTime":"{t}"}}"#
        )
    };
    let times = [
        "0000-01-01 00:00:00+00",
        "-0001-06-01 00:00:00+00",
        "+10000-01-01 00:00:00+00",
        "1969-12-31 23:59:59+00",
    ];
    let payloads: Vec<Vec<u8>> = times.iter().map(|t| payload(&[&at(t)])).collect();
    let mut ev = invocation(&payloads);
    // The last one also has an arrival time in year 33,658: the invocation's clock is used.
    ev["records"][3]["approximateArrivalTimestamp"] = json!(1_000_000_000_000_000_i64);
    let ran = handle(&ev);
    for (i, t) in times.iter().enumerate() {
        assert_eq!(ran.result(i), "Ok", "{t}");
        let keys = &records(&ran.response)[i]["metadata"]["partitionKeys"];
        let want = if i == 3 {
            ("2026", "06", "01", "00")
        } else {
            ("2026", "01", "01", "10")
        };
        assert_eq!(
            (
                keys["year"].as_str().unwrap(),
                keys["month"].as_str().unwrap(),
                keys["day"].as_str().unwrap(),
                keys["hour"].as_str().unwrap()
            ),
            want,
            "{t}"
        );
        // The event keeps its own time.
        let row: Value = serde_json::from_str(ran.text(i).trim_end()).unwrap();
        assert_eq!(row["logTime"], *t);
    }
}
