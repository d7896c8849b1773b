//! `dasp replay`: processing-failed records back through the handler, recovered events written
//! in the archive layout. The IO shell around [`super::failed_records`] (parsing) and
//! [`super::s3_layout`] (what Firehose would have written): objects come from a folder or an S3
//! prefix and go to a folder or an S3 prefix.
//!
//! Every error object is replayed in invocations of consecutive entries (at most
//! [`crate::limits::REPLAY_BATCH_BASE64_BYTES`] of data each); a record over the response budget
//! of its invocation is replayed again alone. The output objects are named from the error
//! object, its lines and the partition, so a re-run replaces them instead of adding copies.
//! Records that fail again are listed with their error label and stay in their error objects:
//! replay writes no error objects of its own.

use super::failed_records::{self, FailedRecord};
use super::s3_layout::{self, DATA_PREFIX};
use crate::error::RecordError;
use crate::handler::{Handler, InvocationError};
use crate::ingest::FirehoseEvent;
use crate::keys::DataKeySource;
use crate::output::Outcome;
use chrono::Utc;
use std::path::{Path, PathBuf};

/// Where objects are read from or written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Dir(PathBuf),
    S3 { bucket: String, prefix: String },
}

impl Location {
    /// `s3://BUCKET[/PREFIX]` or a folder.
    pub fn parse(text: &str) -> Result<Location, String> {
        match text.strip_prefix("s3://") {
            Some(rest) => {
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(format!("{text}: no bucket name (s3://BUCKET/PREFIX)"));
                }
                Ok(Location::S3 {
                    bucket: bucket.to_string(),
                    prefix: prefix.trim_end_matches('/').to_string(),
                })
            }
            None => Ok(Location::Dir(PathBuf::from(text))),
        }
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }

    fn describe(&self, key: &str) -> String {
        match self {
            Location::Dir(dir) => dir.join(key).display().to_string(),
            Location::S3 { bucket, prefix } => format!("s3://{bucket}/{}", join_key(prefix, key)),
        }
    }
}

fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_string()
    } else {
        format!("{prefix}/{key}")
    }
}

/// S3 through the SDK; path-style addressing when the endpoint is overridden
/// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`: emulators rarely serve virtual hosts).
pub struct S3Store {
    client: aws_sdk_s3::Client,
}

impl S3Store {
    pub async fn from_env() -> S3Store {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        let overridden = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"]
            .iter()
            .any(|v| std::env::var(v).is_ok_and(|u| !u.is_empty()));
        let s3 = aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(overridden)
            .build();
        S3Store {
            client: aws_sdk_s3::Client::from_conf(s3),
        }
    }

    /// Every key under `prefix`, sorted.
    pub async fn list(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, String> {
        let prefix = if prefix.is_empty() {
            String::new()
        } else {
            format!("{prefix}/")
        };
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(&prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| format!("cannot list s3://{bucket}/{prefix}: {}", sdk_detail(&e)))?;
            keys.extend(page.contents().iter().filter_map(|o| o.key().map(String::from)));
        }
        keys.sort();
        Ok(keys)
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, String> {
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| format!("cannot read s3://{bucket}/{key}: {}", sdk_detail(&e)))?;
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| format!("cannot read s3://{bucket}/{key}: {e}"))?;
        Ok(body.into_bytes().to_vec())
    }

    pub async fn put(&self, bucket: &str, key: &str, data: Vec<u8>) -> Result<(), String> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(data.into())
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("cannot write s3://{bucket}/{key}: {}", sdk_detail(&e)))
    }
}

fn sdk_detail<E: std::error::Error + 'static>(e: &E) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A record that failed again, or an entry or object that could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotRecovered {
    /// The error object (path or s3:// URL).
    pub object: String,
    /// 1-based line; `None` when the whole object could not be read.
    pub line: Option<usize>,
    pub label: &'static str,
}

/// What a replay did.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub objects: usize,
    pub entries: usize,
    pub recovered: usize,
    pub dropped: usize,
    pub events: usize,
    pub objects_written: usize,
    /// The layout's keys of the objects written, relative to the destination.
    pub written: Vec<String>,
    pub not_recovered: Vec<NotRecovered>,
    pub kms_calls: usize,
}

