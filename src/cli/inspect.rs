//! Header facts of a DAS record or ESDK message, without any key (`dasp inspect`).

use crate::esdk::{self, EsdkError, keyring};
use base64::Engine as _;
use serde::Serialize;

/// One encrypted data key, as `dasp inspect --json` prints it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataKeyInfo {
    pub provider_id: String,
    pub key_name: String,
}

/// What `dasp inspect --json` prints: exactly these keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MessageInfo {
    pub message_version: u8,
    pub suite_id: String,
    pub suite_name: String,
    pub content_type: String,
    pub frame_length: u32,
    pub frames: usize,
    pub encryption_context_keys: Vec<String>,
    pub encrypted_data_keys: Vec<DataKeyInfo>,
    pub signed: bool,
}

/// Why the input could not be inspected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InspectError {
    #[error("input is empty")]
    Empty,
    #[error("input looks like JSON but is not a DAS envelope with a databaseActivityEvents string")]
    NotEnvelope,
    #[error("databaseActivityEvents is not base64")]
    EnvelopeNotBase64,
    #[error("input is neither a DAS envelope, base64 text nor a binary ESDK message")]
    NotBase64,
    #[error("malformed ESDK message: {0}")]
    Esdk(#[from] EsdkError),
}

/// Accepts a DAS envelope (JSON), a base64 ESDK message, or the binary message itself.
pub fn message_bytes(input: &[u8]) -> Result<Vec<u8>, InspectError> {
    let b64 = base64::engine::general_purpose::STANDARD;
    match input.first() {
        None => Err(InspectError::Empty),
        Some(1 | 2) => Ok(input.to_vec()),
        Some(_) => {
            let text = std::str::from_utf8(input)
                .map_err(|_| InspectError::NotBase64)?
                .trim();
            if text.is_empty() {
                return Err(InspectError::Empty);
            }
            if text.starts_with('{') {
                let value: serde_json::Value =
                    serde_json::from_str(text).map_err(|_| InspectError::NotEnvelope)?;
                let events = value.get("databaseActivityEvents").and_then(|v| v.as_str());
                let events = events.ok_or(InspectError::NotEnvelope)?;
                return b64
                    .decode(events.trim())
                    .map_err(|_| InspectError::EnvelopeNotBase64);
            }
            let compact: String = text.split_whitespace().collect();
            let decoded = b64.decode(compact).map_err(|_| InspectError::NotBase64)?;
            // A Kinesis record's data is the base64 of the envelope JSON: look inside it once.
            match decoded.first() {
                Some(b'{') => message_bytes(&decoded),
                _ => Ok(decoded),
            }
        }
    }
}

/// Parses the whole message structure (header, frames, footer) and reports its facts.
pub fn describe(message: &[u8]) -> Result<MessageInfo, InspectError> {
    let parsed = esdk::parse(message)?;
    let h = &parsed.header;
    Ok(MessageInfo {
        message_version: h.version,
        suite_id: h.suite.id_hex(),
        suite_name: h.suite.name.to_string(),
        content_type: h.content_type.as_str().to_string(),
        frame_length: h.frame_length,
        frames: parsed.body.frames.len(),
        encryption_context_keys: h.context.iter().map(|(k, _)| k.to_string()).collect(),
        encrypted_data_keys: h
            .encrypted_data_keys
            .iter()
            .map(|edk| DataKeyInfo {
                provider_id: String::from_utf8_lossy(edk.provider_id).into_owned(),
                key_name: key_name(edk.provider_info),
            })
            .collect(),
        signed: h.suite.is_signed(),
    })
}

/// The key name in provider info: raw AES keyrings append u32 tag bits, u32 IV length and the
/// IV (20 bytes) to the name; other providers (e.g. aws-kms) store the key id alone.
fn key_name(info: &[u8]) -> String {
    let raw_aes_name = info.len().checked_sub(20).and_then(|n| {
        let (name, rest) = info.split_at_checked(n)?;
        (rest.get(..8)? == [0, 0, 0, 128, 0, 0, 0, 12]).then_some(name)
    });
    let name = raw_aes_name.unwrap_or(info);
    if name == keyring::DAS_KEY_NAME {
        return "DataKey".to_string();
    }
    String::from_utf8_lossy(name).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_key_name_from_raw_aes_provider_info() {
        let mut info = b"DataKey".to_vec();
        info.extend([0, 0, 0, 128, 0, 0, 0, 12]);
        info.extend([7u8; 12]);
        assert_eq!(key_name(&info), "DataKey");
        assert_eq!(
            key_name(b"arn:aws:kms:us-east-1:1:key/abc"),
            "arn:aws:kms:us-east-1:1:key/abc"
        );
    }

    #[test]
    fn accepts_envelope_base64_and_binary_input() {
        assert_eq!(
            message_bytes(b"{\"databaseActivityEvents\":\"AQI=\"}").unwrap(),
            [1, 2]
        );
        assert_eq!(message_bytes(b"  AQI=\n").unwrap(), [1, 2]);
        assert_eq!(message_bytes(&[1, 0x80]).unwrap(), [1, 0x80]);
        // base64 of an envelope, as in a Kinesis record's data
        assert_eq!(
            message_bytes(b"eyJkYXRhYmFzZUFjdGl2aXR5RXZlbnRzIjoiQVFJPSJ9").unwrap(),
            [1, 2]
        );
    }

    #[test]
    fn names_what_is_wrong_with_bad_input() {
        assert_eq!(message_bytes(b""), Err(InspectError::Empty));
        assert_eq!(
            message_bytes(b"{\"key\":\"AQI=\"}"),
            Err(InspectError::NotEnvelope)
        );
        assert_eq!(message_bytes(b"not base64!"), Err(InspectError::NotBase64));
        assert_eq!(
            describe(&[1, 0x80, 0x01]),
            Err(InspectError::Esdk(EsdkError::Truncated("algorithm suite id")))
        );
    }
}
