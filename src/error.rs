//! Why one record failed. Each variant has a stable label for logs and metrics; no message
//! ever carries plaintext, keys or event contents.

use crate::decode::{InflateError, PayloadError};
use crate::esdk::EsdkError;
use crate::ingest::EnvelopeError;
use crate::keys::KeyError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("kms: {0}")]
    Kms(#[from] KeyError),
    #[error("the record's data key was not among the keys resolved for this invocation")]
    KeyNotResolved,
    #[error("esdk: {0}")]
    Esdk(#[from] EsdkError),
    #[error(transparent)]
    Inflate(#[from] InflateError),
    #[error(transparent)]
    Payload(#[from] PayloadError),
    #[error("event {0} of the payload is not a JSON object")]
    EventNotObject(usize),
    #[error("event {0} of the payload nests deeper than MAX_JSON_DEPTH")]
    EventTooDeep(usize),
    #[error("response budget exceeded: lower the Firehose processor BufferSizeInMBs")]
    OverResponseBudget,
}

impl RecordError {
    pub fn label(&self) -> &'static str {
        match self {
            RecordError::Envelope(e) => e.label(),
            RecordError::Kms(e) => e.label,
            RecordError::KeyNotResolved => "key_not_resolved",
            RecordError::Esdk(e) => e.label(),
            RecordError::Inflate(e) => e.label(),
            RecordError::Payload(e) => e.label(),
            RecordError::EventNotObject(_) => "event_not_object",
            RecordError::EventTooDeep(_) => "event_too_deep",
            RecordError::OverResponseBudget => "over_response_budget",
        }
    }
}
