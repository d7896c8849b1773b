//! A decoder for AWS Encryption SDK messages, as Database Activity Streams write them.
//!
//! Pure: bytes and a wrapping key in, plaintext out. The order follows the specification's
//! decrypt operation (client-apis/decrypt.md): parse the header and body structure (rejecting
//! trailing bytes) → unwrap the data key → derive the content key (and check the key
//! commitment of v2 suites) → verify the header tag → verify the signature of signed suites →
//! decrypt every frame. Plaintext is returned only once every check has passed; a failure at any
//! step returns an error and the partial output is zeroized.

pub mod body;
pub mod header;
pub mod keyring;
pub mod suite;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::{constant_time, hkdf, signature};
use base64::Engine as _;
use zeroize::Zeroizing;

pub use body::{Body, Frame, FrameKind};
pub use header::{ContentType, EncryptedDataKey, Header};
pub use keyring::{RawAesKeyring, WrappingKey};
pub use suite::Suite;

use crate::codec::Truncated;

/// Encryption context key under which signed suites carry the public verification key.
pub const PUBLIC_KEY_CONTEXT_KEY: &str = "aws-crypto-public-key";

/// Why a message was rejected. Copyable, with static context only: never message contents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EsdkError {
    #[error("message truncated in the {0}")]
    Truncated(&'static str),
    #[error("unsupported message format version {0:#04x}")]
    UnsupportedVersion(u8),
    #[error("unsupported message type {0:#04x}")]
    UnsupportedType(u8),
    #[error("unknown algorithm suite {0:#06x}")]
    UnknownSuite(u16),
    #[error("invalid {0}")]
    Invalid(&'static str),
    #[error("{0} exceeds its limit")]
    TooLarge(&'static str),
    #[error("frame out of order: expected sequence number {expected}, found {found}")]
    FrameOrder { expected: u32, found: u32 },
    #[error("{0} trailing bytes after the end of the message")]
    TrailingBytes(usize),
    #[error("no encrypted data key for this keyring (expected provider BC, key DataKey)")]
    NoMatchingDataKey,
    #[error("the data key did not decrypt: wrong wrapping key or corrupted data key")]
    DataKeyUnwrap,
    #[error("key commitment does not match: wrong key or corrupted header")]
    Commitment,
    #[error("header authentication failed")]
    HeaderAuth,
    #[error("frame {0} authentication failed")]
    FrameAuth(u32),
    #[error("signature verification failed")]
    Signature,
}

impl From<Truncated> for EsdkError {
    fn from(t: Truncated) -> Self {
        EsdkError::Truncated(t.0)
    }
}

impl EsdkError {
    /// A stable label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            EsdkError::Truncated(_) => "esdk_truncated",
            EsdkError::UnsupportedVersion(_) => "esdk_unsupported_version",
            EsdkError::UnsupportedType(_) => "esdk_unsupported_type",
            EsdkError::UnknownSuite(_) => "esdk_unknown_suite",
            EsdkError::Invalid(_) => "esdk_invalid",
            EsdkError::TooLarge(_) => "esdk_too_large",
            EsdkError::FrameOrder { .. } => "esdk_frame_order",
            EsdkError::TrailingBytes(_) => "esdk_trailing_bytes",
            EsdkError::NoMatchingDataKey => "esdk_no_matching_data_key",
            EsdkError::DataKeyUnwrap => "esdk_data_key_unwrap",
            EsdkError::Commitment => "esdk_commitment",
            EsdkError::HeaderAuth => "esdk_header_auth",
            EsdkError::FrameAuth(_) => "esdk_frame_auth",
            EsdkError::Signature => "esdk_signature",
        }
    }
}

/// A parsed message: header and body structure, nothing decrypted.
#[derive(Clone, Debug)]
pub struct Message<'a> {
    pub header: Header<'a>,
    pub body: Body<'a>,
}

/// Parses the whole message structure without any key.
pub fn parse(message: &[u8]) -> Result<Message<'_>, EsdkError> {
    let header = header::parse(message)?;
    let body = body::parse(message, &header)?;
    Ok(Message { header, body })
}

/// Plaintext that has passed every check. Only [`decrypt`] makes one.
pub struct Plaintext(Zeroizing<Vec<u8>>);

impl Plaintext {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext({} bytes, redacted)", self.0.len())
    }
}

