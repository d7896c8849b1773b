//! One Firehose invocation, end to end: the code path the Lambda and `dasp transform` share.
//! Orchestration only; each step is one call into its stage:
//!
//! 1. ingest: decode every record's envelope ([`crate::ingest`]);
//! 2. keys: resolve the distinct data keys (the only await, [`crate::keys`]);
//! 3. per record, pure: [`crate::record::transform_record`] on every worker thread (rayon), in
//!    order-preserving chunks admitted in input order into the response budget
//!    ([`crate::output::budget`]) as they are produced;
//! 4. metrics and logs from the final outcomes ([`crate::output::metrics`]).
//!
//! A bad record becomes `ProcessingFailed` alone; the invocation fails only when no record can
//! be decrypted for a reason outside the records (KMS unreachable or throttled for every key,
//! no resource id), so that Firehose retries the whole batch.

use crate::config::Config;
use crate::error::RecordError;
use crate::esdk::WrappingKey;
use crate::ingest::{self, Envelope, FirehoseEvent, FirehoseRecord};
use crate::keys::{self, DataKeyCache, DataKeySource, KeyContext, KeyErrorKind, Resolved};
use crate::limits::RECORDS_IN_FLIGHT_PER_THREAD;
use crate::output::Outcome;
use crate::output::budget::ResponseBudget;
use crate::output::metrics::{KeyStats, Metrics};
use crate::output::partition::in_partition_years;
use crate::output::response::FirehoseResponse;
use crate::record::{RecordMeta, transform_record};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::sync::Arc;

/// A fault that hits the whole invocation; Firehose retries the batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    #[error("KMS failed transiently for every record ({label}: {detail}); Firehose will retry the batch")]
    KmsUnavailable { label: &'static str, detail: String },
    #[error(
        "no database resource id: the source stream {stream:?} is not named aws-rds-das-<id> and DASP_RESOURCE_ID is unset; set DASP_RESOURCE_ID to the database's cluster-… or db-… resource id"
    )]
    NoResourceId { stream: String },
}

/// What one invocation produced: one outcome per input record, at the record's index.
#[derive(Debug)]
pub struct Invocation {
    pub outcomes: Vec<Outcome>,
    pub metrics: Metrics,
}

impl Invocation {
    /// `(index, error)` of every ProcessingFailed record, in input order.
    pub fn failures(&self) -> impl Iterator<Item = (usize, &RecordError)> {
        self.outcomes
            .iter()
            .enumerate()
            .filter_map(|(i, o)| o.error().map(|e| (i, e)))
    }

    /// The Firehose response for `event`, the event this invocation handled.
    pub fn into_response(self, event: &FirehoseEvent) -> FirehoseResponse {
        FirehoseResponse::new(event, self.outcomes)
    }
}

/// One record on its way into the per-record phase.
struct Pending<'e> {
    record: &'e FirehoseRecord,
    /// Unique within the invocation ([`ingest::event_id_prefixes`]).
    event_id_prefix: String,
    envelope: Result<Envelope, RecordError>,
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

    /// Data keys cached between invocations.
    pub fn cached_keys(&self) -> usize {
        self.cache.len()
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
                .and_then(keys::resource_id_from_stream_arn)
                .map(String::from)
        });
        // Without a resource id no record can be decrypted: one invocation-level error, not the
        // same failure once per record.
        let Some(context) = resource_id.as_deref().and_then(KeyContext::for_resource) else {
            return Err(InvocationError::NoResourceId {
                stream: event.source_kinesis_stream_arn.clone().unwrap_or_default(),
            });
        };

        // 1. Ingest.
        let envelopes: Vec<Result<Envelope, RecordError>> = event
            .records
            .iter()
            .map(|r| ingest::decode_record(r).map_err(RecordError::from))
            .collect();
        let bytes_in = event.records.iter().map(|r| r.data_len()).sum();

        // 2. Keys.
        let blobs = envelopes.iter().flatten().map(|e| e.key_blob.as_slice());
        let keys = self.cache.resolve(&self.source, &context, blobs).await;
        check_kms_reachable(&keys)?;

        // 3. Per record, pure, on every worker thread, in order-preserving chunks; each chunk's
        //    outcomes are admitted into the budget in input order as soon as it is done.
        let resource = context.resource_id.as_str();
        let mut budget = ResponseBudget::new(
            self.config.limits.response_budget_bytes,
            event.records.iter().map(|r| r.record_id.as_str()),
        );
        let prefixes = ingest::event_id_prefixes(&event.records);
        let work: Vec<Pending<'_>> = event
            .records
            .iter()
            .zip(prefixes)
            .zip(envelopes)
            .map(|((record, event_id_prefix), envelope)| Pending {
                record,
                event_id_prefix,
                envelope,
            })
            .collect();
        let chunk = rayon::current_num_threads().max(1) * RECORDS_IN_FLIGHT_PER_THREAD;
        let mut outcomes = Vec::with_capacity(work.len());
        for records in work.chunks(chunk) {
            let max_output = budget.remaining();
            let produced: Vec<Outcome> = records
                .par_iter()
                .map(|p| {
                    let fallback_time = p
                        .record
                        .arrival_time()
                        .filter(|t| in_partition_years(*t))
                        .unwrap_or(now);
                    let meta = RecordMeta {
                        resource_id: resource,
                        event_id_prefix: &p.event_id_prefix,
                        fallback_time,
                        max_output_bytes: max_output,
                    };
                    self.transform(&p.envelope, &keys, &meta)
                })
                .collect();
            for (p, outcome) in records.iter().zip(produced) {
                outcomes.push(budget.admit(&p.record.record_id, outcome));
            }
        }

        // 4. Metrics and logs, from the final outcomes.
        let key_stats = KeyStats {
            kms_calls: keys.kms_calls,
            cache_hits: keys.cache_hits,
        };
        let mut metrics = Metrics::from_outcomes(&outcomes, key_stats, bytes_in);
        metrics.resource_id = context.resource_id.clone();
        let invocation = Invocation { metrics, outcomes };
        for (index, error) in invocation.failures() {
            if let Some(record) = event.records.get(index) {
                // One line per failed record, the budget's included (its message says to lower
                // BufferSizeInMBs).
                tracing::warn!(record_id = %record.record_id, error = error.label(), detail = %error, "record processing failed");
            }
        }
        Ok(invocation)
    }
}

impl<S> Handler<S> {
    /// One record's outcome: its ingest error, its key error, or the pure transformation.
    fn transform(
        &self,
        envelope: &Result<Envelope, RecordError>,
        keys: &Resolved,
        meta: &RecordMeta<'_>,
    ) -> Outcome {
        let envelope = match envelope {
            Ok(envelope) => envelope,
            Err(e) => return Outcome::Failed(e.clone()),
        };
        match key_for(keys, &envelope.key_blob) {
            Ok(key) => transform_record(envelope, key, meta, &self.config),
            Err(e) => Outcome::Failed(e),
        }
    }
}

/// The data key of one record's KMS blob, or why it has none.
pub fn key_for<'k>(keys: &'k Resolved, blob: &[u8]) -> Result<&'k Arc<WrappingKey>, RecordError> {
    match keys.get(blob) {
        Some(Ok(key)) => Ok(key),
        Some(Err(e)) => Err(e.clone().into()),
        None => Err(RecordError::KeyNotResolved),
    }
}

/// Fails the invocation when KMS failed transiently for every key it was asked for.
fn check_kms_reachable(keys: &Resolved) -> Result<(), InvocationError> {
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
