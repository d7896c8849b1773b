//! What only the `dasp` CLI needs, outside the Lambda's path: reading any record shape without
//! a key ([`inspect`]) and laying out what Firehose would write to S3 ([`s3_layout`]).

pub mod inspect;
pub mod s3_layout;
