//! Per-invocation counters, counted from the final outcomes (after the response budget) as
//! they are admitted, and written as one CloudWatch Embedded Metric Format log line.

use super::{EventStats, Outcome};
use crate::classify::ActivityClass;
use serde_json::{Map, Value, json};

/// Namespace of the metrics in CloudWatch.
pub const NAMESPACE: &str = "DasPartitioner";

/// Counters of one invocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    pub records_ok: usize,
    pub records_dropped: usize,
    pub records_failed: usize,
    /// Events of the delivered records (Ok and Dropped): per class, heartbeats, excluded.
    pub events: EventStats,
    /// KMS Decrypt requests sent, retries included.
    pub kms_calls: usize,
    /// Of those, retries of a transient fault.
    pub kms_retries: usize,
    pub kms_cache_hits: usize,
    /// Bytes of record data received (decoded from base64).
    pub bytes_in: usize,
    /// Bytes of record data returned (before base64).
    pub bytes_out: usize,
    /// The database the invocation's records belong to: a metric dimension, so that each
    /// stack's alarms see their own database only.
    pub resource_id: String,
}

/// What the data-key stage did, for the metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KeyStats {
    pub kms_calls: usize,
    pub kms_retries: usize,
    pub cache_hits: usize,
}

impl Metrics {
    /// No record counted yet.
    pub fn new(keys: KeyStats, bytes_in: usize) -> Self {
        Metrics {
            kms_calls: keys.kms_calls,
            kms_retries: keys.kms_retries,
            kms_cache_hits: keys.cache_hits,
            bytes_in,
            ..Metrics::default()
        }
    }

    /// Counts one record's final outcome (after the response budget), before its data may be
    /// written out and freed: what Firehose is told is what the metrics say.
    pub fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Ok { data, stats, .. } => {
                self.records_ok += 1;
                self.bytes_out += data.len();
                self.events.add(stats);
            }
            Outcome::Dropped { stats } => {
                self.records_dropped += 1;
                self.events.add(stats);
            }
            Outcome::Failed(_) => self.records_failed += 1,
        }
    }

    fn values(&self) -> Vec<(String, usize)> {
        let mut values = vec![
            ("RecordsOk".to_string(), self.records_ok),
            ("RecordsDropped".to_string(), self.records_dropped),
            ("RecordsProcessingFailed".to_string(), self.records_failed),
            ("HeartbeatsDropped".to_string(), self.events.heartbeats),
            ("ExcludedEventsDropped".to_string(), self.events.excluded),
            ("KmsCalls".to_string(), self.kms_calls),
            ("KmsRetries".to_string(), self.kms_retries),
            ("KmsCacheHits".to_string(), self.kms_cache_hits),
        ];
        for class in ActivityClass::ALL {
            let n = self.events.of(class);
            values.push((format!("Events_{}", class.as_str()), n));
        }
        values.push(("BytesIn".to_string(), self.bytes_in));
        values.push(("BytesOut".to_string(), self.bytes_out));
        values
    }

    /// One EMF line: `_aws` metadata plus one member per metric, dimensions `Service` and
    /// `ResourceId`.
    pub fn to_emf(&self, timestamp_ms: i64) -> String {
        let values = self.values();
        let definitions: Vec<Value> = values
            .iter()
            .map(|(name, _)| {
                let unit = if name.starts_with("Bytes") {
                    "Bytes"
                } else {
                    "Count"
                };
                json!({"Name": name, "Unit": unit})
            })
            .collect();
        let mut line = Map::new();
        line.insert(
            "_aws".to_string(),
            json!({
                "Timestamp": timestamp_ms,
                "CloudWatchMetrics": [{
                    "Namespace": NAMESPACE,
                    "Dimensions": [["Service", "ResourceId"]],
                    "Metrics": definitions,
                }],
            }),
        );
        line.insert("Service".to_string(), json!("das-partitioner"));
        line.insert("ResourceId".to_string(), json!(self.resource_id));
        for (name, value) in values {
            line.insert(name, json!(value));
        }
        Value::Object(line).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emf_line_declares_every_member_it_carries() {
        let mut m = Metrics {
            resource_id: "db-ABC".to_string(),
            records_ok: 3,
            kms_calls: 1,
            bytes_in: 10,
            ..Metrics::default()
        };
        m.events.count(ActivityClass::AuthFailure);
        m.events.count(ActivityClass::AuthFailure);
        let line: Value = serde_json::from_str(&m.to_emf(1_700_000_000_000)).unwrap();
        let defs = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        for def in defs {
            let name = def["Name"].as_str().unwrap();
            assert!(line[name].is_u64(), "{name} declared but missing");
        }
        assert_eq!(line["RecordsOk"], 3);
        assert_eq!(line["Events_AUTH_FAILURE"], 2);
        assert_eq!(line["Events_DDL"], 0);
        assert_eq!(line["_aws"]["Timestamp"], 1_700_000_000_000i64);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Service", "ResourceId"]])
        );
        assert_eq!(line["ResourceId"], "db-ABC");
        assert!(!m.to_emf(0).contains('\n'));
    }
}