/// Why the replay stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("{0}")]
    Invocation(InvocationError),
    #[error("{0}")]
    Io(String),
}

/// The error objects under `source`: every file of the folder (or the folder's single file), or
/// every key under the S3 prefix; sorted.
pub async fn list_objects(source: &Location, s3: Option<&S3Store>) -> Result<Vec<String>, String> {
    match source {
        Location::Dir(dir) => {
            if dir.is_file() {
                return Ok(vec![String::new()]);
            }
            let mut keys = Vec::new();
            walk(dir, dir, &mut keys)?;
            keys.sort();
            Ok(keys)
        }
        Location::S3 { bucket, prefix } => {
            let store = s3.ok_or("no S3 client")?;
            let keys = store.list(bucket, prefix).await?;
            Ok(keys
                .into_iter()
                .map(|k| {
                    k.strip_prefix(prefix.as_str())
                        .map(|k| k.trim_start_matches('/').to_string())
                        .unwrap_or(k)
                })
                .filter(|k| !k.is_empty() && !k.ends_with('/'))
                .collect())
        }
    }
}

fn walk(root: &Path, dir: &Path, keys: &mut Vec<String>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("cannot read folder {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry
            .map_err(|e| format!("cannot read folder {}: {e}", dir.display()))?
            .path();
        if path.is_dir() {
            walk(root, &path, keys)?;
        } else if path
            .file_name()
            .is_some_and(|n| !n.to_string_lossy().starts_with('.'))
        {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let key: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            keys.push(key.join("/"));
        }
    }
    Ok(())
}

async fn read_object(source: &Location, s3: Option<&S3Store>, key: &str) -> Result<Vec<u8>, String> {
    match source {
        Location::Dir(dir) => {
            let path = if key.is_empty() {
                dir.clone()
            } else {
                dir.join(key)
            };
            std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))
        }
        Location::S3 { bucket, prefix } => {
            s3.ok_or("no S3 client")?
                .get(bucket, &join_key(prefix, key))
                .await
        }
    }
}

async fn write_object(dest: &Location, s3: Option<&S3Store>, key: &str, data: Vec<u8>) -> Result<(), String> {
    match dest {
        Location::Dir(dir) => {
            let path = dir.join(key);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create folder {}: {e}", parent.display()))?;
            }
            std::fs::write(&path, data).map_err(|e| format!("cannot write {}: {e}", path.display()))
        }
        Location::S3 { bucket, prefix } => {
            s3.ok_or("no S3 client")?
                .put(bucket, &join_key(prefix, key), data)
                .await
        }
    }
}

