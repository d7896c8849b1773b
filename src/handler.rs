//! One Firehose invocation, end to end: the code path the Lambda and `dasp transform` share.
//! Orchestration only; each step is one call into its stage:
//!
//! 1. ingest: read every record's envelope for its data key ([`crate::ingest`]);
//! 2. keys: resolve the distinct data keys (the only await, [`crate::keys`]);
//! 3. per record, pure: [`crate::record::transform_record`] on every worker thread (rayon), in
//!    order-preserving chunks admitted in input order into the response budget
//!    ([`crate::output::budget`]) as they are produced, counted in the metrics
//!    ([`crate::output::metrics`]) and handed to the caller's sink, which may write each one
//!    out at once (the Lambda and `dasp transform` do) instead of holding every record's lines
//!    to the end;
//! 4. logs from the final outcomes.
//!
//! A bad record becomes `ProcessingFailed` alone; the invocation fails for a reason outside the
//! records, so that Firehose retries the whole batch: any record's data key still transiently
//! unavailable after the retries (KMS throttled, unreachable, 5xx, timed out), or no resource
//! id. A permanent KMS error (access denied, wrong context, disabled key…) fails only the
//! records of that key.

use crate::config::Config;
use crate::error::RecordError;
use crate::esdk::WrappingKey;
use crate::ingest::{self, FirehoseEvent, FirehoseRecord};
use crate::keys::{self, DataKeyCache, DataKeySource, KeyContext, KeyError, KeyErrorKind, Resolved};
use crate::limits::{INPUT_BYTES_IN_FLIGHT_PER_THREAD, RECORDS_IN_FLIGHT_PER_THREAD};
use crate::output::Outcome;
use crate::output::budget::ResponseBudget;
use crate::output::metrics::{KeyStats, Metrics};
use crate::output::partition::in_partition_years;
use crate::output::response::FirehoseResponse;
use crate::record::{RecordMeta, transform_record};
use chrono::{DateTime, Utc};
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A fault that hits the whole invocation; Firehose retries the batch.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InvocationError {
    /// Some data key stayed transiently unavailable after its retries. Nothing is delivered:
    /// Firehose retries the whole batch (event ids are deterministic, so the retry is
    /// idempotent) instead of these records going to processing-failed.
    #[error(
        "KMS is transiently unavailable after retries for {keys} of {distinct_keys} data keys ({records} of {total_records} records; key {key} under {resource_id}: {label}: {detail}); nothing delivered, Firehose will retry the batch"
    )]
    KmsUnavailable {
        /// The error label of the key that stayed unavailable (e.g. `kms_throttled`).
        label: &'static str,
        detail: String,
        /// Fingerprint of that key's KMS blob ([`keys::blob_fingerprint`]).
        key: String,
        resource_id: String,
        /// Distinct keys not resolved: the one that failed, and those abandoned with it.
        keys: usize,
        distinct_keys: usize,
        /// Records whose key is among them.
        records: usize,
        total_records: usize,
    },
    #[error(
        "no database resource id: the source stream {stream:?} is not named aws-rds-das-<id> and DASP_RESOURCE_ID is unset; set DASP_RESOURCE_ID to the database's cluster-… or db-… resource id"
    )]
    NoResourceId { stream: String },
}

