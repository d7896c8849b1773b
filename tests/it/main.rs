//! The one integration-test binary. Modules:
//! - `fixtures`: loads the cross-implementation fixtures (tests/fixtures/, made by the official
//!   Python aws-encryption-sdk; see tests/fixtures/esdk/README.md).
//! - `esdk`: every fixture decrypts byte-exact; every corruption is rejected with its error.
//! - `decode`: envelope → ESDK → gunzip → payload, including the gzip bomb.
//! - `handler`: whole Firehose invocations per engine against the generator's ground truth.
//! - `infra`: infra/template.yaml against the crate's values and infra/athena/*.sql.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod decode;
mod esdk;
mod fixtures;
mod handler;
mod infra;
