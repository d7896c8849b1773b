//! das-partitioner: decrypt, classify and partition Amazon RDS / Aurora Database Activity
//! Streams records inside an Amazon Data Firehose transformation Lambda.
//!
//! The core is sans-IO: [`esdk`] (AWS Encryption SDK messages), [`inflate`], [`envelope`],
//! [`classify`] and [`partition`] are pure functions. [`kms`] and the Lambda runtime are thin
//! shells around them; [`handler`] is the one code path the Lambda and the `dasp` CLI share.

pub mod classify;
pub mod codec;
pub mod config;
pub mod envelope;
pub mod error;
pub mod esdk;
pub mod event;
pub mod firehose;
pub mod handler;
pub mod inflate;
pub mod inspect;
pub mod kms;
pub mod limits;
pub mod local_s3;
pub mod metrics;
pub mod partition;
pub mod sql;
