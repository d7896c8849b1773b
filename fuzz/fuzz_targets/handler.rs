//! The whole handler on any Firehose invocation, data keys from the Firehose fixtures'
//! keys.json (the seeds are those invocations). Checks: one response record per input
//! recordId, in order; the serialized response within Firehose's limit; every Ok record's data
//! JSON lines with the added fields; the response as the Lambda and `dasp transform` write it,
//! entry by entry as outcomes come (`handle_into`, `ResponseWriter`), byte for byte serde's
//! serialization of the response `handle` returns, with the same metrics. An invocation-level
//! error is allowed (it fails the whole batch, which Firehose retries), a panic never. The
//! one-pass read of the invocation agrees with serde's wherever it takes it.
#![no_main]

use base64::Engine as _;
use chrono::{TimeZone, Utc};
use das_partitioner::cli::data_keys::FileDataKeys;
use das_partitioner::config::Config;
use das_partitioner::handler::Handler;
use das_partitioner::ingest::FirehoseEvent;
use das_partitioner::ingest::firehose::one_pass_disagreement;
use das_partitioner::limits::FIREHOSE_RESPONSE_LIMIT;
use das_partitioner::output::RecordResult;
use das_partitioner::output::response::ResponseWriter;
use fuzz_support::{FIREHOSE_KEYS, block_on, check_lines};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(difference) = one_pass_disagreement(data) {
        panic!("the one-pass read of the invocation disagrees with serde's: {difference}");
    }
    let Ok(event) = FirehoseEvent::from_json(data) else {
        return;
    };
    let handler = || {
        Handler::new(
            Config::default(),
            FileDataKeys::from_json(FIREHOSE_KEYS.as_bytes()).unwrap(),
        )
    };
    let now = Utc.with_ymd_and_hms(2026, 1, 1, 10, 0, 0).unwrap();
    // The path the Lambda and `dasp transform` take, on a handler of its own (the same KMS
    // calls, no cache hits from the other).
    let mut writer = ResponseWriter::new(Vec::new());
    let streamed = block_on(handler().handle_into(&event, now, None, &mut writer.sink(&event)));
    let Ok(invocation) = block_on(handler().handle(&event, now)) else {
        assert!(streamed.is_err(), "only the streamed invocation succeeded");
        return;
    };
    let streamed = streamed.expect("only the held invocation succeeded");
    assert_eq!(streamed.metrics, invocation.metrics);
    assert_eq!(invocation.outcomes.len(), event.records.len());
    let response = invocation.into_response(&event);
    assert_eq!(response.records.len(), event.records.len());
    for (out, input) in response.records.iter().zip(&event.records) {
        assert_eq!(out.record_id, input.record_id, "response records out of order");
        if out.result == RecordResult::Ok {
            check_lines(&out.data, None, None);
        }
    }
    let body = serde_json::to_vec(&response).unwrap();
    assert!(
        writer.finish().unwrap() == body,
        "the streamed response is not serde's"
    );
    assert!(
        body.len() <= FIREHOSE_RESPONSE_LIMIT,
        "response over Firehose's limit"
    );
    // Firehose reads `data` as base64 of the lines.
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap();
    for record in parsed["records"].as_array().unwrap() {
        let data = record["data"].as_str().unwrap();
        base64::engine::general_purpose::STANDARD.decode(data).unwrap();
    }
});
