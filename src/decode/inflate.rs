//! Bounded gunzip of a decrypted DAS payload.
//!
//! Every member is read as RFC 1952 says, and as flate2's `MultiGzDecoder` reads it (the
//! `inflate` fuzz target holds the two equal): a header (reserved flags, the optional fields
//! and their CRC checked), one raw deflate stream, the CRC-32 and size trailer, then either the
//! end of the input or the next member.
//!
//! Two inflaters read the deflate streams. libdeflate first (through `libdeflate-ex`, whose
//! `deflate_decompress_ex` says where a stream ends): in one call into a buffer sized from the
//! trailer: the gunzip stage 1.3x to 1.7x faster than with zlib-rs on one- to fifty-event
//! payloads (BENCHMARKS.md, nineteenth round). Whatever libdeflate does not read to the end
//! (a stream it refuses, output that outgrows the buffer: a size trailer that lies, several
//! members) is read again from the start with zlib-rs's raw inflate, whose result stands, so
//! every error is zlib-rs's and the cap holds as the streaming reader holds it.
//!
//! Where the two differ: libdeflate accepts a few streams zlib refuses, ones no compressor
//! writes and only a CRC-32 made for libdeflate's reading lets through: a dynamic block
//! declaring more than 286 literal/length or 30 distance codes, the symbols RFC 1951 reserves
//! (literal/length 286 and 287, read as length 258; distance 30 and 31), a code of one
//! codeword read for both bit values, and a distance read from a block with no distance codes.
//! zlib fails such a stream when it meets the code; the `inflate` fuzz target allows exactly
//! that difference. A DAS payload is authenticated before it is inflated.
//!
//! Why not `MultiGzDecoder` itself: through `Read`, zlib-rs inflates a few-KB payload in
//! output-sized steps, and flate2's CRC goes through zlib-rs's table-driven CRC-32; here the
//! CRC is crc32fast's (carry-less multiply).

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
/// Output room past the expected size. Both inflaters decode with their fast loop only while
/// this much room is left and symbol by symbol after that: libdeflate needs 299 bytes, which
/// covers zlib-rs's 260. Sized exactly, the last bytes of every payload took the slow path
/// (with zlib-rs, 4% of a one-event record's instructions).
const FAST_LOOP_ROOM: usize = libdeflate_ex::FAST_LOOP_ROOM;
/// The output's first growth when the trailer's size was too small.
const MIN_GROWTH: usize = 1024;

/// Gunzips `data` (one or more gzip members), failing as soon as the output would exceed `cap`.
pub fn gunzip(data: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    if !data.starts_with(&MAGIC) {
        return Err(InflateError::NotGzip);
    }
    if let Some(out) = LIBDEFLATE.with_borrow_mut(|inflater| gunzip_libdeflate(inflater, data, cap)) {
        return Ok(out);
    }
    ZLIB.with_borrow_mut(|inflater| gunzip_zlib(inflater, data, cap))
}

thread_local! {
    /// One inflater of each kind per thread, made once: creating one costs about as much as
    /// inflating a small record's payload (zlib-rs zeroes about 10 KB of state).
    static LIBDEFLATE: RefCell<libdeflate_ex::Inflater> = RefCell::new(libdeflate_ex::Inflater::new());
    static ZLIB: RefCell<Decompress> = RefCell::new(Decompress::new(false));
}

/// `data` read by libdeflate into one buffer of the first capacity, never grown; `None` for
/// anything else (a bad header, trailer or stream, output that does not fit or passes `cap`),
/// which zlib-rs then reads again.
fn gunzip_libdeflate(inflater: &mut libdeflate_ex::Inflater, data: &[u8], cap: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(first_capacity(data, cap));
    read_members(data, &mut out, |body, out| {
        inflater
            .inflate(body, out)
            .map(|inflated| inflated.consumed)
            .map_err(|_| InflateError::Corrupt)
    })
    .ok()?;
    (out.len() <= cap).then_some(out)
}

