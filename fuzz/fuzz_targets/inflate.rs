//! The bounded gunzip: any bytes inflate to at most the cap, or fail with a label; a gzip bomb
//! stops at the cap instead of growing; and the one-member fast path (libdeflate) answers
//! exactly as the streaming decoder (zlib-rs) does on the same input.
#![no_main]

use das_partitioner::decode::gunzip;
use das_partitioner::decode::inflate::gunzip_streaming;
use libfuzzer_sys::fuzz_target;

const CAP: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let result = gunzip(data, CAP);
    match &result {
        Ok(out) => assert!(out.len() <= CAP),
        Err(e) => assert!(!e.label().is_empty()),
    }
    assert_eq!(result, gunzip_streaming(data, CAP));
});
