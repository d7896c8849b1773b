//! TEST SUPPORT ONLY: an AWS Encryption SDK encryptor for the one shape DAS writes for Aurora
//! PostgreSQL (message format v1, suite 0x0178 = AES-256-GCM with HKDF-SHA256, unsigned, framed,
//! raw AES keyring `BC`/`DataKey`), so that tests can encrypt arbitrary hostile plaintexts under
//! a fixed test key. It is not part of the crate and never runs in production.
//!
//! It is checked against the official Python `aws-encryption-sdk`: re-encrypting an official
//! fixture's plaintext (tests/fixtures/esdk/) with that fixture's message id, data key, encrypted
//! data key and header IV reproduces the fixture byte for byte
//! (`test_encryptor_reproduces_official_0x0178_messages_byte_for_byte`). The fuzz targets
//! (fuzz/) include this file too, to seal what they generate.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;

const SUITE_ID: u16 = 0x0178;

/// Everything that determines a message (the official SDK draws the ids and keys at random).
pub struct Seal<'a> {
    pub message_id: [u8; 16],
    pub data_key: [u8; 32],
    /// Serialized encryption context (the header AAD).
    pub context: Vec<u8>,
    /// provider id, provider info, ciphertext of the one encrypted data key.
    pub edk: (Vec<u8>, Vec<u8>, Vec<u8>),
    pub frame_length: u32,
    pub header_iv: [u8; 12],
    pub plaintext: &'a [u8],
}

fn u16_prefixed(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend(u16::try_from(bytes.len()).unwrap().to_be_bytes());
    out.extend(bytes);
}

fn seal_in_place(key: &LessSafeKey, iv: [u8; 12], aad: &[u8], data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut buf = data.to_vec();
    let tag = key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(iv), Aad::from(aad), &mut buf)
        .unwrap();
    (buf, tag.as_ref().to_vec())
}

struct Len32;

impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

impl Seal<'_> {
    pub fn encrypt(&self) -> Vec<u8> {
        let mut m = vec![1, 0x80];
        m.extend(SUITE_ID.to_be_bytes());
        m.extend(self.message_id);
        u16_prefixed(&mut m, &self.context);
        m.extend(1u16.to_be_bytes());
        u16_prefixed(&mut m, &self.edk.0);
        u16_prefixed(&mut m, &self.edk.1);
        u16_prefixed(&mut m, &self.edk.2);
        m.push(2); // framed
        m.extend(0u32.to_be_bytes()); // reserved
        m.push(12); // IV length
        m.extend(self.frame_length.to_be_bytes());

        // Content key: HKDF-SHA256, zero salt, info = suite id ‖ message id.
        let mut content_key = [0u8; 32];
        hkdf::Salt::new(hkdf::HKDF_SHA256, &[0u8; 32])
            .extract(&self.data_key)
            .expand(&[&SUITE_ID.to_be_bytes()[..], &self.message_id[..]], Len32)
            .unwrap()
            .fill(&mut content_key)
            .unwrap();
        let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &content_key).unwrap());

        let (_, tag) = seal_in_place(&key, self.header_iv, &m, &[]);
        m.extend(self.header_iv);
        m.extend(tag);

        let frame_len = usize::try_from(self.frame_length).unwrap();
        let mut rest = self.plaintext;
        let mut seq: u32 = 1;
        loop {
            let last = rest.len() < frame_len;
            let (chunk, tail) = rest.split_at(if last { rest.len() } else { frame_len });
            let mut iv = [0u8; 12];
            iv[8..].copy_from_slice(&seq.to_be_bytes());
            let content: &[u8] = if last {
                b"AWSKMSEncryptionClient Final Frame"
            } else {
                b"AWSKMSEncryptionClient Frame"
            };
            let mut aad = self.message_id.to_vec();
            aad.extend(content);
            aad.extend(seq.to_be_bytes());
            aad.extend(u64::try_from(chunk.len()).unwrap().to_be_bytes());
            let (ciphertext, tag) = seal_in_place(&key, iv, &aad, chunk);
            if last {
                m.extend(u32::MAX.to_be_bytes());
            }
            m.extend(seq.to_be_bytes());
            m.extend(iv);
            if last {
                m.extend(u32::try_from(chunk.len()).unwrap().to_be_bytes());
            }
            m.extend(ciphertext);
            m.extend(tag);
            if last {
                return m;
            }
            rest = tail;
            seq += 1;
        }
    }
}

/// Encrypts `plaintext` the way DAS does, under `wrapping_key`, with fixed test ids and data
/// key and an empty encryption context.
pub fn seal(plaintext: &[u8], wrapping_key: &[u8; 32]) -> Vec<u8> {
    let data_key = [0x5a; 32];
    let wrap_iv = [0x17; 12];
    let wrapper = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, wrapping_key).unwrap());
    let (mut wrapped, tag) = seal_in_place(&wrapper, wrap_iv, &[], &data_key);
    wrapped.extend(tag);
    let mut info = b"DataKey".to_vec();
    info.extend(128u32.to_be_bytes());
    info.extend(12u32.to_be_bytes());
    info.extend(wrap_iv);
    Seal {
        message_id: [0x42; 16],
        data_key,
        context: Vec::new(),
        edk: (b"BC".to_vec(), info, wrapped),
        frame_length: 262_144,
        header_iv: [0; 12],
        plaintext,
    }
    .encrypt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use das_partitioner::esdk::{self, RawAesKeyring, WrappingKey, context};

    /// Re-encrypts an official fixture with its own ids and keys: it must come out identical.
    #[test]
    fn test_encryptor_reproduces_official_0x0178_messages_byte_for_byte() {
        for name in [
            "s0178-f4096-noctx",
            "s0178-f4096-ctx",
            "s0178-f4096-exact3",
            "s0178-f262144-noctx",
        ] {
            let case = fixtures::case(name);
            let message = case.message_bytes();
            let wrapping_key = case.key();
            let parsed = esdk::parse(&message).unwrap();
            let h = &parsed.header;
            assert_eq!(h.suite.id, SUITE_ID, "{name}");
            let context_aad = context::serialize(&h.context).unwrap();
            let data_key = RawAesKeyring::das(&wrapping_key)
                .unwrap_data_key(&h.encrypted_data_keys, &context_aad, 32)
                .unwrap();
            let edk = &h.encrypted_data_keys[0];
            let again = Seal {
                message_id: h.message_id.try_into().unwrap(),
                data_key: data_key.as_slice().try_into().unwrap(),
                context: context_aad,
                edk: (
                    edk.provider_id.to_vec(),
                    edk.provider_info.to_vec(),
                    edk.ciphertext.to_vec(),
                ),
                frame_length: h.frame_length,
                header_iv: h.auth_iv,
                plaintext: &case.plaintext_bytes(),
            }
            .encrypt();
            assert!(
                again == message,
                "{name}: the test encryptor differs from the official SDK"
            );
        }
    }

    /// And what it makes under a fresh key, the crate's decoder opens.
    #[test]
    fn test_encryptor_output_decrypts_with_the_crates_decoder() {
        let key = [7u8; 32];
        for len in [0, 1, 262_143, 262_144, 262_145, 600_000] {
            let plaintext: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let message = seal(&plaintext, &key);
            let wrapping = WrappingKey::new(key.to_vec()).unwrap();
            let opened = esdk::decrypt(&message, &RawAesKeyring::das(&wrapping)).unwrap();
            assert!(opened.as_bytes() == plaintext, "{len}");
        }
    }
}