/// What one invocation produced: one outcome per input record, at the record's index. From
/// [`Handler::handle_into`], each outcome is what its sink kept: without its lines (empty
/// `data`) when the sink wrote them out, so the response is the sink's, not
/// [`Invocation::into_response`]'s.
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
    record: &'e FirehoseRecord<'e>,
    /// Unique within the invocation ([`ingest::event_id_prefixes`]).
    event_id_prefix: String,
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

    /// Handles one invocation without a deadline: KMS retries stop after the retry budget
    /// (`DASP_KMS_RETRY_BUDGET_MS`). `now` stands in for records with neither event nor arrival
    /// time.
    pub async fn handle(
        &self,
        event: &FirehoseEvent<'_>,
        now: DateTime<Utc>,
    ) -> Result<Invocation, InvocationError> {
        self.handle_within(event, now, None).await
    }

    /// [`Self::handle`] within `remaining`, keeping every outcome whole.
    pub async fn handle_within(
        &self,
        event: &FirehoseEvent<'_>,
        now: DateTime<Utc>,
        remaining: Option<Duration>,
    ) -> Result<Invocation, InvocationError> {
        self.handle_into(event, now, remaining, &mut |_, outcome| outcome)
            .await
    }

    /// Handles one invocation that must end within `remaining` (the Lambda's time left; KMS
    /// retries also stop `KMS_DEADLINE_RESERVE` before it, and without it only the retry budget
    /// bounds them), handing each record's final outcome to `sink` as soon as it is admitted
    /// and counted, in input order: `sink(index, outcome)` returns what the [`Invocation`]
    /// keeps of it, which must have the same result (the logs and `failures` are read from
    /// it, the metrics were counted before). A sink that writes the record's response entry
    /// and keeps [`Outcome::without_data`]
    /// ([`crate::output::response::ResponseWriter::sink`]) frees each record's lines
    /// once written, so that the output held at once is a chunk's, not the invocation's. The
    /// sink is not called at all when the invocation fails. It runs on a worker thread between
    /// chunks, so its writing is serial, as writing the whole response at the end was.
    pub async fn handle_into<F>(
        &self,
        event: &FirehoseEvent<'_>,
        now: DateTime<Utc>,
        remaining: Option<Duration>,
        sink: &mut F,
    ) -> Result<Invocation, InvocationError>
    where
        F: FnMut(usize, Outcome) -> Outcome + Send,
    {
        let started = tokio::time::Instant::now();
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

        // 1. Ingest, on the pool's workers: every envelope is read for its data key, and only the
        //    key is kept (`read_key_blob`: read from the end of the record's base64 where the
        //    envelope ends with it, as DAS writes it, else from the whole envelope with the ESDK
        //    message's base64 checked but not decoded). The envelopes are decoded whole in step
        //    3, each just before its record: held from here to there, every message of the
        //    invocation would be memory touched for the first time (a page fault every 4 KB),
        //    where decoded one record at a time they reuse the same few pages.
        let blobs: Vec<Result<Vec<u8>, RecordError>> = event
            .records
            .par_iter()
            .map(|r| ingest::read_key_blob(r).map_err(RecordError::from))
            .collect();
        let bytes_in = event.records.iter().map(|r| r.data_len()).sum();

        // 2. Keys.
        let key_blobs = blobs.iter().flatten().map(Vec::as_slice);
        let retry = &self.config.kms_retry;
        let stop_at = retry.stop_at(started, remaining);
        let keys = self
            .cache
            .resolve(&self.source, &context, key_blobs, retry, stop_at)
            .await;
        check_keys_available(&keys, &blobs, &context)?;
        let key_stats = KeyStats {
            kms_calls: keys.kms_calls,
            kms_retries: keys.kms_retries,
            cache_hits: keys.cache_hits,
        };
        let mut metrics = Metrics::new(key_stats, bytes_in);
        metrics.resource_id = context.resource_id.clone();

        // 3. Per record, pure, on every worker thread, in order-preserving chunks; each chunk's
        //    outcomes are admitted into the budget in input order as soon as it is done, counted,
        //    and handed to the sink.
        let resource = context.resource_id.as_str();
        let mut budget = ResponseBudget::new(
            self.config.limits.response_budget_bytes,
            event.records.iter().map(|r| r.record_id.as_ref()),
        );
        let prefixes = ingest::event_id_prefixes(&event.records);
        let work: Vec<Pending<'_>> = event
            .records
            .iter()
            .zip(prefixes)
            .map(|(record, event_id_prefix)| Pending {
                record,
                event_id_prefix,
            })
            .collect();
        let mut blobs = blobs.into_iter();
        // The whole phase runs on a worker of the pool: one hand-off per invocation instead of
        // one per chunk (a blocked caller and a woken worker for every few records).
        let outcomes = rayon::scope(|_| {
            let threads = rayon::current_num_threads();
            let mut outcomes = Vec::with_capacity(work.len());
            for records in chunks(&work, |p| p.record.data_len(), threads) {
                let max_output = budget.remaining();
                // Output held at once stays bounded by the budget while it is produced: the lines
                // of a chunk's finished records may take at most twice what is left (in-order
                // admission below then keeps the earliest that fit); a record that would pass that
                // fails as over the budget at once and frees its lines.
                let hold_limit = max_output.saturating_mul(2);
                let held = AtomicUsize::new(0);
                let owned: Vec<_> = blobs.by_ref().take(records.len()).collect();
                let produced: Vec<Outcome> = records
                    .par_iter()
                    .zip(owned)
                    .map(|(p, blob)| {
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
                        let outcome = self.transform(p.record, blob, &keys, &meta);
                        if let Outcome::Ok { data, .. } = &outcome {
                            let len = data.len();
                            if held.fetch_add(len, Ordering::Relaxed).saturating_add(len) > hold_limit {
                                held.fetch_sub(len, Ordering::Relaxed);
                                return Outcome::Failed(RecordError::OverResponseBudget);
                            }
                        }
                        outcome
                    })
                    .collect();
                for outcome in produced {
                    let outcome = budget.admit(outcome);
                    metrics.count(&outcome);
                    outcomes.push(sink(outcomes.len(), outcome));
                }
            }
            outcomes
        });

        // 4. Logs, from the final outcomes.
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

/// Consecutive chunks of `items` for the per-record phase on `threads` workers: each ends at
/// [`RECORDS_IN_FLIGHT_PER_THREAD`] items or [`INPUT_BYTES_IN_FLIGHT_PER_THREAD`] bytes (by
/// `size`) per thread, whichever comes first, and holds at least one item.
pub fn chunks<T>(items: &[T], size: impl Fn(&T) -> usize, threads: usize) -> impl Iterator<Item = &[T]> {
    let threads = threads.max(1);
    let max_items = threads.saturating_mul(RECORDS_IN_FLIGHT_PER_THREAD);
    let max_bytes = threads.saturating_mul(INPUT_BYTES_IN_FLIGHT_PER_THREAD);
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut bytes = 0usize;
        let mut end = 0;
        for item in rest.iter().take(max_items) {
            bytes = bytes.saturating_add(size(item));
            if end > 0 && bytes > max_bytes {
                break;
            }
            end += 1;
        }
        let (chunk, tail) = rest.split_at(end.max(1).min(rest.len()));
        rest = tail;
        Some(chunk)
    })
}

