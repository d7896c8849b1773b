//! The ESDK decoder against messages made by the official Python aws-encryption-sdk.

use crate::fixtures::{self, Case};
use das_partitioner::esdk::{self, EsdkError, RawAesKeyring, WrappingKey};

fn decrypt(message: &[u8], case: &Case) -> Result<Vec<u8>, EsdkError> {
    let key = case.key();
    esdk::decrypt(message, &RawAesKeyring::das(&key)).map(|p| p.as_bytes().to_vec())
}

/// Offset of `part` inside `whole` (both borrowed from the same message).
fn offset(whole: &[u8], part: &[u8]) -> usize {
    let off = (part.as_ptr() as usize)
        .checked_sub(whole.as_ptr() as usize)
        .unwrap();
    assert!(off + part.len() <= whole.len());
    off
}

fn flipped(message: &[u8], at: usize) -> Vec<u8> {
    flipped_bit(message, at, 0)
}

fn flipped_bit(message: &[u8], at: usize, bit: u32) -> Vec<u8> {
    let mut m = message.to_vec();
    m[at] ^= 1 << bit;
    m
}

#[test]
fn decrypts_every_python_fixture_byte_exact() {
    for case in fixtures::cases() {
        let got = decrypt(&case.message_bytes(), &case).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(got, case.plaintext_bytes(), "{}", case.name);
    }
}

#[test]
fn reports_header_facts_matching_the_fixture_manifest() {
    for case in fixtures::cases() {
        let message = case.message_bytes();
        let parsed = esdk::parse(&message).unwrap();
        let h = &parsed.header;
        assert_eq!(h.suite.id, case.suite_id, "{}", case.name);
        assert_eq!(h.version, case.message_version, "{}", case.name);
        assert_eq!(h.frame_length, case.frame_length, "{}", case.name);
        assert_eq!(parsed.body.frames.len(), case.frames, "{}", case.name);
        assert_eq!(h.suite.is_signed(), case.signed, "{}", case.name);
        let context: std::collections::BTreeMap<String, String> = h
            .context
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(context, case.encryption_context, "{}", case.name);
        assert_eq!(h.encrypted_data_keys.len(), 1);
        assert_eq!(h.encrypted_data_keys[0].provider_id, b"BC");
    }
}

#[test]
fn covers_every_suite_and_both_body_types() {
    let cases = fixtures::cases();
    for suite in &esdk::suite::SUITES {
        assert!(
            cases.iter().any(|c| c.suite_id == suite.id),
            "no fixture for {}",
            suite.name
        );
    }
    assert!(cases.iter().any(|c| c.frame_length == 0));
    assert!(cases.iter().any(|c| c.frame_length == 262_144 && c.frames >= 3));
}

/// Every prefix of every fixture message, the 500 KB ones included, is rejected as cut short
/// or malformed: never accepted, never another error.
#[test]
fn rejects_every_truncation_of_every_message() {
    for case in fixtures::cases() {
        let message = case.message_bytes();
        let key = case.key();
        let keyring = RawAesKeyring::das(&key);
        for len in 0..message.len() {
            match esdk::decrypt(&message[..len], &keyring) {
                Err(EsdkError::Truncated(_) | EsdkError::Invalid(_) | EsdkError::FrameOrder { .. }) => {}
                other => panic!("{} cut at {len}: {other:?}", case.name),
            }
        }
    }
}

/// Every one of the 8 bits of every byte of `name` is rejected.
fn assert_every_bit_flip_rejected(name: &str) {
    let case = fixtures::case(name);
    let message = case.message_bytes();
    for at in 0..message.len() {
        for bit in 0..8 {
            assert!(
                decrypt(&flipped_bit(&message, at, bit), &case).is_err(),
                "{name}: flip of bit {bit} at {at} accepted"
            );
        }
    }
}

/// Many tiny frames (17-byte frames, 0x0178).
#[test]
fn rejects_every_single_bit_flip_of_every_byte_of_a_many_framed_message() {
    assert_every_bit_flip_rejected("s0178-f17-many");
}

/// A non-committing HKDF suite with an encryption context (0x0214, signed P-256).
#[test]
fn rejects_every_single_bit_flip_of_every_byte_of_a_p256_signed_message() {
    assert_every_bit_flip_rejected("s0214-f4096-ctx");
}

