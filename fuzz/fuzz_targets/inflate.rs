//! The bounded gunzip: any bytes inflate to at most the cap, or fail with a label; a gzip bomb
//! stops at the cap instead of growing.
#![no_main]

use das_partitioner::decode::gunzip;
use libfuzzer_sys::fuzz_target;

const CAP: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    match gunzip(data, CAP) {
        Ok(out) => assert!(out.len() <= CAP),
        Err(e) => assert!(!e.label().is_empty()),
    }
});
