//! One test per fixed defect, named after the rule the defect broke. Each fails on the code
//! before its fix.

use crate::handler::{FixtureKeys, SuffixKeys, b64, event, lines, now, response_of, run, split_keys};
use das_partitioner::cli::s3_layout;
use das_partitioner::config::Config;
use das_partitioner::error::RecordError;
use das_partitioner::esdk::WrappingKey;
use das_partitioner::esdk::{self, EsdkError};
use das_partitioner::handler::{self, Handler};
use das_partitioner::ingest::{FirehoseEvent, FirehoseRecord};
use das_partitioner::keys::kms::classify_service_code;
use das_partitioner::keys::{
    DataKeyCache, DataKeySource, KeyContext, KeyError, KeyErrorKind, Resolved, RetryPolicy,
};
use das_partitioner::output::Outcome;
use std::num::NonZeroUsize;
use std::time::{Duration, Instant};

/// The fastest of `runs` timings of `f` (the machine is shared: the minimum is the signal).
pub fn fastest(runs: usize, mut f: impl FnMut()) -> Duration {
    (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// Asserts that 10x the input costs at most 20x the time: linear work passes with room to
/// spare, quadratic work (100x) fails. `small` and `large` each run the work once, on the input
/// and on 10x it; they run in turns, `runs` times each, and the fastest of each is compared, so
/// that load which starts or stops during the test falls on both sizes alike (all the small
/// runs first, then all the large ones, once put a change of load between the two).
pub fn assert_scales_linearly(what: &str, runs: usize, mut small: impl FnMut(), mut large: impl FnMut()) {
    let (mut t_small, mut t_large) = (Duration::MAX, Duration::MAX);
    for _ in 0..runs {
        t_small = t_small.min(fastest(1, &mut small));
        t_large = t_large.min(fastest(1, &mut large));
    }
    let ratio = t_large.as_secs_f64() / t_small.as_secs_f64().max(1e-9);
    let report = format!("{what}: 10x the input took {ratio:.1}x the time ({t_small:?} → {t_large:?})");
    eprintln!("{report}");
    assert!(ratio <= 20.0, "{report}");
}

/// Metrics were counted before the budget demoted records: with a 64 KiB budget on the MySQL
/// fixture they reported 106 events while 46 lines were delivered.
#[tokio::test]
async fn metrics_of_a_budget_limited_invocation_equal_the_delivered_lines() {
    let mut config = Config::default();
    config.limits.response_budget_bytes = 65_536;
    let run = run("mysql", config).await;
    let delivered = lines(&run.response).len();
    let m = &run.invocation.metrics;
    assert!(
        m.records_failed > 0,
        "the budget must demote some records for this test to mean anything"
    );
    assert_eq!(m.events.events(), delivered);
    let ok = run.response["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["result"] == "Ok")
        .count();
    assert_eq!(m.records_ok, ok);
}

/// The header's encryption context was checked for duplicate keys by a linear scan over an
/// uncapped, sender-controlled pair count: a 64 KB context of ~9,000 pairs took ~145 ms.
#[test]
fn rejects_a_64_kb_encryption_context_in_well_under_a_millisecond() {
    let mut context = Vec::new();
    let chars: Vec<u8> = (b'!'..=b'~').collect();
    let mut pairs = 0u16;
    'fill: for a in &chars {
        for b in &chars {
            for c in &chars {
                if context.len() + 7 > 65_533 {
                    break 'fill;
                }
                context.extend([0, 3, *a, *b, *c, 0, 0]);
                pairs += 1;
            }
        }
    }
    let mut message = vec![1, 0x80, 0x01, 0x78];
    message.extend([7u8; 16]);
    message.extend(u16::try_from(context.len() + 2).unwrap().to_be_bytes());
    message.extend(pairs.to_be_bytes());
    message.extend(&context);
    message.extend([0u8; 64]);
    let mut result = None;
    let took = fastest(5, || result = Some(esdk::parse(&message).map(|_| ())));
    assert_eq!(
        result.unwrap().unwrap_err(),
        EsdkError::TooLarge("encryption context pair count")
    );
    eprintln!(
        "a {} KB context of {pairs} pairs rejected in {took:?}",
        context.len() / 1024
    );
    assert!(took < Duration::from_micros(1_000), "took {took:?}");
}

/// A key missing from the invocation's resolved keys was reported as `NoResourceId`, which
/// sends the operator to fix a configuration that is not wrong.
#[test]
fn a_data_key_missing_from_the_resolved_keys_is_not_reported_as_no_resource_id() {
    let err = handler::key_for(&Resolved::default(), b"blob").unwrap_err();
    assert_eq!(err, RecordError::KeyNotResolved);
    assert_eq!(err.label(), "key_not_resolved");
}

/// A missing resource id failed every record with the same log line (40 times for a batch of
/// 40) and the invocation succeeded: it is one invocation-level error naming the fix.
#[tokio::test]
async fn a_missing_resource_id_is_one_invocation_level_error() {
    let mut ev = event("postgresql");
    ev.source_kinesis_stream_arn = Some("arn:aws:kinesis:us-east-1:1:stream/not-das".into());
    let err = Handler::new(Config::default(), FixtureKeys::load())
        .handle(&ev, now())
        .await
        .unwrap_err();
    assert!(matches!(err, handler::InvocationError::NoResourceId { .. }));
    assert!(err.to_string().contains("DASP_RESOURCE_ID"), "{err}");
}

fn bad_records(n: usize) -> FirehoseEvent<'static> {
    let mut ev = event("postgresql");
    ev.records = (0..n)
        .map(|i| FirehoseRecord {
            record_id: format!("record-{i:08}").into(),
            data: Some("not base64!".into()),
            ..FirehoseRecord::default()
        })
        .collect();
    ev
}

/// The failure list was ordered by searching each failed recordId among the records:
/// records × failures work on an invocation of bad records.
#[tokio::test]
async fn an_invocation_of_failed_records_takes_linear_time() {
    let handler = Handler::new(Config::default(), FixtureKeys::load());
    let (small, large) = (bad_records(1_000), bad_records(10_000));
    let run = |ev: &FirehoseEvent| {
        let inv = futures::executor::block_on(handler.handle(ev, now())).unwrap();
        assert_eq!(inv.failures().count(), ev.records.len());
    };
    // Five turns: with three, and every small run before every large one, it once failed while
    // a second build shared the machine.
    assert_scales_linearly("handler", 5, || run(&small), || run(&large));
}

/// The local S3 layout looked up each failed record's reason by a search over the failure
/// list: quadratic in failed records.
#[test]
fn the_s3_layout_of_failed_records_takes_linear_time() {
    let layout = |n: usize| {
        let ev = bad_records(n);
        let outcomes: Vec<Outcome> = (0..n)
            .map(|_| Outcome::Failed(RecordError::KeyNotResolved))
            .collect();
        move || {
            let objects = s3_layout::objects(&ev, &outcomes, now());
            assert_eq!(objects.len(), 1);
        }
    };
    assert_scales_linearly("s3 layout", 3, layout(2_000), layout(20_000));
}

/// A source that fails every key at once, so only the cache's own work is timed.
struct Refusing;

impl DataKeySource for Refusing {
    async fn decrypt_data_key(&self, _: &KeyContext, _: &[u8]) -> Result<WrappingKey, KeyError> {
        Err(KeyError::permanent("kms_access_denied", ""))
    }
}

/// The KMS cache deduplicated requests with a linear search over the pending list:
/// quadratic in distinct keys.
#[test]
fn resolving_distinct_data_keys_takes_linear_time() {
    let ctx = KeyContext::for_resource("db-1").unwrap();
    // Each key's attempt runs under a tokio timer (the attempt timeout).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let retry = RetryPolicy::default();
    let resolve = |n: u32| {
        let blobs: Vec<Vec<u8>> = (0..n).map(|i| i.to_be_bytes().repeat(50)).collect();
        let (runtime, ctx, retry) = (&runtime, &ctx, &retry);
        move || {
            let cache = DataKeyCache::new(NonZeroUsize::MIN, NonZeroUsize::new(64).unwrap());
            let stop_at = retry.stop_at(tokio::time::Instant::now(), None);
            let resolved = runtime.block_on(cache.resolve(
                &Refusing,
                ctx,
                blobs.iter().map(Vec::as_slice),
                retry,
                stop_at,
            ));
            assert_eq!(resolved.kms_calls, blobs.len());
        }
    };
    assert_scales_linearly("key cache", 3, resolve(2_000), resolve(20_000));
}

/// Sanity for the helpers above: a base64 record really is bad base64 to the handler.
#[test]
fn bad_records_fail_as_not_base64() {
    let ev = bad_records(1);
    let inv =
        futures::executor::block_on(Handler::new(Config::default(), FixtureKeys::load()).handle(&ev, now()))
            .unwrap();
    let response = response_of(&inv, &ev);
    assert_eq!(response["records"][0]["result"], "ProcessingFailed");
    assert_eq!(inv.failures().next().unwrap().1.label(), "data_not_base64");
    assert!(b64("e30K") == b"{}\n");
}

/// The invocation failed only when KMS failed transiently for every key: with one key
/// throttled and the others fine, that key's records went to processing-failed although a
/// retry of the batch would have delivered them. Any transiently unavailable key fails it.
#[tokio::test(start_paused = true)]
async fn fails_the_invocation_when_any_key_is_transiently_unavailable() {
    // Records 0..30 keep the fixture's key; 30..40 get a second key that stays throttled.
    let ev = split_keys(&event("oracle"), 30, "throttled");
    let source = SuffixKeys::new();
    let handler = Handler::new(Config::default(), source);
    let err = handler.handle(&ev, now()).await.unwrap_err();
    let handler::InvocationError::KmsUnavailable {
        label,
        keys,
        distinct_keys,
        records,
        ..
    } = &err
    else {
        panic!("unexpected {err}");
    };
    assert_eq!(
        (*label, *keys, *distinct_keys, *records),
        ("kms_throttled", 1, 2, 10),
        "{err}"
    );
    assert!(err.to_string().contains("10 of 40 records"), "{err}");
}

/// An HTTP error without a KMS error code (a proxy's or load balancer's page) was taken as
/// KMS rejecting the key unless its status was 5xx: every record of the key went to
/// processing-failed. Nothing about the key was decided: it is transient.
#[test]
fn an_http_error_without_a_kms_error_code_is_transient() {
    for status in [400, 403, 429] {
        let e = classify_service_code(None, Some(status), "HTTP without a code".into());
        assert_eq!(e.kind, KeyErrorKind::Transient, "{status}");
    }
}
