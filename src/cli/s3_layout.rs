//! What Firehose would deliver to S3 for one invocation, for `dasp transform --s3-layout`.
//!
//! Ok records go under the dynamic-partitioning prefix
//! `das/activity_class=…/resource_id=…/year=…/month=…/day=…/hour=…/`, one object per prefix,
//! named like Firehose names them (`<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`).
//!
//! Names are derived from the invocation, not drawn at random, so that running `dasp` again on
//! the same event replaces its objects instead of adding copies: the time is the earliest
//! arrival time of its records (`now` only when none has one) and the uuid is a hash of the
//! `invocationId` (of the records' ids and data when it has none) and the object's prefix.
//! ProcessingFailed records go to `das-errors/processing-failed/YYYY/MM/DD/HH/` as Firehose's
//! error JSON lines, `rawData` being the original record (what a replay tool reads).

use crate::ingest::FirehoseEvent;
use crate::output::Outcome;
use aws_lc_rs::digest;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The prefix of Ok records; matches the deployed Firehose `Prefix`.
pub const DATA_PREFIX: &str = "das";
/// The error prefix; matches the deployed Firehose `ErrorOutputPrefix`.
pub const ERROR_PREFIX: &str = "das-errors";

/// The S3 objects (relative key, content) Firehose would write for this invocation: `outcomes`
/// holds one outcome per record of `event`, at the record's index.
pub fn objects(event: &FirehoseEvent, outcomes: &[Outcome], now: DateTime<Utc>) -> Vec<(PathBuf, Vec<u8>)> {
    let stream = event
        .delivery_stream_arn
        .as_deref()
        .and_then(|arn| arn.rsplit('/').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("das-partitioner");
    let now = invocation_time(event).unwrap_or(now);
    let invocation = invocation_digest(event);
    let object_name = |prefix: &Path| {
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(invocation.as_ref());
        ctx.update(prefix.to_string_lossy().as_bytes());
        let mut bytes = [0u8; 16];
        for (b, d) in bytes.iter_mut().zip(ctx.finish().as_ref()) {
            *b = *d;
        }
        let id = uuid::Builder::from_random_bytes(bytes).into_uuid();
        format!("{stream}-1-{}-{id}", now.format("%Y-%m-%d-%H-%M-%S"))
    };

    let mut partitions: BTreeMap<PathBuf, Vec<u8>> = BTreeMap::new();
    let mut failed_lines = Vec::new();
    for (record, outcome) in event.records.iter().zip(outcomes) {
        match outcome {
            Outcome::Ok { data, keys, .. } => {
                let prefix = keys
                    .pairs()
                    .fold(PathBuf::from(DATA_PREFIX), |p, (k, v)| p.join(format!("{k}={v}")));
                partitions.entry(prefix).or_default().extend_from_slice(data);
            }
            Outcome::Failed(error) => {
                let line = json!({
                    "attemptsMade": 1,
                    "arrivalTimestamp": record.arrival_time().map_or(now.timestamp_millis(), |t| t.timestamp_millis()),
                    "errorCode": "Lambda.ProcessingFailedStatus",
                    "errorMessage": format!("The Lambda function marked the record ProcessingFailed ({})", error.label()),
                    "attemptEndingTimestamp": now.timestamp_millis(),
                    "rawData": record.data.as_deref().unwrap_or_default(),
                    "lambdaArn": "arn:aws:lambda:local:000000000000:function:das-partitioner",
                });
                failed_lines.extend_from_slice(line.to_string().as_bytes());
                failed_lines.push(b'\n');
            }
            Outcome::Dropped { .. } => {}
        }
    }
    let mut objects: Vec<(PathBuf, Vec<u8>)> = partitions
        .into_iter()
        .map(|(prefix, data)| (prefix.join(object_name(&prefix)), data))
        .collect();
    if !failed_lines.is_empty() {
        let prefix = PathBuf::from(ERROR_PREFIX)
            .join("processing-failed")
            .join(now.format("%Y/%m/%d/%H").to_string());
        objects.push((prefix.join(object_name(&prefix)), failed_lines));
    }
    objects
}

/// The earliest arrival time of the invocation's records.
fn invocation_time(event: &FirehoseEvent) -> Option<DateTime<Utc>> {
    event.records.iter().filter_map(|r| r.arrival_time()).min()
}

/// What identifies the invocation: its id, else its records' ids and data.
fn invocation_digest(event: &FirehoseEvent) -> digest::Digest {
    let mut ctx = digest::Context::new(&digest::SHA256);
    match event.invocation_id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => ctx.update(id.as_bytes()),
        None => {
            for record in &event.records {
                let data = record.data.as_deref().unwrap_or_default();
                // Lengths first, so that no two different records hash alike by shifting bytes.
                ctx.update(
                    &u64::try_from(record.record_id.len())
                        .unwrap_or(u64::MAX)
                        .to_be_bytes(),
                );
                ctx.update(record.record_id.as_bytes());
                ctx.update(&u64::try_from(data.len()).unwrap_or(u64::MAX).to_be_bytes());
                ctx.update(data.as_bytes());
            }
        }
    }
    ctx.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::RecordError;
    use serde::Deserialize;

    fn event(invocation_id: Option<&str>, data: &str) -> FirehoseEvent<'static> {
        FirehoseEvent::deserialize(&json!({
            "invocationId": invocation_id,
            "records": [{"recordId": "r1", "data": data, "approximateArrivalTimestamp": 1767261733565i64}],
        }))
        .unwrap()
        .into_owned()
    }

    fn names(event: &FirehoseEvent, now: DateTime<Utc>) -> Vec<PathBuf> {
        let outcomes = [Outcome::Failed(RecordError::KeyNotResolved)];
        objects(event, &outcomes, now)
            .into_iter()
            .map(|(p, _)| p)
            .collect()
    }

    #[test]
    fn object_names_derive_from_the_invocation_not_the_clock() {
        let later = Utc::now();
        let earlier = later - chrono::Duration::hours(30);
        let with_id = event(Some("5a83b682"), "AAAA");
        assert_eq!(names(&with_id, earlier), names(&with_id, later));
        assert!(
            names(&with_id, later)[0]
                .to_string_lossy()
                .contains("2026/01/01/10")
        );
        assert_ne!(
            names(&with_id, later),
            names(&event(Some("other"), "AAAA"), later)
        );
        let without = event(None, "AAAA");
        assert_eq!(names(&without, earlier), names(&without, later));
        assert_ne!(names(&without, later), names(&event(None, "BBBB"), later));
    }
}
