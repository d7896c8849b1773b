//! One Firehose invocation, end to end: the code path the Lambda and `dasp transform` share.
//!
//! decode every record's envelope → decrypt the distinct data keys (the only await) → pure
//! per-record work ([`transform_record`]) → response within the size budget → metrics.
//! A bad record becomes `ProcessingFailed` alone; the invocation fails only when KMS is
//! unreachable or throttled for every record, so that Firehose retries the whole batch.

use crate::classify::{ActivityClass, Engine, classify};
use crate::config::Config;
use crate::envelope::{self, Envelope};
use crate::error::RecordError;
use crate::esdk::{self, RawAesKeyring, WrappingKey};
use crate::event::EventView;
use crate::firehose::{self, FirehoseEvent, FirehoseRecord, RecordResult};
use crate::inflate;
use crate::kms::{self, DataKeyCache, DataKeySource, KeyContext, KeyErrorKind};
use crate::limits::MAX_RECORD_DATA_BASE64;
use crate::metrics::Metrics;
use crate::partition::{self, MIXED};
use aws_lambda_events::firehose::KinesisFirehoseResponse;
use base64::Engine as _;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A fault that hits the whole invocation; Firehose retries the batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    #[error("KMS failed transiently for every record ({label}: {detail}); Firehose will retry the batch")]
    KmsUnavailable { label: &'static str, detail: String },
}

/// What one invocation produced.
#[derive(Debug)]
pub struct Invocation {
    pub response: KinesisFirehoseResponse,
    pub metrics: Metrics,
    /// `(recordId, error)` of every ProcessingFailed record, in input order.
    pub failures: Vec<(String, RecordError)>,
}

/// Per-record facts the pure transformation needs besides the envelope.
#[derive(Clone, Debug)]
pub struct RecordMeta<'a> {
    pub resource_id: &'a str,
    pub event_id_prefix: &'a str,
    /// Used for the partition time when no event time parses.
    pub fallback_time: DateTime<Utc>,
}

/// The outcome of one decrypted record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transformed {
    /// JSON lines, each ending in `\n`; empty when every event was dropped.
    pub data: Vec<u8>,
    pub partition_keys: HashMap<String, String>,
    pub events_by_class: BTreeMap<ActivityClass, usize>,
    pub heartbeats: usize,
    pub excluded: usize,
}

/// Decrypts, inflates, filters, classifies and re-encodes one record. Pure.
pub fn transform_record(
    envelope: &Envelope,
    key: &WrappingKey,
    meta: &RecordMeta<'_>,
    config: &Config,
) -> Result<Transformed, RecordError> {
    let plaintext = esdk::decrypt(&envelope.message, &RawAesKeyring::das(key))?;
    let json = inflate::gunzip(plaintext.as_bytes(), config.limits.max_inflated_bytes)?;
    drop(plaintext);
    let payload = envelope::parse_payload(&json)?;
    let das_version = envelope.version.as_deref();

    let mut out = Transformed::default();
    let mut earliest: Option<DateTime<Utc>> = None;
    for (index, raw) in payload.events.iter().enumerate() {
        let text = raw.get();
        let event = EventView::parse(text).map_err(|_| RecordError::EventNotObject(index))?;
        if event.is_heartbeat() {
            out.heartbeats += 1;
            continue;
        }
        if config.is_excluded(event.db_user()) {
            out.excluded += 1;
            continue;
        }
        let class = classify(Engine::detect(&event, das_version), &event);
        *out.events_by_class.entry(class).or_default() += 1;
        if let Some(t) = event.event_time().and_then(partition::parse_event_time) {
            earliest = Some(earliest.map_or(t, |e| e.min(t)));
        }
        let extra = Extra {
            class,
            cluster_id: payload.cluster_id.as_deref(),
            instance_id: payload.instance_id.as_deref(),
            event_id: &format!("{}-{index}", meta.event_id_prefix),
            das_version,
        };
        write_line(&mut out.data, text, &extra).map_err(|_| RecordError::EventNotObject(index))?;
    }
    if !out.data.is_empty() {
        let class = match out.events_by_class.keys().collect::<Vec<_>>().as_slice() {
            [only] => only.as_str(),
            _ => MIXED,
        };
        out.partition_keys =
            partition::partition_keys(class, meta.resource_id, earliest.unwrap_or(meta.fallback_time));
    }
    Ok(out)
}

/// Fields added to every output line.
struct Extra<'a> {
    class: ActivityClass,
    cluster_id: Option<&'a str>,
    instance_id: Option<&'a str>,
    event_id: &'a str,
    das_version: Option<&'a str>,
}

