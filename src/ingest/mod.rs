//! Stage 1, ingest: the Firehose invocation ([`firehose`]) and the DAS envelope inside each
//! record ([`envelope`]): base64, JSON, the ESDK message and the KMS blob, each capped.

pub mod envelope;
pub mod firehose;
pub mod scan;

pub use envelope::{Envelope, EnvelopeError, decode_record, read_key_blob};
pub use firehose::{FirehoseEvent, FirehoseRecord, event_id_prefixes};
