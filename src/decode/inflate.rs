//! Bounded gunzip of a decrypted DAS payload.
//!
//! Every member is read as RFC 1952 says, and as flate2's `MultiGzDecoder` reads it (the
//! `inflate` fuzz target holds the two equal): a header (reserved flags, the optional fields
//! and their CRC checked), one raw deflate stream, the CRC-32 and size trailer, then either the
//! end of the input or the next member.
//!
//! Why not `MultiGzDecoder` itself: through `Read`, zlib-rs inflates a few-KB payload in
//! output-sized steps, and flate2's CRC goes through zlib-rs's table-driven CRC-32. Here the
//! deflate stream is inflated in one call into a buffer sized from the trailer (zlib-rs still
//! copies the output into its window once; the inflater and its window are made once per
//! thread), zlib-rs says exactly where the stream ended, and the CRC is crc32fast's (carry-less
//! multiply). libdeflate would inflate faster still, but its safe binding cannot say where a
//! member ends, so bytes after it would go unnoticed: the fuzz target found that at once
//! (BENCHMARKS.md).

use crate::limits::MAX_GZIP_HEADER_TEXT_BYTES;
use flate2::{Decompress, FlushDecompress, Status};
use std::cell::RefCell;

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

const MAGIC: [u8; 2] = [0x1f, 0x8b];
/// Header flags (RFC 1952 §2.3.1).
const FHCRC: u8 = 1 << 1;
const FEXTRA: u8 = 1 << 2;
const FNAME: u8 = 1 << 3;
const FCOMMENT: u8 = 1 << 4;
const FRESERVED: u8 = 0b1110_0000;
/// The trailer: CRC-32 and size of the member's output, little-endian.
const TRAILER: usize = 8;
/// Output room past the expected size. zlib-rs decodes with its fast loop only while at least
/// 260 bytes of room are left, and symbol by symbol after that: sized exactly, the last 260
/// bytes of every payload took the slow path, 4% of a one-event record's instructions.
const FAST_LOOP_ROOM: usize = 260;
/// The output's first growth when the trailer's size was too small.
const MIN_GROWTH: usize = 1024;

/// Gunzips `data` (one or more gzip members), failing as soon as the output would exceed `cap`.
pub fn gunzip(data: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    if !data.starts_with(&MAGIC) {
        return Err(InflateError::NotGzip);
    }
    INFLATER.with_borrow_mut(|inflater| gunzip_with(inflater, data, cap))
}

thread_local! {
    /// One raw inflater per thread, reset for each member: creating one zeroes its state (about
    /// 10 KB), which cost as much as inflating a small record's payload.
    static INFLATER: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

fn gunzip_with(inflater: &mut Decompress, data: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::with_capacity(first_capacity(data, cap));
    let mut rest = data;
    while !rest.is_empty() {
        let body = rest.get(header_len(rest)?..).ok_or(InflateError::Corrupt)?;
        let start = out.len();
        inflater.reset(false);
        let used = inflate_member(inflater, body, &mut out, cap)?;
        let trailer = body
            .get(used..)
            .and_then(|t| t.get(..TRAILER))
            .ok_or(InflateError::Corrupt)?;
        let member = out.get(start..).unwrap_or_default();
        // ISIZE is the size modulo 2^32.
        let size = u32::try_from(member.len() & 0xffff_ffff).unwrap_or_default();
        let (crc, isize) = trailer.split_at(4);
        if *crc != crc32fast::hash(member).to_le_bytes() || *isize != size.to_le_bytes() {
            return Err(InflateError::Corrupt);
        }
        rest = body.get(used + TRAILER..).unwrap_or_default();
    }
    Ok(out)
}

/// Inflates the raw deflate stream at the start of `body` onto `out`, which never grows past
/// one byte over `cap`; returns how many bytes of `body` the stream took.
fn inflate_member(
    inflater: &mut Decompress,
    body: &[u8],
    out: &mut Vec<u8>,
    cap: usize,
) -> Result<usize, InflateError> {
    let limit = cap.saturating_add(1);
    let mut used = 0usize;
    loop {
        if out.len() == out.capacity() {
            let growth = out
                .capacity()
                .max(MIN_GROWTH)
                .min(limit.saturating_sub(out.len()));
            if growth == 0 {
                return Err(InflateError::TooLarge(cap));
            }
            out.reserve_exact(growth);
        }
        let before = inflater.total_in();
        let input = body.get(used..).unwrap_or_default();
        // Finish: the whole stream is in `input`, so zlib-rs inflates it in one call when the
        // output fits.
        let status = inflater.decompress_vec(input, out, FlushDecompress::Finish);
        let taken = usize::try_from(inflater.total_in() - before).unwrap_or(usize::MAX);
        used = used.saturating_add(taken);
        // A corrupt stream is corrupt even where the output before the fault passed the cap
        // (zlib-rs reads on past a full output while it needs no output byte), as for the
        // streaming reader.
        let status = status.map_err(|_| InflateError::Corrupt)?;
        if out.len() > cap {
            return Err(InflateError::TooLarge(cap));
        }
        match status {
            Status::StreamEnd => return Ok(used),
            // Room left but no end: the input ran out (a truncated stream).
            _ if out.len() < out.capacity() => return Err(InflateError::Corrupt),
            _ => {}
        }
    }
}

/// The reference `gunzip` is held equal to, output for output and error for error (unit
/// tests, the `inflate` fuzz target): flate2's streaming `MultiGzDecoder`, stopping one byte
/// past the cap. Not on the records' path.
pub fn gunzip_streaming(data: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    use flate2::bufread::MultiGzDecoder;
    use std::io::Read;
    if !data.starts_with(&MAGIC) {
        return Err(InflateError::NotGzip);
    }
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    let mut out = Vec::new();
    MultiGzDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| InflateError::Corrupt)?;
    if out.len() > cap {
        return Err(InflateError::TooLarge(cap));
    }
    Ok(out)
}