/// Writes the event's own JSON text verbatim, with the extra fields appended before its closing
/// brace, and a newline. Line breaks between tokens become spaces (inside JSON strings they are
/// always escaped), so every event stays on one line.
fn write_line(out: &mut Vec<u8>, event: &str, extra: &Extra<'_>) -> Result<(), serde_json::Error> {
    let body = event.trim().strip_suffix('}').unwrap_or(event);
    out.extend(
        body.bytes()
            .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
    );
    let is_empty_object = body
        .trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim().is_empty());
    if !is_empty_object {
        out.push(b',');
    }
    out.extend_from_slice(b"\"activityClass\":");
    serde_json::to_writer(&mut *out, extra.class.as_str())?;
    out.extend_from_slice(b",\"clusterId\":");
    serde_json::to_writer(&mut *out, &extra.cluster_id)?;
    out.extend_from_slice(b",\"instanceId\":");
    serde_json::to_writer(&mut *out, &extra.instance_id)?;
    out.extend_from_slice(b",\"eventId\":");
    serde_json::to_writer(&mut *out, extra.event_id)?;
    out.extend_from_slice(b",\"dasVersion\":");
    serde_json::to_writer(&mut *out, &extra.das_version)?;
    out.extend_from_slice(b"}\n");
    Ok(())
}

/// Base64-decodes and parses one record's envelope.
pub fn decode_record(record: &FirehoseRecord) -> Result<Envelope, RecordError> {
    let text = match &record.data {
        Some(serde_json::Value::String(s)) if s.len() <= MAX_RECORD_DATA_BASE64 => s,
        Some(serde_json::Value::String(_)) => return Err(envelope::EnvelopeError::FieldSize("data").into()),
        _ => return Err(RecordError::MissingData),
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| envelope::EnvelopeError::DataNotBase64)?;
    Ok(envelope::parse_envelope(&bytes)?)
}

/// The handler: configuration, the data-key source and the cache that outlives invocations.
pub struct Handler<S> {
    config: Config,
    source: S,
    cache: DataKeyCache,
}

