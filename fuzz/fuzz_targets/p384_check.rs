//! The P-384 signature check of signed suites (crates/p384-check) against aws-lc's own
//! (aws-lc-rs, on the digest): on any key, digest and signature, the same verdict. The first
//! byte says how the rest is read:
//! - even: a 48-byte digest, then a DER signature, checked under a fixed key: arbitrary
//!   signatures, so the DER parser and the range checks of r and s;
//! - odd: bytes 1 and 2 a position in and a mask for the signature, bytes 3 and 4 the same for
//!   the uncompressed key, then the digest, which the fixed key signs (p384, RFC 6979) before the
//!   masks are applied: valid signatures and their near misses. With both masks 0 both checks
//!   must accept. A key whose first byte is no longer 0x04 p384-check refuses, where aws-lc
//!   still reads the hybrid forms 0x06 and 0x07.
//!
//! Short inputs are padded with zeros.
#![no_main]

use aws_lc_rs::digest::{Digest, SHA384};
use aws_lc_rs::signature::{ECDSA_P384_SHA384_ASN1, UnparsedPublicKey};
use libfuzzer_sys::fuzz_target;
use p384::ecdsa::signature::hazmat::PrehashSigner;
use p384::ecdsa::{Signature, SigningKey};
use p384_check::{DIGEST_LEN, UNCOMPRESSED_LEN};

/// Byte `i` of `data`, 0 past its end.
fn byte(data: &[u8], i: usize) -> u8 {
    data.get(i).copied().unwrap_or(0)
}

/// The first 48 bytes of `data`, zero-padded.
fn digest_of(data: &[u8]) -> [u8; DIGEST_LEN] {
    let mut digest = [0u8; DIGEST_LEN];
    for (slot, b) in digest.iter_mut().zip(data) {
        *slot = *b;
    }
    digest
}

/// XORs `mask` into `bytes` at `position` (modulo the length).
fn flip(bytes: &mut [u8], position: u8, mask: u8) {
    let len = bytes.len();
    if let Some(b) = bytes.get_mut(usize::from(position) % len.max(1)) {
        *b ^= mask;
    }
}

fuzz_target!(|data: &[u8]| {
    let signing_key = SigningKey::from_slice(&[0x5a; DIGEST_LEN]).unwrap();
    let mut key: [u8; UNCOMPRESSED_LEN] = signing_key
        .verifying_key()
        .to_sec1_point(false)
        .as_bytes()
        .try_into()
        .unwrap();
    let rest = data.get(1..).unwrap_or(&[]);
    let (digest, signature, unchanged) = if byte(data, 0) % 2 == 0 {
        let signature = rest.get(DIGEST_LEN..).unwrap_or(&[]).to_vec();
        (digest_of(rest), signature, false)
    } else {
        let digest = digest_of(rest.get(4..).unwrap_or(&[]));
        let signed: Signature = signing_key.sign_prehash(&digest).unwrap();
        let mut signature = signed.to_der().as_bytes().to_vec();
        flip(&mut signature, byte(rest, 0), byte(rest, 1));
        flip(&mut key, byte(rest, 2), byte(rest, 3));
        (digest, signature, byte(rest, 1) == 0 && byte(rest, 3) == 0)
    };
    let ours = p384_check::verify(&key, &digest, &signature);
    let theirs = UnparsedPublicKey::new(&ECDSA_P384_SHA384_ASN1, key)
        .verify_digest(&Digest::import_less_safe(&digest, &SHA384).unwrap(), &signature)
        .is_ok();
    if key[0] == 0x04 {
        assert_eq!(ours, theirs, "p384-check and aws-lc disagree");
    } else {
        // aws-lc also reads the hybrid forms (0x06, 0x07); p384-check takes 0x04 only.
        assert!(!ours, "p384-check accepted a key not in the uncompressed form");
    }
    if unchanged {
        assert!(ours, "an unchanged signature must verify");
    }
});
