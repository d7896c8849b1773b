//! The bounded gunzip: any bytes inflate to at most the cap, or fail with a label; a gzip bomb
//! stops at the cap instead of growing. It must agree with flate2's streaming reader
//! (`MultiGzDecoder`) byte for byte and error for error: same output, same rejections.
#![no_main]

use das_partitioner::decode::{InflateError, gunzip};
use flate2::bufread::MultiGzDecoder;
use libfuzzer_sys::fuzz_target;
use std::io::Read;

const CAP: usize = 1 << 20;

fn streaming(data: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Err(InflateError::NotGzip);
    }
    let mut out = Vec::new();
    MultiGzDecoder::new(data)
        .take(cap as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|_| InflateError::Corrupt)?;
    if out.len() > cap {
        return Err(InflateError::TooLarge(cap));
    }
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    // A small cap too, so the fuzzer reaches the cap without a large input.
    for cap in [CAP, 64] {
        let ours = gunzip(data, cap);
        match &ours {
            Ok(out) => assert!(out.len() <= cap),
            Err(e) => assert!(!e.label().is_empty()),
        }
        assert_eq!(ours, streaming(data, cap), "cap {cap}");
    }
});