/// A committing, P-384-signed suite (0x0578).
#[test]
fn rejects_every_single_bit_flip_of_every_byte_of_a_committing_signed_message() {
    assert_every_bit_flip_rejected("s0578-f4096-noctx");
}

/// A non-framed body.
#[test]
fn rejects_every_single_bit_flip_of_every_byte_of_a_non_framed_message() {
    assert_every_bit_flip_rejected("s0178-nonframed-ctx");
}

/// In a 500 KB signed message: every bit of every byte of every region except the bulk of
/// frame content (header, every frame's sequence number, IV and tag, the final frame's length,
/// the signature), and every bit of the first, middle and last byte of each frame's content.
#[test]
fn rejects_every_single_bit_flip_in_every_region_of_a_large_signed_message() {
    let case = fixtures::case("s0378-f262144-ctx");
    let message = case.message_bytes();
    let parsed = esdk::parse(&message).unwrap();
    let mut positions: Vec<usize> = (0..parsed.header.len).collect();
    for frame in &parsed.body.frames {
        let content = offset(&message, frame.ciphertext);
        // A frame starts with its sequence number and IV (seq 4 + IV 12); a final frame with
        // the end marker, sequence number, IV and content length (4 + 4 + 12 + 4).
        let fields = if frame.kind == esdk::FrameKind::Final {
            24
        } else {
            16
        };
        positions.extend(content - fields..content);
        let len = frame.ciphertext.len();
        if len > 0 {
            positions.extend([content, content + len / 2, content + len - 1]);
        }
        let tag = offset(&message, frame.tag);
        positions.extend(tag..tag + frame.tag.len());
    }
    let signature_start = parsed.body.signed_bytes.len();
    positions.extend(signature_start..message.len());
    positions.sort_unstable();
    positions.dedup();
    for at in positions {
        for bit in 0..8 {
            assert!(
                decrypt(&flipped_bit(&message, at, bit), &case).is_err(),
                "flip of bit {bit} at {at} accepted"
            );
        }
    }
}

#[test]
fn rejects_trailing_bytes() {
    for name in ["s0178-f4096-noctx", "s0378-f4096-ctx", "s0178-nonframed-noctx"] {
        let case = fixtures::case(name);
        let mut message = case.message_bytes();
        message.push(0);
        assert_eq!(
            decrypt(&message, &case),
            Err(EsdkError::TrailingBytes(1)),
            "{name}"
        );
    }
}

#[test]
fn rejects_wrong_wrapping_key() {
    let case = fixtures::case("s0178-f4096-noctx");
    let mut wrong = case.key_bytes();
    wrong[0] ^= 0x80;
    let key = WrappingKey::new(wrong).unwrap();
    let err = esdk::decrypt(&case.message_bytes(), &RawAesKeyring::das(&key)).unwrap_err();
    assert_eq!(err, EsdkError::DataKeyUnwrap);
}

#[test]
fn rejects_data_key_of_another_provider() {
    let case = fixtures::case("s0178-f4096-noctx");
    let key = case.key();
    let keyring = RawAesKeyring {
        provider_id: b"XX",
        key_name: b"DataKey",
        wrapping_key: &key,
    };
    assert_eq!(
        esdk::decrypt(&case.message_bytes(), &keyring).unwrap_err(),
        EsdkError::NoMatchingDataKey
    );
}

#[test]
fn rejects_flipped_data_key_ciphertext() {
    let case = fixtures::case("s0378-f4096-ctx");
    let message = case.message_bytes();
    let edk = esdk::parse(&message).unwrap().header.encrypted_data_keys[0].ciphertext;
    let at = offset(&message, edk) + 5;
    assert_eq!(
        decrypt(&flipped(&message, at), &case),
        Err(EsdkError::DataKeyUnwrap)
    );
}

