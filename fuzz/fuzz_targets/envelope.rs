//! The DAS envelope (the JSON of one Kinesis record): any bytes either parse into an envelope
//! whose fields hold every cap, or fail with a stable label.
#![no_main]

use das_partitioner::ingest::envelope::parse_envelope;
use das_partitioner::limits::{MAX_DAS_VERSION_CHARS, MAX_ESDK_MESSAGE_BYTES, MAX_KMS_BLOB_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
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
