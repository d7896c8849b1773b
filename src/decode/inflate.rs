//! Bounded gunzip of a decrypted DAS payload.

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
}