/// Replays every error object under `source` into `dest`. `progress(objects done, objects)` is
/// called after each object. Stops at the first invocation-level error (KMS unavailable) or
/// output that cannot be written; an unreadable object or entry is listed and skipped.
pub async fn replay<S: DataKeySource>(
    handler: &Handler<S>,
    source: &Location,
    dest: &Location,
    s3: Option<&S3Store>,
    mut progress: impl FnMut(usize, usize),
) -> Result<Report, ReplayError> {
    let keys = list_objects(source, s3).await.map_err(ReplayError::Io)?;
    let mut report = Report::default();
    for (done, key) in keys.iter().enumerate() {
        let name = source.describe(key);
        // The object's name (for record ids): its key, or the file itself.
        let object_name = if key.is_empty() { name.clone() } else { key.clone() };
        report.objects += 1;
        let bytes = read_object(source, s3, key).await.map_err(ReplayError::Io)?;
        let entries = match failed_records::parse_object(&bytes) {
            Ok(entries) => entries,
            Err(e) => {
                tracing::warn!(object = %name, error = %e, "error object cannot be read");
                report.not_recovered.push(NotRecovered {
                    object: name,
                    line: None,
                    label: match e {
                        failed_records::ObjectError::Gzip(_) => "replay_object_not_gzip",
                        failed_records::ObjectError::TooLarge => "replay_object_too_large",
                    },
                });
                progress(done + 1, keys.len());
                continue;
            }
        };
        report.entries += entries.len();
        let mut records: Vec<FailedRecord> = Vec::new();
        for entry in entries {
            match entry {
                Ok(record) => records.push(record),
                Err(e) => report.not_recovered.push(NotRecovered {
                    object: name.clone(),
                    line: Some(e.line()),
                    label: e.label(),
                }),
            }
        }
        for event in failed_records::invocations(&object_name, &records) {
            let mut alone = Vec::new();
            let outcomes = run(handler, &event, &mut report).await?;
            let mut layout = Vec::with_capacity(outcomes.len());
            for (index, outcome) in outcomes.into_iter().enumerate() {
                let record = event.records.get(index);
                let line = record_line(record.map(|r| r.record_id.as_ref()));
                match outcome {
                    Outcome::Failed(RecordError::OverResponseBudget) if event.records.len() > 1 => {
                        alone.extend(record.cloned());
                        layout.push(Outcome::Dropped {
                            stats: Default::default(),
                        });
                    }
                    outcome => {
                        tally(&mut report, &outcome, &name, line);
                        layout.push(outcome);
                    }
                }
            }
            write_layout(dest, s3, &event, &layout, &mut report).await?;
            for record in alone {
                let line = record_line(Some(record.record_id.as_ref()));
                let single = FirehoseEvent {
                    invocation_id: Some(format!("{}-alone", record.record_id)),
                    records: vec![record],
                    ..FirehoseEvent::default()
                };
                let outcomes = run(handler, &single, &mut report).await?;
                for outcome in &outcomes {
                    tally(&mut report, outcome, &name, line);
                }
                write_layout(dest, s3, &single, &outcomes, &mut report).await?;
            }
        }
        progress(done + 1, keys.len());
    }
    Ok(report)
}

/// The line a replayed record came from: the last part of its recordId.
fn record_line(record_id: Option<&str>) -> Option<usize> {
    record_id?.rsplit('-').next()?.parse().ok()
}

async fn run<S: DataKeySource>(
    handler: &Handler<S>,
    event: &FirehoseEvent<'_>,
    report: &mut Report,
) -> Result<Vec<Outcome>, ReplayError> {
    let invocation = handler
        .handle(event, Utc::now())
        .await
        .map_err(ReplayError::Invocation)?;
    report.kms_calls += invocation.metrics.kms_calls;
    Ok(invocation.outcomes)
}

fn tally(report: &mut Report, outcome: &Outcome, object: &str, line: Option<usize>) {
    match outcome {
        Outcome::Ok { stats, .. } => {
            report.recovered += 1;
            report.events += stats.events();
        }
        Outcome::Dropped { .. } => report.dropped += 1,
        Outcome::Failed(error) => report.not_recovered.push(NotRecovered {
            object: object.to_string(),
            line,
            label: error.label(),
        }),
    }
}

/// Writes the data objects of one replayed invocation (not its error objects).
async fn write_layout(
    dest: &Location,
    s3: Option<&S3Store>,
    event: &FirehoseEvent<'_>,
    outcomes: &[Outcome],
    report: &mut Report,
) -> Result<(), ReplayError> {
    for (key, data) in s3_layout::objects(event, outcomes, Utc::now()) {
        if !key.starts_with(DATA_PREFIX) {
            continue;
        }
        let key: Vec<String> = key
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        let key = key.join("/");
        write_object(dest, s3, &key, data)
            .await
            .map_err(ReplayError::Io)?;
        report.objects_written += 1;
        report.written.push(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn parses_s3_urls_and_folders() {
        assert_eq!(
            Location::parse("s3://b/errors/x/").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                prefix: "errors/x".into()
            }
        );
        assert_eq!(
            Location::parse("s3://b").unwrap(),
            Location::S3 {
                bucket: "b".into(),
                prefix: String::new()
            }
        );
        assert!(Location::parse("s3:///x").is_err());
        assert_eq!(Location::parse("out/s3").unwrap(), Location::Dir("out/s3".into()));
    }
}