#[test]
fn rejects_flipped_header_fields_with_header_auth_failure() {
    let case = fixtures::case("s0178-f4096-noctx");
    let message = case.message_bytes();
    let h = esdk::parse(&message).unwrap().header;
    // Message id, header IV and header tag are covered only by the header authentication.
    for at in [offset(&message, h.message_id) + 3, h.len - 20, h.len - 1] {
        assert_eq!(
            decrypt(&flipped(&message, at), &case),
            Err(EsdkError::HeaderAuth),
            "flip at {at}"
        );
    }
}

#[test]
fn rejects_flipped_context_as_data_key_failure() {
    // The context is the AAD of the data-key unwrap, which fails before the header tag.
    let case = fixtures::case("s0178-f4096-ctx");
    let message = case.message_bytes();
    let h = esdk::parse(&message).unwrap().header;
    let value = h.context_value("purpose").unwrap().as_bytes();
    let at = offset(&message, value);
    assert_eq!(
        decrypt(&flipped(&message, at), &case),
        Err(EsdkError::DataKeyUnwrap)
    );
}

#[test]
fn rejects_flipped_frame_body_and_tag_of_unsigned_message() {
    let case = fixtures::case("s0178-f4096-noctx");
    let message = case.message_bytes();
    let body = esdk::parse(&message).unwrap().body;
    let second = &body.frames[1];
    let at_body = offset(&message, second.ciphertext) + 100;
    let at_tag = offset(&message, body.frames[2].tag) + 15;
    assert_eq!(
        decrypt(&flipped(&message, at_body), &case),
        Err(EsdkError::FrameAuth(2))
    );
    assert_eq!(
        decrypt(&flipped(&message, at_tag), &case),
        Err(EsdkError::FrameAuth(3))
    );
}

#[test]
fn rejects_flipped_frame_body_and_signature_of_signed_message() {
    let case = fixtures::case("s0378-f4096-ctx");
    let message = case.message_bytes();
    let body = esdk::parse(&message).unwrap().body;
    let at_body = offset(&message, body.frames[0].ciphertext);
    let at_sig = offset(&message, body.signature.unwrap()) + 40;
    // The signature is checked before any frame is decrypted: no plaintext is produced.
    assert_eq!(
        decrypt(&flipped(&message, at_body), &case),
        Err(EsdkError::Signature)
    );
    assert_eq!(
        decrypt(&flipped(&message, at_sig), &case),
        Err(EsdkError::Signature)
    );
}

#[test]
fn rejects_swapped_frames_as_out_of_order() {
    let case = fixtures::case("s0178-f4096-noctx");
    let message = case.message_bytes();
    let body = esdk::parse(&message).unwrap().body;
    let frame_size = 4 + 12 + 4096 + 16;
    let first = offset(&message, body.frames[0].ciphertext) - 16;
    let mut swapped = message.clone();
    swapped[first..first + frame_size].copy_from_slice(&message[first + frame_size..first + 2 * frame_size]);
    swapped[first + frame_size..first + 2 * frame_size].copy_from_slice(&message[first..first + frame_size]);
    assert_eq!(
        decrypt(&swapped, &case),
        Err(EsdkError::FrameOrder {
            expected: 1,
            found: 2
        })
    );
}

#[test]
fn rejects_unknown_suite_and_version() {
    let case = fixtures::case("s0178-f4096-noctx");
    let mut message = case.message_bytes();
    message[2] = 0x09;
    assert_eq!(decrypt(&message, &case), Err(EsdkError::UnknownSuite(0x0978)));
    message[0] = 0x03;
    assert_eq!(decrypt(&message, &case), Err(EsdkError::UnsupportedVersion(3)));
}

#[test]
fn commitment_suites_reject_a_flipped_commitment() {
    let case = fixtures::case("s0478-f4096-noctx");
    let message = case.message_bytes();
    let h = esdk::parse(&message).unwrap().header;
    let at = offset(&message, h.commitment.unwrap()) + 7;
    assert_eq!(decrypt(&flipped(&message, at), &case), Err(EsdkError::Commitment));
}

#[test]
fn wrapping_key_debug_never_prints_the_key() {
    let key = WrappingKey::new(vec![0xAB; 32]).unwrap();
    let shown = format!("{key:?}");
    assert!(
        !shown.contains("171") && !shown.to_lowercase().contains("ab, "),
        "{shown}"
    );
    assert!(WrappingKey::new(vec![1; 31]).is_err());
}
