//! The one integration-test binary (`autotests = false` in Cargo.toml). Modules:
//! - `fixtures`: loads the cross-implementation fixtures (tests/fixtures/, made by the official
//!   Python aws-encryption-sdk; see tests/fixtures/esdk/README.md).
//! - `esdk`: every fixture decrypts byte-exact; every truncation and bit flip is rejected.
//! - `decode`: envelope → ESDK → gunzip → payload, including the gzip bomb.
//! - `handler`: whole Firehose invocations per engine against the generator's ground truth.
//! - `regression`: one test per fixed defect.
//! - `hostile`: hostile payloads inside valid encryption (duplicate and added keys, lone
//!   surrogates, line separators, deep nesting, huge strings, many events, bad dasVersion) and
//!   hostile Firehose events (wrong-typed optional fields, shared sequence numbers, extreme
//!   times), through the whole handler.
//! - `seal`: a test-only ESDK encryptor (unsigned 0x0178), checked byte for byte against the
//!   official SDK's fixtures, that the hostile tests encrypt with.
//! - `cli`: the `dasp` binary as a user runs it.
//! - `kms`: aws-sdk-kms against the moto emulator, and KMS faults injected in front of it
//!   (scripts/kms-faults.py) through the whole handler; `#[ignore]`d unless run through
//!   `make test-kms` (scripts/with-moto.sh, scripts/with-kms-faults.sh), except the
//!   unreachable-endpoint test.
//! - `tail`: `dasp tail` and `dasp capture` against moto's Kinesis; `#[ignore]`d unless run
//!   through `make test-kinesis` (scripts/with-moto.sh).
//! - `logs`: debug logs of a demo-sized run hold no event content and no key material.
//! - `infra`: infra/template.yaml against the crate's values and infra/athena/*.sql.
//! - `replay`: `dasp replay` recovers what a first run failed (over budget, missing data key),
//!   checked against the generator's ground truth; its S3 test needs moto (`make test-kms`).
//! - `soak`: 200 consecutive invocations in one process: memory, key cache and time stay flat.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cli;
mod decode;
mod esdk;
mod fixtures;
mod handler;
mod hostile;
mod infra;
mod kms;
mod logs;
mod regression;
mod replay;
mod seal;
mod soak;
mod tail;

/// A fresh, empty folder under the system's temporary folder for one test, removed with
/// everything in it when the test is done with it (passed or failed).
pub struct Scratch(std::path::PathBuf);

impl Scratch {
    /// `<tmp>/dasp-<kind>-<pid>-<name>-<n>`: unique within the test binary's run.
    pub fn new(kind: &str, name: &str) -> Scratch {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dasp-{kind}-{}-{name}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
}

impl std::ops::Deref for Scratch {
    type Target = std::path::Path;
    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for Scratch {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::ffi::OsStr> for Scratch {
    fn as_ref(&self) -> &std::ffi::OsStr {
        self.0.as_os_str()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
