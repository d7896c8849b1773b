//! Algorithm suites of the AWS Encryption SDK message format.
//!
//! Source: aws-encryption-sdk-specification, framework/algorithm-suites.md and
//! framework/transitive-requirements.md.

use aws_lc_rs::{aead, hkdf, signature};

/// How the content key is derived from the data key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kdf {
    /// The data key is the content key (the `NO_KDF` suites).
    Identity,
    /// HKDF; salt = zeros, info = suite id ‖ message id (v1 suites).
    Hkdf(hkdf::Algorithm),
    /// HKDF-SHA512 with key commitment; salt = message id, info = suite id ‖ "DERIVEKEY"
    /// (v2 suites), plus a commitment key with info "COMMITKEY".
    HkdfCommitting,
}

/// One algorithm suite.
#[derive(Debug)]
pub struct Suite {
    pub id: u16,
    /// The specification's enum name.
    pub name: &'static str,
    /// Message format version the suite is used with (1 or 2).
    pub message_version: u8,
    pub aead: &'static aead::Algorithm,
    /// Data key length in bytes (the KDF input).
    pub data_key_len: usize,
    pub kdf: Kdf,
    /// Signature algorithm for signed suites.
    pub signature: Option<&'static signature::EcdsaVerificationAlgorithm>,
}

/// IV length of every ESDK suite.
pub const IV_LEN: usize = 12;
/// Authentication tag length of every ESDK suite.
pub const TAG_LEN: usize = 16;
/// Length of the commitment value in v2 headers (suite data).
pub const COMMITMENT_LEN: usize = 32;

const fn suite(
    id: u16,
    name: &'static str,
    aead: &'static aead::Algorithm,
    data_key_len: usize,
    kdf: Kdf,
    signature: Option<&'static signature::EcdsaVerificationAlgorithm>,
) -> Suite {
    let message_version = if matches!(kdf, Kdf::HkdfCommitting) { 2 } else { 1 };
    Suite {
        id,
        name,
        message_version,
        aead,
        data_key_len,
        kdf,
        signature,
    }
}

use aead::{AES_128_GCM, AES_192_GCM, AES_256_GCM};
use hkdf::{HKDF_SHA256, HKDF_SHA384};
use signature::{ECDSA_P256_SHA256_ASN1, ECDSA_P384_SHA384_ASN1};

/// Every suite the decoder accepts.
pub static SUITES: [Suite; 11] = [
    suite(
        0x0014,
        "ALG_AES_128_GCM_IV12_TAG16_NO_KDF",
        &AES_128_GCM,
        16,
        Kdf::Identity,
        None,
    ),
    suite(
        0x0046,
        "ALG_AES_192_GCM_IV12_TAG16_NO_KDF",
        &AES_192_GCM,
        24,
        Kdf::Identity,
        None,
    ),
    suite(
        0x0078,
        "ALG_AES_256_GCM_IV12_TAG16_NO_KDF",
        &AES_256_GCM,
        32,
        Kdf::Identity,
        None,
    ),
    suite(
        0x0114,
        "ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256",
        &AES_128_GCM,
        16,
        Kdf::Hkdf(HKDF_SHA256),
        None,
    ),
    suite(
        0x0146,
        "ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA256",
        &AES_192_GCM,
        24,
        Kdf::Hkdf(HKDF_SHA256),
        None,
    ),
    suite(
        0x0178,
        "ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA256",
        &AES_256_GCM,
        32,
        Kdf::Hkdf(HKDF_SHA256),
        None,
    ),
    suite(
        0x0214,
        "ALG_AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256",
        &AES_128_GCM,
        16,
        Kdf::Hkdf(HKDF_SHA256),
        Some(&ECDSA_P256_SHA256_ASN1),
    ),
    suite(
        0x0346,
        "ALG_AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
        &AES_192_GCM,
        24,
        Kdf::Hkdf(HKDF_SHA384),
        Some(&ECDSA_P384_SHA384_ASN1),
    ),
    suite(
        0x0378,
        "ALG_AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384",
        &AES_256_GCM,
        32,
        Kdf::Hkdf(HKDF_SHA384),
        Some(&ECDSA_P384_SHA384_ASN1),
    ),
    suite(
        0x0478,
        "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
        &AES_256_GCM,
        32,
        Kdf::HkdfCommitting,
        None,
    ),
    suite(
        0x0578,
        "ALG_AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
        &AES_256_GCM,
        32,
        Kdf::HkdfCommitting,
        Some(&ECDSA_P384_SHA384_ASN1),
    ),
];

impl Suite {
    /// Looks a suite up by its two-byte id.
    pub fn by_id(id: u16) -> Option<&'static Suite> {
        SUITES.iter().find(|s| s.id == id)
    }

    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }

    /// The id as the specification writes it, e.g. `0x0378`.
    pub fn id_hex(&self) -> String {
        format!("{:#06x}", self.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_ids_are_unique_and_versions_match_commitment() {
        for (i, a) in SUITES.iter().enumerate() {
            for b in SUITES.iter().skip(i + 1) {
                assert_ne!(a.id, b.id);
            }
            assert_eq!(a.message_version == 2, a.id >= 0x0478, "{}", a.name);
            assert_eq!(a.aead.key_len(), a.data_key_len.min(32), "{}", a.name);
        }
    }

    #[test]
    fn formats_ids_like_the_specification() {
        assert_eq!(Suite::by_id(0x0178).unwrap().id_hex(), "0x0178");
        assert_eq!(Suite::by_id(0x0014).unwrap().id_hex(), "0x0014");
        assert!(Suite::by_id(0x0000).is_none());
    }
}
