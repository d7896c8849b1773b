//! The AWS Encryption SDK message under a fixed key: the first byte picks one of the official
//! fixtures' wrapping keys (so every fixture is a seed), the rest is the message. Parsing and
//! decryption never panic; a message that decrypts also parses, and its plaintext is never
//! longer than its ciphertext.
#![no_main]

use das_partitioner::esdk::{self, RawAesKeyring};
use fuzz_support::fixture_keys;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, message)) = data.split_first() else {
        return;
    };
    let keys = fixture_keys();
    let key = &keys[usize::from(pick) % keys.len()];
    let parsed = esdk::parse(message);
    match esdk::decrypt(message, &RawAesKeyring::das(key)) {
        Ok(plaintext) => {
            assert!(parsed.is_ok(), "a message that decrypts must parse");
            assert!(plaintext.as_bytes().len() <= message.len());
        }
        Err(e) => assert!(!e.label().is_empty()),
    }
});
