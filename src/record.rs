//! One record, pure: an envelope and its data key in, an [`Outcome`] out. This is the
//! per-record path of the pipeline, in data order:
//!
//! ESDK decrypt ([`crate::esdk`]) → bounded gunzip and payload ([`crate::decode`]) → per event:
//! heartbeat and excluded-user filters, engine and class ([`crate::classify`]), JSON line
//! ([`crate::output::line`]) → partition keys ([`crate::output::partition`]).
//!
//! No I/O and no shared state: a fuzzer, a benchmark or a thread pool can call it directly.

use crate::classify::{Engine, classify};
use crate::config::Config;
use crate::decode::{self, EventView, PayloadEvent};
use crate::error::RecordError;
use crate::esdk::{self, RawAesKeyring, WrappingKey};
use crate::ingest::Envelope;
use crate::output::line::{Clashes, LineError, LineTail, write_line};
use crate::output::partition::{EarliestTime, MIXED};
use crate::output::{EventStats, Outcome, PartitionKeys};
use chrono::{DateTime, Utc};

/// Per-record facts the pure transformation needs besides the envelope.
#[derive(Clone, Debug)]
pub struct RecordMeta<'a> {
    pub resource_id: &'a str,
    /// `eventId` of the event at index i is `<prefix>-<i>`.
    pub event_id_prefix: &'a str,
    /// The partition time when no event time parses.
    pub fallback_time: DateTime<Utc>,
    /// Output beyond this many bytes cannot fit in the response: the record fails as over the
    /// budget as soon as its lines pass it, instead of holding them until it is admitted.
    pub max_output_bytes: usize,
}

/// Decrypts, inflates, filters, classifies and re-encodes one record.
pub fn transform_record(
    envelope: &Envelope,
    key: &WrappingKey,
    meta: &RecordMeta<'_>,
    config: &Config,
) -> Outcome {
    match transform(envelope, key, meta, config) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Failed(e),
    }
}

fn transform(
    envelope: &Envelope,
    key: &WrappingKey,
    meta: &RecordMeta<'_>,
    config: &Config,
) -> Result<Outcome, RecordError> {
    let plaintext = esdk::decrypt(&envelope.message, &RawAesKeyring::das(key))?;
    let json = decode::gunzip(plaintext.as_bytes(), config.limits.max_inflated_bytes)?;
    drop(plaintext);
    let payload = decode::parse_payload(&json)?;
    let das_version = envelope.version.as_deref();

    let tail = LineTail::new(
        payload.cluster_id.as_deref(),
        payload.instance_id.as_deref(),
        meta.event_id_prefix,
        das_version,
    );
    // The lines are the events plus the added fields: one allocation instead of a doubling
    // series of copies (a record's lines are tens of KB at fifty events).
    let mut data = Vec::with_capacity(
        json.len()
            .saturating_add(payload.events.len().saturating_mul(tail.line_overhead()))
            .min(meta.max_output_bytes.saturating_add(1)),
    );
    let mut stats = EventStats::default();
    let mut earliest = EarliestTime::default();
    // By reference: moving each event's view (half a KB) out of the list was 1% of a
    // fifty-event record.
    for (index, PayloadEvent { text, view }) in payload.events.iter().enumerate() {
        let parsed;
        let event = match view {
            Some(view) => view,
            None => {
                parsed = EventView::parse(text).map_err(|_| RecordError::EventNotObject(index))?;
                &parsed
            }
        };
        if event.is_heartbeat() {
            stats.heartbeats += 1;
            continue;
        }
        if config.is_excluded(event.db_user()) {
            stats.excluded += 1;
            continue;
        }
        let class = classify(Engine::detect(event, das_version), event);
        stats.count(class);
        earliest.observe(event.event_time());
        // The line is at least as long as the event's text: fail before copying what cannot fit.
        if data.len().saturating_add(text.len()) > meta.max_output_bytes {
            return Err(RecordError::OverResponseBudget);
        }
        let clashes = if event.has_added_field_key {
            Clashes::Rename
        } else {
            Clashes::None
        };
        write_line(&mut data, text, class, index, &tail, clashes).map_err(|e| match e {
            LineError::TooDeep => RecordError::EventTooDeep(index),
        })?;
        if data.len() > meta.max_output_bytes {
            return Err(RecordError::OverResponseBudget);
        }
    }
    if data.is_empty() {
        return Ok(Outcome::Dropped { stats });
    }
    let class = stats.single_class().map_or(MIXED, |c| c.as_str());
    let keys = PartitionKeys::new(class, meta.resource_id, earliest.or(meta.fallback_time));
    Ok(Outcome::Ok { data, keys, stats })
}
