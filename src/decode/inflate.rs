//! Bounded gunzip of a decrypted DAS payload.
//!
//! flate2 (zlib-rs) reads every member and tells where each ends. libdeflate inflates these
//! few-KB payloads faster, but its safe binding (libdeflater) cannot say where a member ends,
//! so bytes after the member would go unnoticed: the `inflate` fuzz target found that at once
//! (BENCHMARKS.md).

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
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Err(InflateError::NotGzip);
    }
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::with_capacity(size_hint(data, cap));
    MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| InflateError::Corrupt)?;
    if out.len() > cap {
        return Err(InflateError::TooLarge(cap));
    }
    Ok(out)
}

/// The output's likely size: the last member's ISIZE trailer (the whole payload when it is one
/// member, as DAS writes it), believed only as far as deflate can expand (at most 1,032 times)
/// and the cap; a hint, never a limit.
fn size_hint(data: &[u8], cap: usize) -> usize {
    let trailer = data
        .len()
        .checked_sub(4)
        .and_then(|at| data.get(at..))
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map_or(0, u32::from_le_bytes);
    usize::try_from(trailer)
        .unwrap_or(usize::MAX)
        .min(data.len().saturating_mul(1032))
        .min(cap)
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

    /// Two identical members end with the trailer the first one's output matches: the first
    /// member must not be taken for the whole input.
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

    /// What the `inflate` fuzz target found in a one-member fast path through libdeflate: an
    /// empty member (CRC 0, size 0) followed by zero bytes ending in eight zeros read as that
    /// member alone, the bytes after it ignored (fuzz/regressions/inflate/).
    #[test]
    fn rejects_zero_padding_after_an_empty_member() {
        let mut z = vec![0x1f, 0x8b, 0x08, 0, 0, 0x8c, 0xfc, 0x2d, 0x29, 0x05, 0x03, 0x00];
        z.extend_from_slice(&[0; 8]); // CRC-32 and ISIZE of nothing
        let mut padded = z.clone();
        padded.extend_from_slice(&[0; 13]);
        assert_eq!(gunzip(&z, 100), Ok(Vec::new()));
        assert_eq!(gunzip(&padded, 100), Err(InflateError::Corrupt));
        let found = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/fuzz/regressions/inflate/bytes-after-an-empty-member"
        ))
        .unwrap();
        assert_eq!(gunzip(&found, 1 << 20), Err(InflateError::Corrupt));
    }

    /// The ISIZE trailer is the sender's word (it only sizes the first allocation): one that
    /// understates the output must not truncate it, one that overstates it must not pass.
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
}
