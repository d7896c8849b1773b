//! The one line `dasp transform` prints on standard error after an invocation, from the same
//! metrics the Lambda writes (themselves derived from the final outcomes).

use crate::classify::ActivityClass;
use crate::output::metrics::Metrics;

/// `1 record`, `2 records`, `0 records`.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    if n == 1 {
        format!("1 {singular}")
    } else {
        format!("{n} {plural}")
    }
}

/// E.g. `40 records: 31 Ok, 4 Dropped, 5 ProcessingFailed; events: 8 DDL, 16 DML, …;
/// 7 heartbeats dropped, 0 excluded events; 1 KMS call, 0 cache hits`. Classes with no event
/// are left out.
pub fn line(m: &Metrics) -> String {
    let records = m.records_ok + m.records_dropped + m.records_failed;
    let classes: Vec<String> = ActivityClass::ALL
        .into_iter()
        .filter(|c| m.events.of(*c) > 0)
        .map(|c| format!("{} {}", m.events.of(c), c.as_str()))
        .collect();
    let events = if classes.is_empty() {
        "no events kept".to_string()
    } else {
        format!(
            "{}: {}",
            count(m.events.events(), "event", "events"),
            classes.join(", ")
        )
    };
    format!(
        "{}: {} Ok, {} Dropped, {} ProcessingFailed; {events}; {} dropped, {}; {}, {}",
        count(records, "record", "records"),
        m.records_ok,
        m.records_dropped,
        m.records_failed,
        count(m.events.heartbeats, "heartbeat", "heartbeats"),
        count(m.events.excluded, "excluded event", "excluded events"),
        count(m.kms_calls, "KMS call", "KMS calls"),
        count(m.kms_cache_hits, "cache hit", "cache hits"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_with_correct_plurals() {
        let mut m = Metrics {
            records_ok: 1,
            kms_calls: 1,
            kms_cache_hits: 2,
            ..Metrics::default()
        };
        m.events.count(ActivityClass::Ddl);
        m.events.heartbeats = 1;
        assert_eq!(
            line(&m),
            "1 record: 1 Ok, 0 Dropped, 0 ProcessingFailed; 1 event: 1 DDL; 1 heartbeat dropped, \
             0 excluded events; 1 KMS call, 2 cache hits"
        );
        m.records_failed = 1;
        m.events.count(ActivityClass::Read);
        m.events.count(ActivityClass::Read);
        m.events.excluded = 1;
        m.kms_calls = 0;
        assert_eq!(
            line(&m),
            "2 records: 1 Ok, 0 Dropped, 1 ProcessingFailed; 3 events: 1 DDL, 2 READ; 1 heartbeat \
             dropped, 1 excluded event; 0 KMS calls, 2 cache hits"
        );
        assert!(
            line(&Metrics::default()).contains("0 records: ")
                && line(&Metrics::default()).contains("no events kept")
        );
    }
}
