//! The content key: derivation from the data key (HKDF, or identity for the `NO_KDF` suites),
//! the key commitment of v2 suites, and header authentication.
//!
//! Source: aws-encryption-sdk-specification, framework/algorithm-suites.md (key derivation,
//! commitment) and data-format/message-header.md (header authentication).
//!
//! The order is enforced by types: [`derive()`] yields a [`DerivedKey`] whose only use is
//! [`DerivedKey::authenticate`]; that yields an [`AuthenticatedKey`], the only value that can open
//! frames, and the proof [`super::footer::verify`] asks for.

use super::EsdkError;
use super::header::Header;
use super::suite::{Kdf, TAG_LEN};
use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::{constant_time, hkdf};
use zeroize::Zeroizing;

/// A content key whose header has not been authenticated yet: it can do nothing but that.
pub struct DerivedKey(LessSafeKey);

/// A content key that has authenticated its message's header. Only
/// [`DerivedKey::authenticate`] makes one.
pub struct AuthenticatedKey<'h, 'a> {
    key: LessSafeKey,
    header: &'h Header<'a>,
}

/// A key length for HKDF output.
struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

/// Derives the content key from the unwrapped data key, and checks the key commitment of
/// committing suites.
pub fn derive(header: &Header<'_>, data_key: &[u8]) -> Result<DerivedKey, EsdkError> {
    let suite = header.suite;
    let key_len = suite.aead.key_len();
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    let failed = || EsdkError::Invalid("key derivation");
    match suite.kdf {
        Kdf::Identity => {
            key.copy_from_slice(data_key.get(..key_len).ok_or_else(failed)?);
        }
        Kdf::Hkdf(algorithm) => {
            let zeros = [0u8; 64];
            let salt_len = algorithm.hmac_algorithm().digest_algorithm().output_len();
            let salt = hkdf::Salt::new(algorithm, zeros.get(..salt_len).ok_or_else(failed)?);
            let info = [&suite.id.to_be_bytes()[..], header.message_id];
            salt.extract(data_key)
                .expand(&info, OutLen(key_len))
                .and_then(|okm| okm.fill(&mut key))
                .map_err(|_| failed())?;
        }
        Kdf::HkdfCommitting => {
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA512, header.message_id).extract(data_key);
            let info = [&suite.id.to_be_bytes()[..], b"DERIVEKEY"];
            prk.expand(&info, OutLen(key_len))
                .and_then(|okm| okm.fill(&mut key))
                .map_err(|_| failed())?;
            let expected = header.commitment.ok_or(EsdkError::Commitment)?;
            let mut commitment = Zeroizing::new(vec![0u8; expected.len()]);
            prk.expand(&[b"COMMITKEY"], OutLen(expected.len()))
                .and_then(|okm| okm.fill(&mut commitment))
                .map_err(|_| failed())?;
            constant_time::verify_slices_are_equal(&commitment, expected)
                .map_err(|_| EsdkError::Commitment)?;
        }
    }
    let unbound = UnboundKey::new(suite.aead, &key).map_err(|_| failed())?;
    Ok(DerivedKey(LessSafeKey::new(unbound)))
}

impl DerivedKey {
    /// Verifies the header authentication tag over the header body.
    pub fn authenticate<'h, 'a>(self, header: &'h Header<'a>) -> Result<AuthenticatedKey<'h, 'a>, EsdkError> {
        // The header's ciphertext is empty: the tag alone is opened, a copy on the stack.
        let mut tag = <[u8; TAG_LEN]>::try_from(header.auth_tag).map_err(|_| EsdkError::HeaderAuth)?;
        self.0
            .open_in_place(
                Nonce::assume_unique_for_key(header.auth_iv),
                Aad::from(header.body_bytes),
                &mut tag,
            )
            .map_err(|_| EsdkError::HeaderAuth)?;
        Ok(AuthenticatedKey { key: self.0, header })
    }
}

impl<'a> AuthenticatedKey<'_, 'a> {
    /// The header this key authenticated.
    pub fn header(&self) -> &Header<'a> {
        self.header
    }

    /// Opens `in_out` (ciphertext ‖ tag) in place; returns the plaintext length.
    pub(super) fn open(
        &self,
        iv: [u8; super::suite::IV_LEN],
        aad: &[u8],
        in_out: &mut [u8],
    ) -> Option<usize> {
        self.key
            .open_in_place(Nonce::assume_unique_for_key(iv), Aad::from(aad), in_out)
            .ok()
            .map(|plain| plain.len())
    }
}