/// Length of the member header at the start of `data` (RFC 1952 §2.3), every field checked.
fn header_len(data: &[u8]) -> Result<usize, InflateError> {
    let Some(&[id1, id2, method, flags, ..]) = data.get(..10) else {
        return Err(InflateError::Corrupt);
    };
    if [id1, id2] != MAGIC || method != 8 || flags & FRESERVED != 0 {
        return Err(InflateError::Corrupt);
    }
    let mut at = 10usize;
    if flags & FEXTRA != 0 {
        let xlen = data
            .get(at..at + 2)
            .and_then(|x| <[u8; 2]>::try_from(x).ok())
            .ok_or(InflateError::Corrupt)?;
        let xlen = usize::from(u16::from_le_bytes(xlen));
        at = at + 2 + xlen;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let text = data.get(at..).unwrap_or_default();
            let zero = memchr::memchr(0, text).ok_or(InflateError::Corrupt)?;
            if zero > MAX_GZIP_HEADER_TEXT_BYTES {
                return Err(InflateError::Corrupt);
            }
            at = at + zero + 1;
        }
    }
    if flags & FHCRC != 0 {
        let header = data.get(..at).ok_or(InflateError::Corrupt)?;
        let stored = data
            .get(at..at + 2)
            .and_then(|x| <[u8; 2]>::try_from(x).ok())
            .ok_or(InflateError::Corrupt)?;
        // The low 16 bits of the CRC-32 of the header before it.
        if u32::from(u16::from_le_bytes(stored)) != crc32fast::hash(header) & 0xffff {
            return Err(InflateError::Corrupt);
        }
        at += 2;
    }
    if at > data.len() {
        return Err(InflateError::Corrupt);
    }
    Ok(at)
}