impl<S: DataKeySource> Handler<S> {
    pub fn new(config: Config, source: S) -> Self {
        let cache = DataKeyCache::new(config.kms_cache_size, config.kms_concurrency);
        Handler {
            config,
            source,
            cache,
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Handles one invocation. `now` stands in for records with neither event nor arrival time.
    pub async fn handle(
        &self,
        event: &FirehoseEvent,
        now: DateTime<Utc>,
    ) -> Result<Invocation, InvocationError> {
        let resource_id = self.config.resource_id.clone().or_else(|| {
            event
                .source_kinesis_stream_arn
                .as_deref()
                .and_then(kms::resource_id_from_stream_arn)
                .map(String::from)
        });
        let context = resource_id.as_deref().and_then(KeyContext::for_resource);
        let mut metrics = Metrics::default();

        let decoded: Vec<Result<Envelope, RecordError>> = event
            .records
            .iter()
            .map(|r| {
                let envelope = decode_record(r)?;
                if context.is_none() {
                    return Err(RecordError::NoResourceId);
                }
                Ok(envelope)
            })
            .collect();
        metrics.bytes_in = event
            .records
            .iter()
            .map(|r| match &r.data {
                Some(serde_json::Value::String(s)) => s.len() / 4 * 3,
                _ => 0,
            })
            .sum();

        let keys = match &context {
            Some(ctx) => {
                let requests = decoded
                    .iter()
                    .flatten()
                    .map(|e| (ctx.clone(), e.key_blob.clone()));
                self.cache.resolve(&self.source, requests).await
            }
            None => kms::Resolved::default(),
        };
        metrics.kms_calls = keys.kms_calls;
        metrics.kms_cache_hits = keys.cache_hits;
        check_kms_reachable(&keys)?;

        let resource = resource_id.as_deref().unwrap_or_default();
        let mut results = Vec::with_capacity(event.records.len());
        let mut failures = Vec::new();
        for (record, decoded) in event.records.iter().zip(decoded) {
            let outcome = decoded.and_then(|envelope| {
                let ctx = context.clone().ok_or(RecordError::NoResourceId)?;
                let key = match keys.keys.get(&(ctx, envelope.key_blob.clone())) {
                    Some(Ok(key)) => Arc::clone(key),
                    Some(Err(e)) => return Err(e.clone().into()),
                    None => return Err(RecordError::NoResourceId),
                };
                let prefix = record.event_id_prefix();
                let meta = RecordMeta {
                    resource_id: resource,
                    event_id_prefix: &prefix,
                    fallback_time: record.arrival_time().unwrap_or(now),
                };
                transform_record(&envelope, &key, &meta, &self.config)
            });
            let result = match outcome {
                Ok(t) => {
                    metrics.heartbeats_dropped += t.heartbeats;
                    metrics.excluded_events_dropped += t.excluded;
                    for (class, n) in &t.events_by_class {
                        *metrics.events_by_class.entry(*class).or_default() += n;
                    }
                    if t.data.is_empty() {
                        RecordResult::Dropped
                    } else {
                        RecordResult::Ok {
                            data: t.data,
                            partition_keys: t.partition_keys,
                        }
                    }
                }
                Err(e) => {
                    failures.push((record.record_id.clone(), e));
                    RecordResult::ProcessingFailed
                }
            };
            results.push(result);
        }

        let response = self.within_budget(event, results, &mut failures, &mut metrics);
        failures.sort_by_key(|(id, _)| event.records.iter().position(|r| &r.record_id == id));
        for (record_id, error) in &failures {
            tracing::warn!(record_id = %record_id, error = error.label(), detail = %error, "record processing failed");
        }
        Ok(Invocation {
            response,
            metrics,
            failures,
        })
    }

    /// Builds the response, turning Ok records that would push it past the budget into
    /// ProcessingFailed (in input order, so the earliest records are delivered first).
    fn within_budget(
        &self,
        event: &FirehoseEvent,
        results: Vec<RecordResult>,
        failures: &mut Vec<(String, RecordError)>,
        metrics: &mut Metrics,
    ) -> KinesisFirehoseResponse {
        let failed_lens: Vec<usize> = event
            .records
            .iter()
            .map(|r| {
                firehose::serialized_len(&firehose::response_record(
                    &r.record_id,
                    RecordResult::ProcessingFailed,
                ))
            })
            .collect();
        // The smallest possible response: every record failed, plus the envelope and commas.
        let mut size: usize = 16 + failed_lens.iter().map(|n| n + 1).sum::<usize>();
        let mut records = Vec::with_capacity(results.len());
        for ((record, result), failed_len) in event.records.iter().zip(results).zip(failed_lens) {
            let bytes_out = match &result {
                RecordResult::Ok { data, .. } => data.len(),
                _ => 0,
            };
            let kind = result.as_str();
            let entry = firehose::response_record(&record.record_id, result);
            let extra = firehose::serialized_len(&entry).saturating_sub(failed_len);
            let entry = if size.saturating_add(extra) <= self.config.limits.response_budget_bytes {
                size += extra;
                match kind {
                    "Ok" => {
                        metrics.records_ok += 1;
                        metrics.bytes_out += bytes_out;
                    }
                    "Dropped" => metrics.records_dropped += 1,
                    _ => metrics.records_failed += 1,
                }
                entry
            } else {
                tracing::warn!(
                    record_id = %record.record_id,
                    budget = self.config.limits.response_budget_bytes,
                    "response budget exceeded; lower the Firehose processor BufferSizeInMBs"
                );
                failures.push((record.record_id.clone(), RecordError::OverResponseBudget));
                metrics.records_failed += 1;
                firehose::response_record(&record.record_id, RecordResult::ProcessingFailed)
            };
            records.push(entry);
        }
        firehose::response(records)
    }
}

/// Fails the invocation when KMS failed transiently for every key it was asked for.
fn check_kms_reachable(keys: &kms::Resolved) -> Result<(), InvocationError> {
    let mut transient = None;
    for result in keys.keys.values() {
        match result {
            Err(e) if e.kind == KeyErrorKind::Transient => transient = Some(e),
            _ => return Ok(()),
        }
    }
    match transient {
        Some(e) => Err(InvocationError::KmsUnavailable {
            label: e.label,
            detail: e.detail.clone(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(event: &str) -> String {
        let extra = Extra {
            class: ActivityClass::Ddl,
            cluster_id: Some("cluster-A"),
            instance_id: None,
            event_id: "7-0-3",
            das_version: Some("1.1"),
        };
        let mut out = Vec::new();
        write_line(&mut out, event, &extra).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn appends_fields_after_the_verbatim_event_text() {
        assert_eq!(
            line(r#"{"b":1.50,"a":"x\u00e9"}"#),
            "{\"b\":1.50,\"a\":\"x\\u00e9\",\"activityClass\":\"DDL\",\"clusterId\":\"cluster-A\",\"instanceId\":null,\"eventId\":\"7-0-3\",\"dasVersion\":\"1.1\"}\n"
        );
    }

    #[test]
    fn writes_no_leading_comma_into_an_empty_object() {
        let l = line("{ }");
        assert!(l.starts_with("{ \"activityClass\""), "{l}");
        serde_json::from_str::<serde_json::Value>(&l).unwrap();
    }

    #[test]
    fn keeps_a_pretty_printed_event_on_one_line() {
        let l = line("{\n  \"commandText\": \"a\\nb\",\r\n  \"x\": 1\n}");
        assert_eq!(l.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["commandText"], "a\nb");
    }
}
