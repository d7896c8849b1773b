//! The DAS envelope (the JSON of one Kinesis record): any bytes either parse into an envelope
//! whose fields hold every cap, or fail with a stable label; the one-pass read agrees with
//! serde's wherever it takes the envelope.
#![no_main]

use das_partitioner::ingest::envelope::{one_pass_disagreement, parse_envelope};
use das_partitioner::limits::{MAX_DAS_VERSION_CHARS, MAX_ESDK_MESSAGE_BYTES, MAX_KMS_BLOB_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(difference) = one_pass_disagreement(data) {
        panic!("the one-pass read of the envelope disagrees with serde's: {difference}");
    }
    match parse_envelope(data) {
        Ok(envelope) => {
            assert!(envelope.message.len() <= MAX_ESDK_MESSAGE_BYTES);
            assert!(envelope.key_blob.len() <= MAX_KMS_BLOB_BYTES);
            if let Some(version) = &envelope.version {
                assert!((1..=MAX_DAS_VERSION_CHARS).contains(&version.len()));
                assert!(
                    version
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
                );
            }
        }
        Err(e) => assert!(!e.label().is_empty()),
    }
});
