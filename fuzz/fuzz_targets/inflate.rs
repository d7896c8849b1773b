//! The bounded gunzip: any bytes inflate to at most the cap, or fail with a label; a gzip bomb
//! stops at the cap instead of growing. It must agree with flate2's streaming reader
//! (`gunzip_streaming`) byte for byte and error for error: same output, same rejections, but
//! for the one known difference (src/decode/inflate.rs): a stream zlib refuses for a code
//! libdeflate reads (a reserved symbol, more codes than RFC 1951 allows, the unused half of a
//! one-codeword code) whose trailer matches libdeflate's reading.
#![no_main]

use das_partitioner::decode::InflateError;
use das_partitioner::decode::gunzip;
use das_partitioner::decode::inflate::gunzip_streaming;
use fuzz_support::zlib_refuses_a_code_libdeflate_reads;
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
        let reference = gunzip_streaming(data, cap);
        if ours != reference {
            assert!(
                ours.is_ok()
                    && reference == Err(InflateError::Corrupt)
                    && zlib_refuses_a_code_libdeflate_reads(data),
                "cap {cap}: ours {ours:?}, flate2's reader {reference:?}"
            );
        }
    }
});
