//! Crypto library choice, measured side by side in one run: aws-lc-rs (chosen) against
//! RustCrypto (p384, aes-gcm) and ring on the two operations that dominate DAS decryption: the
//! ECDSA P-384 signature check of signed suites and AES-256-GCM frame decryption. Then the check
//! dasp makes: crates/p384-check, aws-lc's check with RustCrypto's faster scalar inversion.
//!
//!     cargo bench --bench crypto
//!
//! Inputs are a real signed message made by the official Python ESDK
//! (tests/fixtures/esdk/s0378-f4096-ctx.esdk) and a 256 KiB frame. Prints ratios; the machine is
//! shared and noisy, so compare within one run only.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use base64::Engine as _;
use das_partitioner::esdk;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Median time per iteration over several rounds.
fn measure(mut f: impl FnMut(), iterations: u32) -> Duration {
    let mut rounds: Vec<Duration> = (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..iterations {
                f();
            }
            start.elapsed() / iterations
        })
        .collect();
    rounds.sort();
    rounds[rounds.len() / 2]
}

/// One operation on the three libraries, with each other's time over aws-lc-rs's.
fn report(what: &str, lc: Duration, rust_crypto: Duration, ring: Duration, unit_bytes: Option<usize>) {
    let rate = |d: Duration| match unit_bytes {
        Some(n) => format!("{:8.2} GB/s", n as f64 / d.as_secs_f64() / 1e9),
        None => format!("{:8.1} µs  ", d.as_secs_f64() * 1e6),
    };
    let ratio = |d: Duration| d.as_secs_f64() / lc.as_secs_f64();
    println!(
        "{what:<28} aws-lc-rs {}   RustCrypto {} ({:5.2}x)   ring {} ({:5.2}x)",
        rate(lc),
        rate(rust_crypto),
        ratio(rust_crypto),
        rate(ring),
        ratio(ring)
    );
}

