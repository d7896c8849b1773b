//! Stage 5, output: what each record becomes. One [`Outcome`] per input record, in order; the
//! JSON lines of kept events ([`mod@line`]), their partition keys ([`partition`]), the response
//! size budget enforced as outcomes are produced ([`budget`]), the Firehose response
//! ([`response`]) and the metrics ([`metrics`]), both derived from the final outcomes.

pub mod budget;
pub mod line;
pub mod metrics;
pub mod partition;
pub mod response;

use crate::classify::ActivityClass;
use crate::error::RecordError;
use crate::ingest::scan::count_per_block;
pub use partition::PartitionKeys;

/// What happened to the events of one record.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EventStats {
    /// Kept events per class, indexed by [`ActivityClass::index`].
    pub by_class: [usize; ActivityClass::COUNT],
    pub heartbeats: usize,
    /// Events dropped because their user is excluded (`DASP_EXCLUDED_USERS`).
    pub excluded: usize,
}

impl EventStats {
    pub fn count(&mut self, class: ActivityClass) {
        if let Some(n) = self.by_class.get_mut(class.index()) {
            *n += 1;
        }
    }

    /// Kept events of every class.
    pub fn events(&self) -> usize {
        self.by_class.iter().sum()
    }

    /// Kept events of one class.
    pub fn of(&self, class: ActivityClass) -> usize {
        self.by_class.get(class.index()).copied().unwrap_or(0)
    }

    /// The class of every kept event, if they share one.
    pub fn single_class(&self) -> Option<ActivityClass> {
        let mut present = ActivityClass::ALL.into_iter().filter(|c| self.of(*c) > 0);
        match (present.next(), present.next()) {
            (Some(only), None) => Some(only),
            _ => None,
        }
    }

    pub fn add(&mut self, other: &EventStats) {
        for (a, b) in self.by_class.iter_mut().zip(other.by_class) {
            *a += b;
        }
        self.heartbeats += other.heartbeats;
        self.excluded += other.excluded;
    }
}

/// The outcome of one record: the only thing the response, the local S3 layout, the metrics
/// and the logs are built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Kept events: JSON lines (each ending in `\n`) and the record's partition keys.
    Ok {
        data: Vec<u8>,
        keys: PartitionKeys,
        stats: EventStats,
    },
    /// Nothing to keep (heartbeats or excluded users only).
    Dropped { stats: EventStats },
    /// This record alone failed; Firehose keeps the original in its error prefix.
    Failed(RecordError),
}

/// The result a record gets in the Firehose response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordResult {
    Ok,
    Dropped,
    ProcessingFailed,
}

impl RecordResult {
    /// The exact spelling Firehose accepts.
    pub fn as_str(self) -> &'static str {
        match self {
            RecordResult::Ok => "Ok",
            RecordResult::Dropped => "Dropped",
            RecordResult::ProcessingFailed => "ProcessingFailed",
        }
    }
}

impl Outcome {
    pub fn result(&self) -> RecordResult {
        match self {
            Outcome::Ok { .. } => RecordResult::Ok,
            Outcome::Dropped { .. } => RecordResult::Dropped,
            Outcome::Failed(_) => RecordResult::ProcessingFailed,
        }
    }

    pub fn error(&self) -> Option<&RecordError> {
        match self {
            Outcome::Failed(e) => Some(e),
            _ => None,
        }
    }

    /// The outcome with its lines freed (an Ok record's `data` emptied): what is kept of a
    /// record once its response entry is written out.
    #[must_use]
    pub fn without_data(self) -> Outcome {
        match self {
            Outcome::Ok { keys, stats, .. } => Outcome::Ok {
                data: Vec::new(),
                keys,
                stats,
            },
            other => other,
        }
    }
}

/// Whether serde_json escapes this byte in a string: `"`, `\` and the control characters.
fn escaped_in_json(b: u8) -> bool {
    b < 0x20 || b == b'"' || b == b'\\'
}

/// Appends `s` as a JSON string, exactly as serde_json writes it: copied between quotes when
/// no byte needs escaping (ids and versions, almost always), else written by serde_json
/// (into a Vec, which cannot fail).
pub(crate) fn push_json_str(out: &mut Vec<u8>, s: &str) {
    if count_per_block(s.as_bytes(), |b| u8::from(escaped_in_json(b))) != 0 {
        let _ = serde_json::to_writer(out, s);
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_every_string_exactly_as_serde_json_does() {
        let mut texts: Vec<String> = (0u8..0x80).map(|b| format!("a{}b", b as char)).collect();
        texts.extend(["", "plain-id_1.2", "é\u{2028}😀", "\u{7f}"].map(String::from));
        // Longer than the size count's 32-byte blocks, every byte escaped or not.
        texts.extend((0u8..0x80).map(|b| (b as char).to_string().repeat(70)));
        texts.push((0u8..0x80).map(char::from).cycle().take(1000).collect());
        for text in texts {
            let mut ours = Vec::new();
            push_json_str(&mut ours, &text);
            assert_eq!(ours, serde_json::to_vec(&text).unwrap(), "{text:?}");
            assert_eq!(response::json_string_len(&text), ours.len(), "{text:?}");
        }
    }

    #[test]
    fn single_class_is_none_for_no_events_or_several_classes() {
        let mut s = EventStats::default();
        assert_eq!(s.single_class(), None);
        s.count(ActivityClass::Read);
        s.count(ActivityClass::Read);
        assert_eq!(s.single_class(), Some(ActivityClass::Read));
        assert_eq!((s.events(), s.of(ActivityClass::Read)), (2, 2));
        s.count(ActivityClass::AuthFailure);
        assert_eq!(s.single_class(), None);
        assert_eq!(s.events(), 3);
    }
}
