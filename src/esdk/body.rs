//! The message body (framed and non-framed) and the footer's place: parsed without any key,
//! then decrypted frame by frame once the header and the signature have verified.
//!
//! Source: aws-encryption-sdk-specification, data-format/message-body.md,
//! message-body-aad.md and message-footer.md.

use super::EsdkError;
use super::footer::Verified;
use super::header::{ContentType, Header};
use super::kdf::AuthenticatedKey;
use super::reader::Reader;
use super::suite::{IV_LEN, TAG_LEN};
use zeroize::Zeroize;

/// Marks the final frame of framed data.
const SEQUENCE_NUMBER_END: u32 = 0xFFFF_FFFF;

/// One frame (or the single block of a non-framed body), borrowed from the message.
#[derive(Clone, Debug)]
pub struct Frame<'a> {
    pub sequence_number: u32,
    pub iv: [u8; IV_LEN],
    pub ciphertext: &'a [u8],
    pub tag: &'a [u8],
    pub kind: FrameKind,
}

/// Which body AAD content string a frame is authenticated with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameKind {
    Regular,
    Final,
    SingleBlock,
}

impl FrameKind {
    pub fn aad_content_string(self) -> &'static [u8] {
        match self {
            FrameKind::Regular => b"AWSKMSEncryptionClient Frame",
            FrameKind::Final => b"AWSKMSEncryptionClient Final Frame",
            FrameKind::SingleBlock => b"AWSKMSEncryptionClient Single Block",
        }
    }
}

/// The body and footer of a message.
#[derive(Clone, Debug)]
pub struct Body<'a> {
    pub frames: Vec<Frame<'a>>,
    /// The DER signature of signed suites.
    pub signature: Option<&'a [u8]>,
    /// Header and body: the bytes the signature covers.
    pub signed_bytes: &'a [u8],
}

impl Body<'_> {
    /// Total ciphertext (= plaintext) length.
    pub fn content_len(&self) -> usize {
        self.frames.iter().map(|f| f.ciphertext.len()).sum()
    }
}

/// Parses everything after the header, rejecting out-of-order frames and trailing bytes.
pub fn parse<'a>(message: &'a [u8], header: &Header<'a>) -> Result<Body<'a>, EsdkError> {
    let mut r = Reader::new(message);
    r.take(header.len, "header")?;
    let frames = match header.content_type {
        ContentType::NonFramed => vec![single_block(&mut r)?],
        ContentType::Framed => frames(&mut r, header.frame_length)?,
    };
    let signed_bytes = r.consumed();
    let signature = if header.suite.is_signed() {
        Some(r.u16_prefixed("signature")?)
    } else {
        None
    };
    if !r.is_empty() {
        return Err(EsdkError::TrailingBytes(r.remaining()));
    }
    Ok(Body {
        frames,
        signature,
        signed_bytes,
    })
}

fn single_block<'a>(r: &mut Reader<'a>) -> Result<Frame<'a>, EsdkError> {
    let iv = r.array::<IV_LEN>("non-framed iv")?;
    let len = r.u64("non-framed content length")?;
    let len = usize::try_from(len).map_err(|_| EsdkError::TooLarge("non-framed content length"))?;
    Ok(Frame {
        sequence_number: 1,
        iv,
        ciphertext: r.take(len, "non-framed content")?,
        tag: r.take(TAG_LEN, "non-framed authentication tag")?,
        kind: FrameKind::SingleBlock,
    })
}

