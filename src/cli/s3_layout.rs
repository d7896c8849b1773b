//! What Firehose would deliver to S3 for one invocation, for `dasp transform --s3-layout`.
//!
//! Ok records go under the dynamic-partitioning prefix
//! `das/activity_class=…/resource_id=…/year=…/month=…/day=…/hour=…/`, one object per prefix,
//! named like Firehose names them (`<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>`).
//! ProcessingFailed records go to `das-errors/processing-failed/YYYY/MM/DD/HH/` as Firehose's
//! error JSON lines, `rawData` being the original record (what a replay tool reads).

use crate::ingest::FirehoseEvent;
use crate::output::Outcome;
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    let object_name = || {
        format!(
            "{stream}-1-{}-{}",
            now.format("%Y-%m-%d-%H-%M-%S"),
            uuid::Uuid::new_v4()
        )
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
                    "rawData": record.data.as_ref().and_then(|d| d.as_str()).unwrap_or_default(),
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
        .map(|(prefix, data)| (prefix.join(object_name()), data))
        .collect();
    if !failed_lines.is_empty() {
        let prefix = PathBuf::from(ERROR_PREFIX)
            .join("processing-failed")
            .join(now.format("%Y/%m/%d/%H").to_string());
        objects.push((prefix.join(object_name()), failed_lines));
    }
    objects
}
