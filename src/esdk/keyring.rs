//! The raw AES keyring: unwrapping the data key that DAS wraps under the KMS data key.
//!
//! Source: aws-encryption-sdk-specification, framework/raw-aes-keyring.md. Provider info is
//! key name ‖ u32 tag length in bits ‖ u32 IV length ‖ IV; the encrypted data key is
//! AES-GCM(ciphertext ‖ tag) with the serialized encryption context as AAD.

use super::EsdkError;
use super::header::EncryptedDataKey;
use super::suite::{IV_LEN, TAG_LEN};
use aws_lc_rs::aead::{self, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::{Zeroize, Zeroizing};

/// Provider id DAS uses for its raw AES keyring.
pub const DAS_PROVIDER_ID: &[u8] = b"BC";
/// Key name DAS uses for its raw AES keyring.
pub const DAS_KEY_NAME: &[u8] = b"DataKey";

/// A raw AES wrapping key (for DAS: the 32-byte plaintext of the KMS data key), with its
/// AES-GCM key schedule prepared once: a cached data key unwraps every record's data key
/// without expanding the key again. Zeroized on drop (aws-lc cleanses the schedule's memory
/// when it frees it); `Debug` never prints it.
pub struct WrappingKey {
    bytes: Zeroizing<Vec<u8>>,
    aead: LessSafeKey,
}

impl WrappingKey {
    /// Accepts 16, 24 or 32 bytes (AES-128/192/256-GCM wrapping).
    pub fn new(mut bytes: Vec<u8>) -> Result<Self, EsdkError> {
        if !matches!(bytes.len(), 16 | 24 | 32) {
            bytes.zeroize();
            return Err(EsdkError::Invalid("wrapping key length"));
        }
        let bytes = Zeroizing::new(bytes);
        let aead = UnboundKey::new(algorithm(bytes.len()), &bytes)
            .map_err(|_| EsdkError::Invalid("wrapping key length"))?;
        Ok(WrappingKey {
            bytes,
            aead: LessSafeKey::new(aead),
        })
    }

    /// Constant-time comparison with raw key bytes (for tests and diagnostics that must not
    /// print the key).
    pub fn ct_eq(&self, bytes: &[u8]) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.bytes, bytes).is_ok()
    }
}

fn algorithm(key_len: usize) -> &'static aead::Algorithm {
    match key_len {
        16 => &aead::AES_128_GCM,
        24 => &aead::AES_192_GCM,
        _ => &aead::AES_256_GCM,
    }
}

impl std::fmt::Debug for WrappingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WrappingKey({} bytes, redacted)", self.bytes.len())
    }
}

/// A raw AES keyring: provider id, key name and wrapping key.
pub struct RawAesKeyring<'k> {
    pub provider_id: &'k [u8],
    pub key_name: &'k [u8],
    pub wrapping_key: &'k WrappingKey,
}

impl<'k> RawAesKeyring<'k> {
    /// The keyring DAS uses: provider `BC`, key name `DataKey`.
    pub fn das(wrapping_key: &'k WrappingKey) -> Self {
        RawAesKeyring {
            provider_id: DAS_PROVIDER_ID,
            key_name: DAS_KEY_NAME,
            wrapping_key,
        }
    }

    /// Unwraps the first encrypted data key this keyring can decrypt.
    pub fn unwrap_data_key(
        &self,
        edks: &[EncryptedDataKey<'_>],
        context_aad: &[u8],
        data_key_len: usize,
    ) -> Result<Zeroizing<Vec<u8>>, EsdkError> {
        let mut matched = false;
        for edk in edks {
            if edk.provider_id != self.provider_id {
                continue;
            }
            let Some(iv) = self.iv_from_provider_info(edk.provider_info) else {
                continue;
            };
            matched = true;
            if let Some(key) = self.try_unwrap(edk.ciphertext, iv, context_aad, data_key_len) {
                return Ok(key);
            }
        }
        Err(if matched {
            EsdkError::DataKeyUnwrap
        } else {
            EsdkError::NoMatchingDataKey
        })
    }

    /// Checks the provider info is ours (key name, 128-bit tag, 12-byte IV) and returns its IV.
    fn iv_from_provider_info<'a>(&self, info: &'a [u8]) -> Option<&'a [u8]> {
        let rest = info.strip_prefix(self.key_name)?;
        let (tag_bits, rest) = rest.split_first_chunk::<4>()?;
        let (iv_len, iv) = rest.split_first_chunk::<4>()?;
        let tag_ok = u32::from_be_bytes(*tag_bits) == 128;
        let iv_ok = usize::try_from(u32::from_be_bytes(*iv_len)).ok() == Some(IV_LEN) && iv.len() == IV_LEN;
        (tag_ok && iv_ok).then_some(iv)
    }

    fn try_unwrap(
        &self,
        ciphertext: &[u8],
        iv: &[u8],
        context_aad: &[u8],
        data_key_len: usize,
    ) -> Option<Zeroizing<Vec<u8>>> {
        if ciphertext.len() != data_key_len + TAG_LEN {
            return None;
        }
        let key = &self.wrapping_key.aead;
        let nonce = Nonce::try_assume_unique_for_key(iv).ok()?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = key
            .open_in_place(nonce, Aad::from(context_aad), &mut buf)
            .ok()?
            .len();
        buf.truncate(len);
        Some(buf)
    }
}
