//! The message header: version 1.0 and 2.0 bodies, and header authentication.
//!
//! Source: aws-encryption-sdk-specification, data-format/message-header.md and
//! framework/structures.md (encryption context serialization).

use super::EsdkError;
use super::context;
use super::reader::Reader;
use super::suite::{COMMITMENT_LEN, IV_LEN, Suite, TAG_LEN};
use crate::limits::MAX_ENCRYPTED_DATA_KEYS;

/// Framed or non-framed body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ContentType {
    NonFramed,
    Framed,
}

impl ContentType {
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::NonFramed => "non-framed",
            ContentType::Framed => "framed",
        }
    }
}

/// One encrypted data key entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncryptedDataKey<'a> {
    pub provider_id: &'a [u8],
    pub provider_info: &'a [u8],
    pub ciphertext: &'a [u8],
}

/// A parsed header; every slice borrows from the message.
#[derive(Clone, Debug)]
pub struct Header<'a> {
    pub version: u8,
    pub suite: &'static Suite,
    /// 16 bytes (v1) or 32 bytes (v2).
    pub message_id: &'a [u8],
    /// Encryption context pairs in the order of the header.
    pub context: Vec<(&'a str, &'a str)>,
    pub encrypted_data_keys: Vec<EncryptedDataKey<'a>>,
    pub content_type: ContentType,
    pub frame_length: u32,
    /// Commitment value of v2 suites.
    pub commitment: Option<&'a [u8]>,
    /// The header body: the bytes the header authentication tag covers.
    pub body_bytes: &'a [u8],
    /// IV of the header authentication (all zero for v2).
    pub auth_iv: [u8; IV_LEN],
    pub auth_tag: &'a [u8],
    /// Total header length including authentication; the message body starts here.
    pub len: usize,
}

const TYPE_CUSTOMER_AUTHENTICATED_ENCRYPTED_DATA: u8 = 0x80;

/// Parses the header at the start of `message`.
pub fn parse(message: &[u8]) -> Result<Header<'_>, EsdkError> {
    let mut r = Reader::new(message);
    let version = r.u8("version")?;
    if version != 1 && version != 2 {
        return Err(EsdkError::UnsupportedVersion(version));
    }
    if version == 1 {
        let ty = r.u8("type")?;
        if ty != TYPE_CUSTOMER_AUTHENTICATED_ENCRYPTED_DATA {
            return Err(EsdkError::UnsupportedType(ty));
        }
    }
    let suite_id = r.u16("algorithm suite id")?;
    let suite = Suite::by_id(suite_id).ok_or(EsdkError::UnknownSuite(suite_id))?;
    if suite.message_version != version {
        return Err(EsdkError::Invalid("algorithm suite for this message version"));
    }
    let message_id = r.take(if version == 1 { 16 } else { 32 }, "message id")?;

    let aad_len = r.u16("encryption context length")?;
    let mut aad = r.sub(usize::from(aad_len), "encryption context")?;
    let context = context::parse(&mut aad)?;

    let edk_count = r.u16("encrypted data key count")?;
    if edk_count == 0 {
        return Err(EsdkError::Invalid("encrypted data key count (zero)"));
    }
    if usize::from(edk_count) > MAX_ENCRYPTED_DATA_KEYS {
        return Err(EsdkError::TooLarge("encrypted data key count"));
    }
    let mut encrypted_data_keys = Vec::with_capacity(usize::from(edk_count));
    for _ in 0..edk_count {
        encrypted_data_keys.push(EncryptedDataKey {
            provider_id: r.u16_prefixed("key provider id")?,
            provider_info: r.u16_prefixed("key provider info")?,
            ciphertext: r.u16_prefixed("encrypted data key")?,
        });
    }

    let content_type = match r.u8("content type")? {
        1 => ContentType::NonFramed,
        2 => ContentType::Framed,
        _ => return Err(EsdkError::Invalid("content type")),
    };
    if version == 1 {
        if r.u32("reserved")? != 0 {
            return Err(EsdkError::Invalid("reserved field (must be zero)"));
        }
        if usize::from(r.u8("iv length")?) != IV_LEN {
            return Err(EsdkError::Invalid("iv length"));
        }
    }
    let frame_length = r.u32("frame length")?;
    match content_type {
        ContentType::NonFramed if frame_length != 0 => {
            return Err(EsdkError::Invalid("frame length (must be 0 when non-framed)"));
        }
        ContentType::Framed if frame_length == 0 => {
            return Err(EsdkError::Invalid("frame length (must not be 0 when framed)"));
        }
        _ => {}
    }
    let commitment = if version == 2 {
        Some(r.take(COMMITMENT_LEN, "commitment")?)
    } else {
        None
    };
    let body_bytes = r.consumed();

    let auth_iv = if version == 1 {
        r.array::<IV_LEN>("header iv")?
    } else {
        [0; IV_LEN]
    };
    let auth_tag = r.take(TAG_LEN, "header authentication tag")?;

    Ok(Header {
        version,
        suite,
        message_id,
        context,
        encrypted_data_keys,
        content_type,
        frame_length,
        commitment,
        body_bytes,
        auth_iv,
        auth_tag,
        len: r.position(),
    })
}

impl Header<'_> {
    /// The value of an encryption context key.
    pub fn context_value(&self, key: &str) -> Option<&str> {
        self.context.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
}