fn frames<'a>(r: &mut Reader<'a>, frame_length: u32) -> Result<Vec<Frame<'a>>, EsdkError> {
    let frame_len = usize::try_from(frame_length).map_err(|_| EsdkError::TooLarge("frame length"))?;
    let mut frames = Vec::new();
    let mut expected: u32 = 1;
    loop {
        let first = r.u32("frame sequence number")?;
        if first == SEQUENCE_NUMBER_END {
            let found = r.u32("final frame sequence number")?;
            if found != expected {
                return Err(EsdkError::FrameOrder { expected, found });
            }
            let iv = r.array::<IV_LEN>("final frame iv")?;
            let len = r.u32("final frame content length")?;
            if len > frame_length {
                return Err(EsdkError::Invalid(
                    "final frame length (exceeds the frame length)",
                ));
            }
            let len = usize::try_from(len).map_err(|_| EsdkError::TooLarge("final frame length"))?;
            frames.push(Frame {
                sequence_number: found,
                iv,
                ciphertext: r.take(len, "final frame content")?,
                tag: r.take(TAG_LEN, "final frame authentication tag")?,
                kind: FrameKind::Final,
            });
            return Ok(frames);
        }
        if first != expected {
            return Err(EsdkError::FrameOrder {
                expected,
                found: first,
            });
        }
        frames.push(Frame {
            sequence_number: first,
            iv: r.array::<IV_LEN>("frame iv")?,
            ciphertext: r.take(frame_len, "frame content")?,
            tag: r.take(TAG_LEN, "frame authentication tag")?,
            kind: FrameKind::Regular,
        });
        // The final frame's sequence number must fit below the end marker.
        expected = expected
            .checked_add(1)
            .filter(|n| *n != SEQUENCE_NUMBER_END)
            .ok_or(EsdkError::TooLarge("frame count"))?;
    }
}

/// Plaintext that has passed every check. Only [`decrypt`] makes one. Zeroed when dropped,
/// capacity included, and so is the partial output of a decryption that failed.
pub struct Plaintext(Vec<u8>);

impl Drop for Plaintext {
    /// As slices, not through `Zeroizing<Vec<u8>>`: zeroize writes a `Vec`'s elements one
    /// volatile byte at a time (half a µs of a fifty-event record's 6 KB, BENCHMARKS.md), a
    /// slice of bytes in bulk behind an optimization barrier.
    fn drop(&mut self) {
        self.0.as_mut_slice().zeroize();
        self.0.spare_capacity_mut().zeroize();
    }
}

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

/// Decrypts every frame of a body whose header authenticated under `key` and whose signature
/// verified. A failing frame zeroizes what was decrypted before it.
pub fn decrypt(key: &AuthenticatedKey<'_, '_>, verified: Verified<'_, '_>) -> Result<Plaintext, EsdkError> {
    let body = verified.body();
    let message_id = key.header().message_id;
    // Room for the plaintext and one tag: the frame being opened holds its tag after its
    // ciphertext, so without it the buffer grew at the first frame, a copy of every byte before
    // it, and for a many-framed message the old buffer was freed holding plaintext that was
    // never zeroed. A `Plaintext` from the start, so that it zeroes what a failing frame leaves.
    let mut out = Plaintext(Vec::with_capacity(body.content_len().saturating_add(TAG_LEN)));
    for frame in &body.frames {
        let start = out.0.len();
        out.0.extend_from_slice(frame.ciphertext);
        out.0.extend_from_slice(frame.tag);
        let aad = frame_aad(message_id, frame);
        let opened = out
            .0
            .get_mut(start..)
            .and_then(|in_out| key.open(frame.iv, &aad, in_out));
        if opened != Some(frame.ciphertext.len()) {
            return Err(EsdkError::FrameAuth(frame.sequence_number));
        }
        out.0.truncate(start + frame.ciphertext.len());
    }
    Ok(out)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::esdk::{RawAesKeyring, WrappingKey};
    use base64::Engine;

    /// A fixture of the official Python aws-encryption-sdk (tests/fixtures/esdk), and its key.
    fn fixture(name: &str) -> (Vec<u8>, WrappingKey) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/esdk");
        let cases: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("cases.json")).unwrap()).unwrap();
        let case = cases
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap();
        let key = base64::engine::general_purpose::STANDARD
            .decode(case["wrappingKey"].as_str().unwrap())
            .unwrap();
        let message = std::fs::read(dir.join(case["message"].as_str().unwrap())).unwrap();
        (message, WrappingKey::new(key).unwrap())
    }

    #[test]
    fn decrypts_into_one_buffer_that_never_grows() {
        for name in ["s0178-f17-many", "s0178-f128-many", "s0014-f4096-noctx"] {
            let (message, key) = fixture(name);
            let content_len = crate::esdk::parse(&message).unwrap().body.content_len();
            let plaintext = crate::esdk::decrypt(&message, &RawAesKeyring::das(&key)).unwrap();
            assert_eq!(plaintext.0.len(), content_len, "{name}");
            // A buffer that grew would have at least doubled its first capacity.
            assert_eq!(plaintext.0.capacity(), content_len + TAG_LEN, "{name}");
        }
    }
}