fn main() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/esdk/s0378-f4096-ctx.esdk"
    );
    let message = std::fs::read(path).unwrap();
    let parsed = esdk::parse(&message).unwrap();
    let public_key = base64::engine::general_purpose::STANDARD
        .decode(parsed.header.context_value(esdk::PUBLIC_KEY_CONTEXT_KEY).unwrap())
        .unwrap();
    let signed = parsed.body.signed_bytes;
    let signature = parsed.body.signature.unwrap();

    let lc_verify_with = |key: &[u8]| {
        aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1, key)
            .verify(black_box(signed), signature)
            .unwrap()
    };
    // The public key arrives compressed (49 bytes) and ring reads only uncompressed keys, so the
    // three libraries are compared on the uncompressed key; who decompresses it, and at what
    // cost, is measured below.
    let uncompressed = p384::ecdsa::VerifyingKey::from_sec1_bytes(&public_key)
        .unwrap()
        .to_sec1_point(false)
        .as_bytes()
        .to_vec();
    let rc_verify = || {
        use p384::ecdsa::signature::Verifier;
        let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&uncompressed).unwrap();
        let sig = p384::ecdsa::Signature::from_der(signature).unwrap();
        key.verify(black_box(signed), &sig).unwrap()
    };
    let ring_verify = || {
        ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P384_SHA384_ASN1, &uncompressed)
            .verify(black_box(signed), signature)
            .unwrap()
    };
    let lc_uncompressed = measure(|| lc_verify_with(&uncompressed), 200);
    report(
        "ECDSA P-384 verify (9 KB)",
        lc_uncompressed,
        measure(rc_verify, 50),
        measure(ring_verify, 50),
        None,
    );

    // Who decompresses the public key, at what cost.
    let rc_decompress = || {
        let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(black_box(&public_key)).unwrap();
        black_box(key.to_sec1_point(false));
    };
    let ours_decompress = || {
        black_box(esdk::point::decompress_p384(black_box(&public_key)).unwrap());
    };
    assert_eq!(
        esdk::point::decompress_p384(&public_key).unwrap().as_slice(),
        uncompressed.as_slice()
    );
    let ours_then_lc = || {
        let point = esdk::point::decompress_p384(black_box(&public_key)).unwrap();
        lc_verify_with(&point);
    };
    // What dasp runs (esdk::footer::signature_holds): the crate's decompression, SHA-384, then
    // p384-check (aws-lc's check with RustCrypto's scalar inversion).
    let uncompressed_array: [u8; p384_check::UNCOMPRESSED_LEN] = uncompressed.as_slice().try_into().unwrap();
    let check_uncompressed = || {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA384, black_box(signed));
        assert!(p384_check::verify(
            &uncompressed_array,
            digest.as_ref().try_into().unwrap(),
            signature
        ));
    };
    let dasp_check = || {
        let algorithm = &aws_lc_rs::signature::ECDSA_P384_SHA384_ASN1;
        assert!(esdk::footer::signature_holds(
            algorithm,
            black_box(&public_key),
            black_box(signed),
            signature
        ));
    };
    let lc_compressed = measure(|| lc_verify_with(&public_key), 200);
    let rc_point = measure(rc_decompress, 200);
    let ours_point = measure(ours_decompress, 200);
    let ours_verify = measure(ours_then_lc, 200);
    let check = measure(check_uncompressed, 200);
    let dasp = measure(dasp_check, 200);
    println!(
        "P-384 verify: compressed key {:.1} µs, uncompressed key {:.1} µs, decompressed by the crate then verified {:.1} µs",
        lc_compressed.as_secs_f64() * 1e6,
        lc_uncompressed.as_secs_f64() * 1e6,
        ours_verify.as_secs_f64() * 1e6,
    );
    println!(
        "P-384 verify by p384-check: uncompressed key {:.1} µs ({:.2}x aws-lc-rs), dasp's (the crate's decompression, then p384-check) {:.1} µs ({:.2}x aws-lc-rs after the same decompression)",
        check.as_secs_f64() * 1e6,
        lc_uncompressed.as_secs_f64() / check.as_secs_f64(),
        dasp.as_secs_f64() * 1e6,
        ours_verify.as_secs_f64() / dasp.as_secs_f64(),
    );
    println!(
        "P-384 decompression alone: p384 {:.1} µs, the crate's {:.1} µs",
        rc_point.as_secs_f64() * 1e6,
        ours_point.as_secs_f64() * 1e6,
    );

    let key = [7u8; 32];
    let frame = vec![0x5au8; 256 * 1024];
    let nonce = [1u8; 12];
    let aad = b"message id and frame aad";
    let sealed = {
        use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap());
        let mut buf = frame.clone();
        k.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
            .unwrap();
        buf
    };
    let lc_key = {
        use aws_lc_rs::aead::{AES_256_GCM, LessSafeKey, UnboundKey};
        LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).unwrap())
    };
    let mut buf = sealed.clone();
    let lc_open = || {
        use aws_lc_rs::aead::{Aad, Nonce};
        buf.copy_from_slice(&sealed);
        lc_key
            .open_in_place(Nonce::assume_unique_for_key(nonce), Aad::from(aad), &mut buf)
            .unwrap();
    };
    let lc = measure(lc_open, 200);
    let rc_cipher = {
        use aes_gcm::KeyInit;
        aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap()
    };
    let rc_open = || {
        use aes_gcm::aead::Aead;
        let out = rc_cipher
            .decrypt(
                &nonce.into(),
                aes_gcm::aead::Payload {
                    msg: black_box(&sealed),
                    aad,
                },
            )
            .unwrap();
        black_box(out);
    };
    let ring_key =
        ring::aead::LessSafeKey::new(ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, &key).unwrap());
    let mut ring_buf = sealed.clone();
    let ring_open = || {
        ring_buf.copy_from_slice(&sealed);
        ring_key
            .open_in_place(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(aad),
                &mut ring_buf,
            )
            .unwrap();
    };
    report(
        "AES-256-GCM open (256 KiB)",
        lc,
        measure(rc_open, 40),
        measure(ring_open, 200),
        Some(frame.len()),
    );
}
