//! What only the `dasp` CLI needs, outside the Lambda's path: reading any record shape without
//! a key ([`inspect`]), laying out what Firehose would write to S3 ([`s3_layout`]), the checks
//! made before any work starts ([`preflight`]), the summary line ([`summary`]), data keys
//! from a file for test data ([`data_keys`]) and reading a live stream ([`kinesis`]).

pub mod data_keys;
pub mod failed_records;
pub mod inspect;
#[cfg(feature = "aws")]
pub mod kinesis;
pub mod preflight;
#[cfg(feature = "aws")]
pub mod replay;
pub mod s3_layout;
pub mod summary;
