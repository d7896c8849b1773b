//! Why one record failed. Each variant has a stable label for logs and metrics; no message
//! ever carries plaintext, keys or event contents.

use crate::envelope::EnvelopeError;
use crate::esdk::EsdkError;
use crate::inflate::InflateError;
use crate::kms::KeyError;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("record data is missing or is not a base64 string")]
    MissingData,
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("no database resource id: the stream name is not aws-rds-das-<id>; set DASP_RESOURCE_ID")]
    NoResourceId,
    #[error("kms: {0}")]
    Kms(#[from] KeyError),
    #[error("esdk: {0}")]
    Esdk(#[from] EsdkError),
    #[error(transparent)]
    Inflate(#[from] InflateError),
    #[error("event {0} of the payload is not a JSON object")]
    EventNotObject(usize),
    #[error("response budget exceeded: lower the Firehose processor BufferSizeInMBs")]
    OverResponseBudget,
}

impl RecordError {
    pub fn label(&self) -> &'static str {
        match self {
            RecordError::MissingData => "data_missing",
            RecordError::Envelope(e) => e.label(),
            RecordError::NoResourceId => "no_resource_id",
            RecordError::Kms(e) => e.label,
            RecordError::Esdk(e) => e.label(),
            RecordError::Inflate(e) => e.label(),
            RecordError::EventNotObject(_) => "event_not_object",
            RecordError::OverResponseBudget => "over_response_budget",
        }
    }
}
