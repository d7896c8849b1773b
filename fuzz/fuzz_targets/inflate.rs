//! The bounded gunzip: any bytes inflate to at most the cap, or fail with a label; a gzip bomb
//! stops at the cap instead of growing. It must agree with flate2's streaming reader
//! (`gunzip_streaming`) byte for byte and error for error: same output, same rejections.
#![no_main]

use das_partitioner::decode::gunzip;
use das_partitioner::decode::inflate::gunzip_streaming;
use libfuzzer_sys::fuzz_target;

const CAP: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    // A small cap too, so the fuzzer reaches the cap without a large input.
    for cap in [CAP, 64] {
        let ours = gunzip(data, cap);
        match &ours {
            Ok(out) => assert!(out.len() <= cap),
            Err(e) => assert!(!e.label().is_empty()),
        }
        assert_eq!(ours, gunzip_streaming(data, cap), "cap {cap}");
    }
});
