//! The DAS envelope (the JSON of one Kinesis record): any bytes either parse into an envelope
//! whose fields hold every cap, or fail with a stable label; the one-pass read agrees with
//! serde's wherever it takes the envelope; the key blob read alone is the whole read's, or the
//! same error; the key read from the end of the record's base64 is the whole read's wherever
//! that reads.
#![no_main]

use base64::Engine as _;
use das_partitioner::ingest::envelope::{
    key_blob_at_end, one_pass_disagreement, parse_envelope, parse_key_blob,
};
use das_partitioner::limits::{MAX_DAS_VERSION_CHARS, MAX_ESDK_MESSAGE_BYTES, MAX_KMS_BLOB_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(difference) = one_pass_disagreement(data) {
        panic!("the one-pass read of the envelope disagrees with serde's: {difference}");
    }
    let whole = parse_envelope(data);
    assert_eq!(
        parse_key_blob(data),
        whole.as_ref().map(|e| e.key_blob.clone()).map_err(|e| *e),
        "the key blob read alone differs from the whole envelope's"
    );
    // As Firehose sends it, and with whitespace around it, which the whole read trims.
    let text = base64::engine::general_purpose::STANDARD.encode(data);
    let spaced = format!(" {text}\n");
    for text in [&text, &spaced] {
        if let (Some(blob), Ok(envelope)) = (key_blob_at_end(text), &whole) {
            assert_eq!(
                &blob, &envelope.key_blob,
                "the key read from the end differs from the whole envelope's"
            );
        }
    }
    match whole {
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
