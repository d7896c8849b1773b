//! A decoder for AWS Encryption SDK messages, as Database Activity Streams write them.
//!
//! Pure: bytes and a wrapping key in, plaintext out. The order follows the specification's
//! decrypt operation (client-apis/decrypt.md): parse the header and body structure (rejecting
//! trailing bytes) → unwrap the data key → derive the content key (and check the key
//! commitment of v2 suites) → verify the header tag → verify the signature of signed suites →
//! decrypt every frame. Plaintext is returned only once every check has passed; a failure at any
//! step returns an error and the partial output is zeroized.
//!
//! One module per message region, in the order they are used: [`reader`] (bounded big-endian
//! reads), [`suite`], [`header`] with its [`context`], [`keyring`] (the raw AES data key),
//! [`kdf`] (content key, commitment, header authentication), [`footer`] (signature, with the
//! public key from [`point`]) and [`body`] (frames). Proof types enforce the order: [`kdf::DerivedKey::authenticate`] yields
//! the [`kdf::AuthenticatedKey`] that [`footer::verify`] needs, and only the
//! [`footer::Verified`] body it returns can be passed to [`body::decrypt`].

pub mod body;
pub mod context;
pub mod footer;
pub mod header;
pub mod kdf;
pub mod keyring;
pub mod point;
pub mod reader;
pub mod suite;

pub use body::{Body, Frame, FrameKind, Plaintext};
pub use footer::PUBLIC_KEY_CONTEXT_KEY;
pub use header::{ContentType, EncryptedDataKey, Header};
pub use keyring::{RawAesKeyring, WrappingKey};
pub use suite::Suite;

use reader::Truncated;

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

/// Decrypts and verifies a whole message: parse (rejecting trailing bytes) → unwrap the data
/// key → derive the content key (checking the commitment of v2 suites) → authenticate the
/// header → verify the signature → decrypt the frames. Each step takes the previous step's
/// proof, so the order cannot be changed without the compiler noticing.
pub fn decrypt(message: &[u8], keyring: &RawAesKeyring<'_>) -> Result<Plaintext, EsdkError> {
    let Message { header, body } = parse(message)?;
    let context_aad = context::serialize(&header.context)?;
    let data_key = keyring.unwrap_data_key(
        &header.encrypted_data_keys,
        &context_aad,
        header.suite.data_key_len,
    )?;
    let key = kdf::derive(&header, &data_key)?.authenticate(&header)?;
    let verified = footer::verify(&key, &body)?;
    body::decrypt(&key, verified)
}
