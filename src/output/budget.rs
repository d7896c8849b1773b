//! The response budget: Firehose fails a whole batch whose response exceeds 6,291,556 bytes, and
//! decrypted output is larger than its input. Outcomes are admitted in input order as they are
//! produced; one that would push the response past the budget becomes ProcessingFailed at once
//! (its data is freed), so the earliest records are delivered and memory stays bounded by the
//! budget.

use super::Outcome;
use super::response::{entry_len, envelope_len};
use crate::error::RecordError;

/// Bytes the response will take, against its limit.
#[derive(Clone, Debug)]
pub struct ResponseBudget {
    limit: usize,
    /// The response as it stands: every record not yet admitted is counted as ProcessingFailed,
    /// the smallest entry it can have, so the total never needs to shrink.
    used: usize,
}

impl ResponseBudget {
    /// A budget for a response to `record_ids`, within `limit` bytes.
    pub fn new<'a>(limit: usize, record_ids: impl ExactSizeIterator<Item = &'a str>) -> Self {
        let failed = Outcome::Failed(RecordError::OverResponseBudget);
        let n = record_ids.len();
        let entries: usize = record_ids.map(|id| entry_len(id, &failed)).sum();
        ResponseBudget {
            limit,
            used: envelope_len(n) + entries,
        }
    }

    /// Admits the outcome of the next record, or turns it into `Failed(OverResponseBudget)` if
    /// it does not fit.
    pub fn admit(&mut self, outcome: Outcome) -> Outcome {
        // The record was counted as failed; its recordId takes the same room in either entry.
        let floor = entry_len("", &Outcome::Failed(RecordError::OverResponseBudget));
        let extra = entry_len("", &outcome).saturating_sub(floor);
        match self.used.checked_add(extra) {
            Some(total) if total <= self.limit => {
                self.used = total;
                outcome
            }
            _ => Outcome::Failed(RecordError::OverResponseBudget),
        }
    }

    /// Bytes still free: no record whose data is larger can be admitted (its base64 alone is
    /// larger).
    pub fn remaining(&self) -> usize {
        self.limit.saturating_sub(self.used)
    }

    /// Serialized size of the response so far (not yet admitted records count as failed).
    pub fn used(&self) -> usize {
        self.used
    }

    pub fn limit(&self) -> usize {
        self.limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::response::{FirehoseResponse, ResponseRecord};
    use crate::output::{EventStats, PartitionKeys};
    use chrono::DateTime;

    fn ok(len: usize) -> Outcome {
        Outcome::Ok {
            data: vec![b'a'; len],
            keys: PartitionKeys::new("DDL", "db-1", DateTime::from_timestamp(0, 0).unwrap()),
            stats: EventStats::default(),
        }
    }

    #[test]
    fn admits_in_order_until_the_limit_and_never_exceeds_it() {
        let long = "4954698668313554428650745793632162567570019247115678515".repeat(2);
        let ids = ["a", "b\"\\\n\u{1}", long.as_str(), "d"];
        let admitted_size = |limit: usize| {
            let mut budget = ResponseBudget::new(limit, ids.iter().copied());
            let records: Vec<ResponseRecord> = ids
                .iter()
                .map(|id| ResponseRecord::new((*id).into(), budget.admit(ok(300))))
                .collect();
            let size = serde_json::to_vec(&FirehoseResponse {
                records: records.clone(),
            })
            .unwrap()
            .len();
            assert_eq!(size, budget.used(), "the budget's count is the serialized size");
            (size, records)
        };
        let (full, records) = admitted_size(1 << 20);
        assert!(records.iter().all(|r| r.result.as_str() == "Ok"));
        // One byte short of room for all four: the last one fails, the first three are kept.
        let (size, records) = admitted_size(full - 1);
        assert!(size < full);
        let results: Vec<&str> = records.iter().map(|r| r.result.as_str()).collect();
        assert_eq!(results, ["Ok", "Ok", "Ok", "ProcessingFailed"]);
    }

    #[test]
    fn no_data_larger_than_the_remaining_bytes_is_admitted() {
        let mut budget = ResponseBudget::new(10_000, ["a", "b"].into_iter());
        let remaining = budget.remaining();
        assert_eq!(remaining, 10_000 - budget.used());
        assert!(matches!(budget.admit(ok(remaining + 1)), Outcome::Failed(_)));
        assert_eq!(budget.remaining(), remaining, "a rejected record takes nothing");
        assert!(matches!(budget.admit(ok(remaining / 2)), Outcome::Ok { .. }));
    }

    #[test]
    fn a_later_small_record_still_fits_after_a_large_one_failed() {
        let ids = ["big", "small"];
        let mut budget = ResponseBudget::new(2_000, ids.iter().copied());
        assert!(matches!(
            budget.admit(ok(5_000)),
            Outcome::Failed(RecordError::OverResponseBudget)
        ));
        assert!(matches!(budget.admit(ok(10)), Outcome::Ok { .. }));
        assert!(budget.used() <= budget.limit());
    }
}