impl<S> Handler<S> {
    /// One record's outcome: its ingest error, its key error, or the pure transformation.
    /// `blob` is what step 1 read of the record (`ingest::read_key_blob`); its envelope is
    /// decoded whole here. An error of step 1 is the one this decoding would give. A key step 1
    /// read from the end of the record's data is the key this decoding reads whenever it
    /// reads the envelope; an envelope that is wrong elsewhere fails here, with its own
    /// error, before its key is looked at.
    fn transform(
        &self,
        record: &FirehoseRecord<'_>,
        blob: Result<Vec<u8>, RecordError>,
        keys: &Resolved,
        meta: &RecordMeta<'_>,
    ) -> Outcome {
        if let Err(e) = blob {
            return Outcome::Failed(e);
        }
        let envelope = match ingest::decode_record(record) {
            Ok(envelope) => envelope,
            Err(e) => return Outcome::Failed(e.into()),
        };
        match key_for(keys, &envelope.key_blob) {
            Ok(key) => transform_record(&envelope, key, meta, &self.config),
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

/// Fails the invocation when any record's data key is still transiently unavailable after its
/// retries (or was abandoned because another one was): no record may go to processing-failed
/// for a fault that a retry of the batch can cure.
fn check_keys_available(
    keys: &Resolved,
    blobs: &[Result<Vec<u8>, RecordError>],
    context: &KeyContext,
) -> Result<(), InvocationError> {
    let Some((blob, error)) = keys.transient_failure() else {
        return Ok(());
    };
    let unavailable = |blob: &[u8]| {
        !matches!(
            keys.get(blob),
            Some(Ok(_))
                | Some(Err(KeyError {
                    kind: KeyErrorKind::Permanent,
                    ..
                }))
        )
    };
    let records = blobs.iter().flatten().filter(|b| unavailable(b)).count();
    let failed = keys
        .keys
        .values()
        .filter(|r| matches!(r, Err(e) if e.kind == KeyErrorKind::Transient))
        .count();
    Err(InvocationError::KmsUnavailable {
        label: error.label,
        detail: error.detail.clone(),
        key: keys::blob_fingerprint(blob),
        resource_id: context.resource_id.clone(),
        keys: failed.saturating_add(keys.abandoned),
        distinct_keys: keys.keys.len().saturating_add(keys.abandoned),
        records,
        total_records: blobs.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lengths<'a>(chunks: impl Iterator<Item = &'a [usize]>) -> Vec<usize> {
        chunks.map(<[usize]>::len).collect()
    }

    #[test]
    fn chunks_cover_every_item_once_in_order_and_end_at_the_item_cap() {
        let max = 2 * RECORDS_IN_FLIGHT_PER_THREAD;
        let items: Vec<usize> = (0..2 * max + 7).collect();
        let all: Vec<usize> = chunks(&items, |_| 1, 2).flatten().copied().collect();
        assert_eq!(all, items);
        assert_eq!(lengths(chunks(&items, |_| 1, 2)), vec![max, max, 7]);
    }

    #[test]
    fn chunks_end_at_the_byte_cap_and_hold_at_least_one_item() {
        let quarter = INPUT_BYTES_IN_FLIGHT_PER_THREAD / 4;
        let items = vec![quarter; 10];
        assert_eq!(lengths(chunks(&items, |n| *n, 1)), vec![4, 4, 2]);
        let huge = vec![usize::MAX, 1, usize::MAX];
        assert_eq!(lengths(chunks(&huge, |n| *n, 6)), vec![1, 1, 1]);
        assert_eq!(chunks(&[] as &[usize], |n| *n, 0).count(), 0);
    }
}
