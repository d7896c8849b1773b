//! Bounded gunzip of a decrypted DAS payload.
//!
//! DAS writes one gzip member per record. That member goes through libdeflate (whole-buffer,
//! about twice zlib-rs's speed on these few-KB payloads: BENCHMARKS.md), sized by its ISIZE
//! trailer. Anything else (several members, a trailer that does not end the input, an ISIZE
//! over the cap or one that lies, corrupt data) goes to the streaming decoder, which decides.

use libdeflater::Decompressor;
use std::cell::RefCell;
// The bufread decoder reads the slice in place; the read one would copy it through a zeroed
// 32 KiB buffer for every record.
use flate2::bufread::MultiGzDecoder;
use std::io::Read;

/// Why a payload did not inflate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InflateError {
    #[error("payload is not gzip (no 1f 8b magic)")]
    NotGzip,
    #[error("payload is corrupt gzip")]
    Corrupt,
    #[error("payload inflates beyond the cap of {0} bytes")]
    TooLarge(usize),
}

impl InflateError {
    pub fn label(&self) -> &'static str {
        match self {
            InflateError::NotGzip => "gzip_not_gzip",
            InflateError::Corrupt => "gzip_corrupt",
            InflateError::TooLarge(_) => "gzip_too_large",
        }
    }
}

/// Gunzips `data` (one or more gzip members), failing as soon as the output would exceed `cap`.
pub fn gunzip(data: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    if !data.starts_with(&GZIP_MAGIC) {
        return Err(InflateError::NotGzip);
    }
    match one_member(data, cap) {
        Some(out) => Ok(out),
        None => gunzip_streaming(data, cap),
    }
}

/// The first bytes of every gzip member: magic and compression method 8 (deflate), which
/// the streaming decoder requires of each member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const MEMBER_START: [u8; 3] = [0x1f, 0x8b, 0x08];

thread_local! {
    /// One decompressor a thread (about 11 KB of tables), reused record after record.
    static DECOMPRESSOR: RefCell<Decompressor> = RefCell::new(Decompressor::new());
}

/// The common case: `data` is exactly one member. `None` when it may not be (the caller then
/// decodes it the streaming way); `Some` only for output whose CRC-32 and length libdeflate
/// checked against the member's trailer, that trailer being the input's last 8 bytes.
fn one_member(data: &[u8], cap: usize) -> Option<Vec<u8>> {
    let trailer = data.len().checked_sub(8).and_then(|at| data.get(at..))?;
    let (crc, size) = trailer.split_at(4);
    let size = usize::try_from(u32::from_le_bytes(size.try_into().ok()?)).ok()?;
    // An ISIZE over the cap: the streaming decoder reports it (or the corruption) exactly.
    // A second member anywhere: the streaming decoder reads them all. (Compressed data holds
    // these three bytes by chance about once in 16 MB; that record just takes the slow path.)
    if size > cap || memchr::memmem::find(data.get(1..)?, &MEMBER_START).is_some() {
        return None;
    }
    let mut out = vec![0; size];
    let written = DECOMPRESSOR
        .with(|d| d.borrow_mut().gzip_decompress(data, &mut out))
        .ok()?;
    // libdeflate checked the trailer after the deflate stream; it must also be the last 8
    // bytes, or bytes follow the member (the streaming decoder rejects those).
    let ends_input = written == size && libdeflater::crc32(&out).to_le_bytes() == crc;
    ends_input.then_some(out)
}

/// Every member, through zlib-rs, stopping one byte past the cap: the way any payload that is
/// not exactly one member is read, and the reference the fast path is checked against (unit
/// tests, the `inflate` fuzz target).
pub fn gunzip_streaming(data: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::with_capacity(data.len().saturating_mul(8).min(cap));
    MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| InflateError::Corrupt)?;
    if out.len() > cap {
        return Err(InflateError::TooLarge(cap));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::{Compression, write::GzEncoder};
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn inflates_within_the_cap() {
        assert_eq!(gunzip(&gzip(b"hello"), 5).unwrap(), b"hello");
    }

    #[test]
    fn rejects_output_one_byte_over_the_cap() {
        assert_eq!(gunzip(&gzip(b"hello!"), 5), Err(InflateError::TooLarge(5)));
    }

    #[test]
    fn rejects_raw_zlib_and_plain_json() {
        assert_eq!(gunzip(b"{\"type\":1}", 100), Err(InflateError::NotGzip));
        assert_eq!(gunzip(&[0x78, 0x9c, 0, 0], 100), Err(InflateError::NotGzip));
    }

    #[test]
    fn rejects_truncated_gzip() {
        let z = gzip(&[7u8; 1000]);
        assert_eq!(gunzip(&z[..z.len() - 9], 10_000), Err(InflateError::Corrupt));
    }

    #[test]
    fn reads_concatenated_members() {
        let mut z = gzip(b"ab");
        z.extend(gzip(b"cd"));
        assert_eq!(gunzip(&z, 10).unwrap(), b"abcd");
    }

    /// Two identical members end with the trailer the first one's output matches: the fast
    /// path must not take the first member for the whole input.
    #[test]
    fn reads_both_of_two_identical_members() {
        let mut z = gzip(b"same");
        z.extend(gzip(b"same"));
        assert_eq!(gunzip(&z, 10).unwrap(), b"samesame");
    }

    #[test]
    fn rejects_bytes_after_the_last_member() {
        let mut z = gzip(b"hello");
        z.extend_from_slice(b"\0\0\0\0\0\0\0\0\0");
        assert_eq!(gunzip(&z, 100), Err(InflateError::Corrupt));
    }

    /// The ISIZE trailer is the sender's word: one that understates the output must not
    /// truncate it, one that overstates it must not fail a payload that fits.
    #[test]
    fn treats_a_size_trailer_that_lies_as_corruption() {
        let data = vec![b'x'; 5000];
        let z = gzip(&data);
        let at = z.len() - 4;
        for lie in [0u32, 100, 4999, 5001, 1 << 30] {
            let mut bad = z.clone();
            bad[at..].copy_from_slice(&lie.to_le_bytes());
            // The streaming decoder checks ISIZE too: a lie is corruption either way, never
            // other output.
            assert_eq!(gunzip(&bad, 10_000), Err(InflateError::Corrupt), "ISIZE {lie}");
        }
        assert_eq!(gunzip(&z, 10_000).unwrap(), data);
        assert_eq!(gunzip(&z, 4_999), Err(InflateError::TooLarge(4_999)));
    }

    /// Both decoders give the same answer, on payloads like DAS's and on damaged ones.
    #[test]
    fn agrees_with_the_streaming_decoder() {
        let event = br#"{"type":"record","clusterId":"cluster-X","databaseActivityEventList":[{"class":"READ","command":"SELECT"}]}"#;
        let mut inputs = vec![gzip(event), gzip(&event.repeat(40)), gzip(b"")];
        let z = gzip(&event.repeat(40));
        for cut in [1, 8, 9, z.len() / 2] {
            inputs.push(z[..z.len() - cut].to_vec());
        }
        for flip in [12, z.len() / 2, z.len() - 6, z.len() - 2] {
            let mut bad = z.clone();
            bad[flip] ^= 0x40;
            inputs.push(bad);
        }
        for input in &inputs {
            for cap in [0, 100, 1 << 20] {
                assert_eq!(
                    gunzip(input, cap),
                    gunzip_streaming(input, cap),
                    "{} bytes, cap {cap}",
                    input.len()
                );
            }
        }
    }
}