/// The output's first allocation: its likely size, the last member's ISIZE trailer (the whole
/// payload when it is one member, as DAS writes it), believed only as far as deflate can expand
/// (at most 1,032 times), plus `FAST_LOOP_ROOM`, never past one byte over the cap (the most
/// the output may hold); a hint, never a limit.
fn first_capacity(data: &[u8], cap: usize) -> usize {
    let trailer = data
        .len()
        .checked_sub(4)
        .and_then(|at| data.get(at..))
        .and_then(|t| <[u8; 4]>::try_from(t).ok())
        .map_or(0, u32::from_le_bytes);
    usize::try_from(trailer)
        .unwrap_or(usize::MAX)
        .min(data.len().saturating_mul(1032))
        .saturating_add(FAST_LOOP_ROOM)
        .min(cap.saturating_add(1))
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

    /// A member with every optional header field: extra, name, comment and the header CRC.
    fn member_with_every_field(data: &[u8]) -> Vec<u8> {
        let plain = flate2::GzBuilder::new()
            .extra(b"ab\x02\x00xy".to_vec())
            .filename(b"audit.json".to_vec())
            .comment(b"DAS".to_vec())
            .write(Vec::new(), Compression::default());
        let mut plain = plain;
        plain.write_all(data).unwrap();
        let plain = plain.finish().unwrap();
        let header = header_len(&plain).unwrap();
        let mut with_crc = plain[..header].to_vec();
        with_crc[3] |= FHCRC;
        let crc = crc32fast::hash(&with_crc).to_le_bytes();
        with_crc.extend_from_slice(&crc[..2]);
        with_crc.extend_from_slice(&plain[header..]);
        with_crc
    }

    #[test]
    fn agrees_with_flate2s_streaming_reader_on_every_cut_and_flipped_byte() {
        let text: Vec<u8> = (0..3000u32)
            .flat_map(|i| format!("{},", i % 97).into_bytes())
            .collect();
        let mut lying_size = gzip(&text);
        let at = lying_size.len() - 4;
        lying_size[at..].copy_from_slice(&7u32.to_le_bytes());
        let mut two = gzip(b"first");
        two.extend(member_with_every_field(b"second"));
        let cases = [
            gzip(b"hello"),
            gzip(b""),
            gzip(&text),
            lying_size,
            member_with_every_field(b"{\"type\":\"DatabaseActivityMonitoringRecords\"}"),
            two,
        ];
        let mut checked = 0;
        for case in &cases {
            let mut variants = vec![case.clone()];
            variants.extend((0..case.len()).map(|n| case[..n].to_vec()));
            for at in 0..case.len() {
                for bit in [0x01, 0x80] {
                    let mut flipped = case.clone();
                    flipped[at] ^= bit;
                    variants.push(flipped);
                }
            }
            for v in &variants {
                for cap in [0, 4, 5, 6, 1000, 20_000] {
                    assert_eq!(gunzip(v, cap), gunzip_streaming(v, cap), "{v:02x?} cap {cap}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 10_000, "{checked}");
        assert_eq!(
            gunzip(&cases[4], 100).unwrap(),
            br#"{"type":"DatabaseActivityMonitoringRecords"}"#
        );
    }

    #[test]
    fn rejects_a_header_crc_that_does_not_match() {
        let mut z = member_with_every_field(b"x");
        let at = header_len(&z).unwrap() - 1;
        z[at] ^= 1;
        assert_eq!(gunzip(&z, 100), Err(InflateError::Corrupt));
    }

    #[test]
    fn rejects_reserved_header_flags_and_other_methods() {
        for (at, value) in [(3, 0x20), (3, 0x80), (2, 7)] {
            let mut z = gzip(b"x");
            z[at] |= value;
            assert_eq!(
                gunzip(&z, 100),
                Err(InflateError::Corrupt),
                "byte {at} {value:#x}"
            );
        }
    }

    #[test]
    fn inflates_within_the_cap() {
        assert_eq!(gunzip(&gzip(b"hello"), 5).unwrap(), b"hello");
    }

    #[test]
    fn leaves_zlib_rs_room_for_its_fast_loop_within_one_byte_over_the_cap() {
        let text: Vec<u8> = (0..900u32)
            .flat_map(|i| format!("{},", i % 89).into_bytes())
            .collect();
        let out = gunzip(&gzip(&text), 1 << 20).unwrap();
        assert_eq!(out, text);
        // zlib-rs's fast loop needs 260 bytes of room (its INFLATE_FAST_MIN_LEFT).
        assert!(out.capacity() >= text.len() + 260, "{}", out.capacity());
        let tight = gunzip(&gzip(&text), text.len()).unwrap();
        assert!(tight.capacity() <= text.len() + 1, "{}", tight.capacity());
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

    /// The thread's inflater is reused: whatever state a failed stream left it in, the next
    /// stream on the thread starts afresh.
    #[test]
    fn inflates_the_next_stream_correctly_after_any_failure_on_the_same_thread() {
        let data: Vec<u8> = (0..20_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let good = gzip(&data);
        let mut flipped = good.clone();
        flipped[good.len() / 2] ^= 0x40;
        let failures = [
            gunzip(&good[..good.len() / 2], 1 << 20),
            gunzip(&flipped, 1 << 20),
            gunzip(&good, 100),
        ];
        assert!(failures.iter().all(Result::is_err), "{failures:?}");
        assert_eq!(gunzip(&good, 1 << 20).unwrap(), data);
        assert_eq!(gunzip(&gzip(b"hello"), 5).unwrap(), b"hello");
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
