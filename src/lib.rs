//! das-partitioner: decrypt, classify and partition Amazon RDS / Aurora Database Activity
//! Streams records inside an Amazon Data Firehose transformation Lambda.
//!
//! The modules follow one record through the pipeline, in data order:
//!
//! | stage | module | what it does |
//! |---|---|---|
//! | 1 ingest | [`ingest`] | Firehose invocation, base64, DAS envelope |
//! | 2 keys | [`keys`] | KMS data keys: trait, cache, retries, aws-sdk-kms (the only I/O) |
//! | 3 decrypt | [`esdk`] | AWS Encryption SDK message: header, keyring, content key, signature, frames |
//! | 4 decode | [`decode`] | bounded gunzip, DAS payload, event view |
//! | 5 classify | [`classify`] | engine and activity class, per-engine rules, SQL statement kinds |
//! | 6 output | [`output`] | JSON lines, partition keys, response budget, response, metrics |
//!
//! [`record`] runs stages 3–6 on one record as a pure function; [`handler`] orchestrates an
//! invocation (the one code path of the Lambda and `dasp transform`), on [`workers`]' threads. [`limits`] holds every
//! cap, [`config`] the `DASP_*` settings, [`error`] the per-record errors with stable labels,
//! `text` the trim the record's path uses.
//! [`cli`] is what only the `dasp` CLI needs. Everything but [`keys::kms`] and the binaries is
//! sans-IO ([`keys::retry`]'s policy is pure; its loop only waits on tokio timers).

pub mod classify;
pub mod cli;
pub mod config;
pub mod decode;
pub mod error;
pub mod esdk;
pub mod handler;
pub mod ingest;
pub mod keys;
pub mod limits;
pub mod output;
pub mod record;
mod text;
pub mod workers;
