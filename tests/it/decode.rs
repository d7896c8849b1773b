//! Decrypted fixtures through the bounded gunzip and the payload parser.

use crate::fixtures;
use das_partitioner::decode::parse_payload;
use das_partitioner::decode::{InflateError, gunzip};
use das_partitioner::esdk::{self, RawAesKeyring};

const CAP: usize = 64 * 1024 * 1024;

#[test]
fn every_ok_fixture_inflates_to_a_das_payload() {
    for case in fixtures::cases().iter().filter(|c| c.kind == "ok") {
        let key = case.key();
        let plain = esdk::decrypt(&case.message_bytes(), &RawAesKeyring::das(&key)).unwrap();
        let json = gunzip(plain.as_bytes(), CAP).unwrap();
        let payload = parse_payload(&json).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(!payload.events.is_empty(), "{}", case.name);
    }
}

#[test]
fn rejects_gzip_bomb_at_the_cap() {
    let case = fixtures::case("gzip-bomb");
    let key = case.key();
    let plain = esdk::decrypt(&case.message_bytes(), &RawAesKeyring::das(&key)).unwrap();
    assert_eq!(gunzip(plain.as_bytes(), CAP), Err(InflateError::TooLarge(CAP)));
}

#[test]
fn rejects_plaintext_that_is_not_gzip() {
    for name in ["not-gzip", "s0178-f4096-empty"] {
        let case = fixtures::case(name);
        let key = case.key();
        let plain = esdk::decrypt(&case.message_bytes(), &RawAesKeyring::das(&key)).unwrap();
        assert_eq!(
            gunzip(plain.as_bytes(), CAP),
            Err(InflateError::NotGzip),
            "{name}"
        );
    }
}