/// Decrypts and verifies a whole message.
pub fn decrypt(message: &[u8], keyring: &RawAesKeyring<'_>) -> Result<Plaintext, EsdkError> {
    let Message { header, body } = parse(message)?;
    let suite = header.suite;

    let context_aad = header::serialize_context(&header.context)?;
    let data_key = keyring.unwrap_data_key(&header.encrypted_data_keys, &context_aad, suite.data_key_len)?;
    let content_key = derive_content_key(&header, &data_key)?;

    content_key
        .open_in_place(
            Nonce::assume_unique_for_key(header.auth_iv),
            Aad::from(header.body_bytes),
            &mut header.auth_tag.to_vec(),
        )
        .map_err(|_| EsdkError::HeaderAuth)?;

    if let Some(algorithm) = suite.signature {
        verify_signature(&header, &body, algorithm)?;
    }

    let mut out = Zeroizing::new(Vec::with_capacity(body.content_len()));
    for frame in &body.frames {
        let start = out.len();
        out.extend_from_slice(frame.ciphertext);
        out.extend_from_slice(frame.tag);
        let aad = frame_aad(header.message_id, frame);
        let in_out = out
            .get_mut(start..)
            .ok_or(EsdkError::FrameAuth(frame.sequence_number))?;
        content_key
            .open_in_place(Nonce::assume_unique_for_key(frame.iv), Aad::from(aad), in_out)
            .map_err(|_| EsdkError::FrameAuth(frame.sequence_number))?;
        out.truncate(start + frame.ciphertext.len());
    }
    Ok(Plaintext(out))
}

/// Body AAD: message id ‖ content string ‖ u32 sequence number ‖ u64 content length.
fn frame_aad(message_id: &[u8], frame: &Frame<'_>) -> Vec<u8> {
    let content = frame.kind.aad_content_string();
    let mut aad = Vec::with_capacity(message_id.len() + content.len() + 12);
    aad.extend_from_slice(message_id);
    aad.extend_from_slice(content);
    aad.extend_from_slice(&frame.sequence_number.to_be_bytes());
    let len = u64::try_from(frame.ciphertext.len()).unwrap_or(u64::MAX);
    aad.extend_from_slice(&len.to_be_bytes());
    aad
}

/// A key length for HKDF output.
struct OutLen(usize);

impl hkdf::KeyType for OutLen {
    fn len(&self) -> usize {
        self.0
    }
}

fn derive_content_key(header: &Header<'_>, data_key: &[u8]) -> Result<LessSafeKey, EsdkError> {
    let suite = header.suite;
    let key_len = suite.aead.key_len();
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    let hkdf_failed = || EsdkError::Invalid("key derivation");
    match suite.kdf {
        suite::Kdf::Identity => {
            key.copy_from_slice(data_key.get(..key_len).ok_or_else(hkdf_failed)?);
        }
        suite::Kdf::Hkdf(algorithm) => {
            let zeros = [0u8; 64];
            let salt_len = algorithm.hmac_algorithm().digest_algorithm().output_len();
            let salt = hkdf::Salt::new(algorithm, zeros.get(..salt_len).ok_or_else(hkdf_failed)?);
            let info = [&suite.id.to_be_bytes()[..], header.message_id];
            salt.extract(data_key)
                .expand(&info, OutLen(key_len))
                .and_then(|okm| okm.fill(&mut key))
                .map_err(|_| hkdf_failed())?;
        }
        suite::Kdf::HkdfCommitting => {
            let prk = hkdf::Salt::new(hkdf::HKDF_SHA512, header.message_id).extract(data_key);
            let info = [&suite.id.to_be_bytes()[..], b"DERIVEKEY"];
            prk.expand(&info, OutLen(key_len))
                .and_then(|okm| okm.fill(&mut key))
                .map_err(|_| hkdf_failed())?;
            let expected = header.commitment.ok_or(EsdkError::Commitment)?;
            let mut commitment = Zeroizing::new(vec![0u8; expected.len()]);
            prk.expand(&[b"COMMITKEY"], OutLen(expected.len()))
                .and_then(|okm| okm.fill(&mut commitment))
                .map_err(|_| hkdf_failed())?;
            constant_time::verify_slices_are_equal(&commitment, expected)
                .map_err(|_| EsdkError::Commitment)?;
        }
    }
    let unbound = UnboundKey::new(suite.aead, &key).map_err(|_| hkdf_failed())?;
    Ok(LessSafeKey::new(unbound))
}

fn verify_signature(
    header: &Header<'_>,
    body: &Body<'_>,
    algorithm: &'static signature::EcdsaVerificationAlgorithm,
) -> Result<(), EsdkError> {
    let encoded = header
        .context_value(PUBLIC_KEY_CONTEXT_KEY)
        .ok_or(EsdkError::Invalid("signed message without aws-crypto-public-key"))?;
    let public_key = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| EsdkError::Invalid("aws-crypto-public-key (not base64)"))?;
    let signature = body.signature.ok_or(EsdkError::Signature)?;
    signature::UnparsedPublicKey::new(algorithm, &public_key)
        .verify(body.signed_bytes, signature)
        .map_err(|_| EsdkError::Signature)
}
