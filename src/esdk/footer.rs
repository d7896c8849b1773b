//! The message footer: the ECDSA signature of signed suites.
//!
//! Source: aws-encryption-sdk-specification, data-format/message-footer.md and
//! client-apis/decrypt.md (the signature covers header and body; the public key is the
//! `aws-crypto-public-key` context value, a base64 compressed point).
//!
//! [`verify`] needs the [`AuthenticatedKey`] of the header (so it runs after header
//! authentication) and mints the [`Verified`] body that frame decryption requires.

use super::EsdkError;
use super::body::Body;
use super::kdf::AuthenticatedKey;
use super::point;
use aws_lc_rs::{digest, signature};
use base64::Engine as _;

/// Encryption context key under which signed suites carry the public verification key.
pub const PUBLIC_KEY_CONTEXT_KEY: &str = "aws-crypto-public-key";

/// A body whose signature has verified (or whose suite is unsigned). Only [`verify`] makes one.
pub struct Verified<'b, 'a> {
    body: &'b Body<'a>,
}

impl<'a> Verified<'_, 'a> {
    pub fn body(&self) -> &Body<'a> {
        self.body
    }
}

/// Verifies the signature of a signed suite; for an unsigned suite, checks there is none.
pub fn verify<'b, 'a>(
    key: &AuthenticatedKey<'_, 'a>,
    body: &'b Body<'a>,
) -> Result<Verified<'b, 'a>, EsdkError> {
    let header = key.header();
    match header.suite.signature {
        None if body.signature.is_some() => Err(EsdkError::Invalid("signature on an unsigned suite")),
        None => Ok(Verified { body }),
        Some(algorithm) => {
            let encoded = header
                .context_value(PUBLIC_KEY_CONTEXT_KEY)
                .ok_or(EsdkError::Invalid("signed message without aws-crypto-public-key"))?;
            let public_key = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| EsdkError::Invalid("aws-crypto-public-key (not base64)"))?;
            let signature = body.signature.ok_or(EsdkError::Signature)?;
            if !signature_holds(algorithm, &public_key, body.signed_bytes, signature) {
                return Err(EsdkError::Signature);
            }
            Ok(Verified { body })
        }
    }
}

/// Whether `signature` (DER) by `public_key` (the decoded context value) holds over `signed`.
///
/// A compressed P-384 key, which every signed DAS message carries, is decompressed by
/// [`point`] and the check is [`p384_check`]'s on the SHA-384 digest: aws-lc's own check with a
/// faster scalar inversion, about 28 µs (an eighth) less than aws-lc-rs's (BENCHMARKS.md,
/// "Crypto library choice"). Any other key (curve, form or length) goes to aws-lc-rs as it came.
pub fn signature_holds(
    algorithm: &'static signature::EcdsaVerificationAlgorithm,
    public_key: &[u8],
    signed: &[u8],
    signature: &[u8],
) -> bool {
    match point::p384_key(algorithm, public_key) {
        Some(key) => {
            let digest = digest::digest(&digest::SHA384, signed);
            <&[u8; p384_check::DIGEST_LEN]>::try_from(digest.as_ref())
                .is_ok_and(|digest| p384_check::verify(&key, digest, signature))
        }
        None => signature::UnparsedPublicKey::new(algorithm, public_key)
            .verify(signed, signature)
            .is_ok(),
    }
}