/// `data` read by zlib-rs's raw inflate, the output grown as needed up to one byte past `cap`.
fn gunzip_zlib(inflater: &mut Decompress, data: &[u8], cap: usize) -> Result<Vec<u8>, InflateError> {
    let mut out = Vec::with_capacity(first_capacity(data, cap));
    read_members(data, &mut out, |body, out| {
        inflater.reset(false);
        inflate_member(inflater, body, out, cap)
    })?;
    Ok(out)
}

/// Reads every member of `data` onto `out`: `inflate` takes a member's body (its deflate stream
/// and whatever follows) and returns how many bytes the stream took; the trailer after it is
/// checked against what the stream added to `out`.
fn read_members(
    data: &[u8],
    out: &mut Vec<u8>,
    mut inflate: impl FnMut(&[u8], &mut Vec<u8>) -> Result<usize, InflateError>,
) -> Result<(), InflateError> {
    let mut rest = data;
    while !rest.is_empty() {
        let body = rest.get(header_len(rest)?..).ok_or(InflateError::Corrupt)?;
        let start = out.len();
        let used = inflate(body, out)?;
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
    Ok(())
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
/// Public for the `inflate` fuzz target's check of where the two inflaters part.
pub fn header_len(data: &[u8]) -> Result<usize, InflateError> {
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
    fn leaves_both_inflaters_room_for_their_fast_loops_within_one_byte_over_the_cap() {
        let text: Vec<u8> = (0..900u32)
            .flat_map(|i| format!("{},", i % 89).into_bytes())
            .collect();
        let out = gunzip(&gzip(&text), 1 << 20).unwrap();
        assert_eq!(out, text);
        // libdeflate's fast loop needs 299 bytes of room, zlib-rs's 260.
        assert!(out.capacity() >= text.len() + 299, "{}", out.capacity());
        let tight = gunzip(&gzip(&text), text.len()).unwrap();
        assert!(tight.capacity() <= text.len() + 1, "{}", tight.capacity());
    }

    fn libdeflate_alone(data: &[u8], cap: usize) -> Option<Vec<u8>> {
        LIBDEFLATE.with_borrow_mut(|inflater| gunzip_libdeflate(inflater, data, cap))
    }

    #[test]
    fn reads_a_one_member_payload_with_libdeflate_alone() {
        let text: Vec<u8> = (0..5000u32)
            .flat_map(|i| format!("{{\"n\":{}}}", i % 113).into_bytes())
            .collect();
        assert_eq!(libdeflate_alone(&gzip(&text), 1 << 20).unwrap(), text);
        assert_eq!(libdeflate_alone(&gzip(b""), 0).unwrap(), b"");
        assert_eq!(
            libdeflate_alone(&member_with_every_field(b"DAS"), 100).unwrap(),
            b"DAS"
        );
        let mut two = gzip(b"first");
        two.extend(gzip(b"second, which is longer"));
        assert_eq!(
            libdeflate_alone(&two, 100).unwrap(),
            b"firstsecond, which is longer"
        );
    }

    #[test]
    fn leaves_to_zlib_rs_what_libdeflate_does_not_read_to_the_end() {
        let text: Vec<u8> = (0..3000u32).map(|i| (i * 31 % 253) as u8).collect();
        let good = gzip(&text);
        let mut lying_size = good.clone();
        let at = lying_size.len() - 4;
        lying_size[at..].copy_from_slice(&10u32.to_le_bytes());
        // The first capacity comes from the last member's size: the first member outgrows it.
        let mut longer_first = gzip(&text);
        longer_first.extend(gzip(b"x"));
        let mut after = good.clone();
        after.push(0);
        for (name, data, cap) in [
            ("truncated", &good[..good.len() - 1], 1 << 20),
            ("a size trailer that lies", &lying_size[..], 1 << 20),
            ("a first member longer than the last", &longer_first[..], 1 << 20),
            ("a byte after the member", &after[..], 1 << 20),
            ("output past the cap", &good[..], text.len() - 1),
        ] {
            assert_eq!(libdeflate_alone(data, cap), None, "{name}");
            assert_eq!(gunzip(data, cap), gunzip_streaming(data, cap), "{name}");
        }
        let mut expected = text.clone();
        expected.push(b'x');
        assert_eq!(gunzip(&longer_first, 1 << 20).unwrap(), expected);
        assert_eq!(
            gunzip(&good, text.len() - 1),
            Err(InflateError::TooLarge(text.len() - 1))
        );
    }

    /// Bits of a deflate stream, least significant first (RFC 1951 §3.1.1).
    #[derive(Default)]
    struct Bits {
        bytes: Vec<u8>,
        used: u32,
    }

    impl Bits {
        fn put(&mut self, value: u32, len: u32) {
            for i in 0..len {
                if self.used.is_multiple_of(8) {
                    self.bytes.push(0);
                }
                *self.bytes.last_mut().unwrap() |= (((value >> i) & 1) as u8) << (self.used % 8);
                self.used += 1;
            }
        }

        /// A Huffman code, most significant bit first.
        fn put_code(&mut self, code: u32, len: u32) {
            self.put(code.reverse_bits() >> (32 - len), len);
        }
    }

    /// A gzip member around a raw deflate stream, with the trailer of `output`.
    fn member(deflate: &[u8], output: &[u8]) -> Vec<u8> {
        let mut m = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
        m.extend_from_slice(deflate);
        m.extend_from_slice(&crc32fast::hash(output).to_le_bytes());
        m.extend_from_slice(&u32::try_from(output.len()).unwrap().to_le_bytes());
        m
    }

    /// The one way `gunzip` and zlib part (the module's doc): a fixed-code block with the
    /// reserved literal/length symbol 286, which libdeflate reads as a match of 258 bytes and
    /// zlib refuses ("invalid literal/length code"). Written by hand, trailer included.
    #[test]
    fn reads_the_reserved_length_symbol_286_as_libdeflate_does_where_zlib_refuses_it() {
        let mut bits = Bits::default();
        bits.put(1, 1); // BFINAL
        bits.put(1, 2); // BTYPE 01: fixed codes
        bits.put_code(0x30 + u32::from(b'a'), 8); // literal 'a'
        bits.put_code(0b1100_0110, 8); // symbol 286
        bits.put_code(0, 5); // distance symbol 0: distance 1
        bits.put_code(0, 7); // end of block
        let libdeflates = [b'a'; 259];
        let data = member(&bits.bytes, &libdeflates);
        assert_eq!(gunzip(&data, 1000).unwrap(), libdeflates);
        assert_eq!(gunzip_streaming(&data, 1000), Err(InflateError::Corrupt));
        // With symbol 285 (length 258), a valid stream, both read the same.
        let mut bits = Bits::default();
        bits.put(1, 1);
        bits.put(1, 2);
        bits.put_code(0x30 + u32::from(b'a'), 8);
        bits.put_code(0b1100_0101, 8);
        bits.put_code(0, 5);
        bits.put_code(0, 7);
        let data = member(&bits.bytes, &libdeflates);
        assert_eq!(gunzip(&data, 1000).unwrap(), libdeflates);
        assert_eq!(gunzip_streaming(&data, 1000).unwrap(), libdeflates);
        // A longer one (a review's, fuzz/regressions/inflate/reserved-length-symbols-in-zlibs-
        // fast-loop): 286 and 287 in a body long enough for zlib-rs's fast loop.
        let data = [
            0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0xcb, 0x67, 0xb7, 0x88, 0x31, 0xe9, 0xce, 0x1d, 0xc3,
            0xac, 0xb7, 0x60, 0x5e, 0x4c, 0x76, 0x04, 0xdc, 0xaf, 0x82, 0x12, 0x06, 0x15, 0x01, 0, 0,
        ];
        assert_eq!(gunzip(&data, 1 << 20).map(|out| out.len()), Ok(277));
        assert_eq!(gunzip_streaming(&data, 1 << 20), Err(InflateError::Corrupt));
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
