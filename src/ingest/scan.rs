//! The steps the one-pass readers share: the Firehose invocation ([`super::firehose`]), the DAS
//! envelope ([`super::envelope`]) and the decrypted payload ([`crate::decode::payload`]) are
//! each walked by hand where they are plain, with serde_json reading the values that need it,
//! and read by serde_json alone otherwise. Every step returns `None` for what it does not take
//! as it stands; the caller then leaves the whole text to serde, which decides.
//!
//! Why by hand: serde_json looks for the end of a string a few bytes at a time and then checks
//! it as UTF-8, several instructions a byte; the base64 strings (a record's `data`, the
//! envelope's ESDK message) are most of the bytes read before decryption.

use serde::Deserialize;

/// A JSON string without escapes at `at` (after whitespace), borrowed; moves `at` past it.
/// `None` when the next value is not a string, or holds an escape or a control byte (serde then
/// unescapes, or rejects), or bytes that are not UTF-8.
pub fn plain_str<'a>(json: &'a [u8], at: &mut usize) -> Option<&'a str> {
    let (start, bytes) = string_bytes(json, *at)?;
    let text = simdutf8::basic::from_utf8(bytes).ok()?;
    if has_control_byte(bytes) {
        return None;
    }
    *at = start + 1 + bytes.len() + 1;
    Some(text)
}

/// An object key without escapes at `at` (after whitespace), as bytes: the readers only compare
/// keys with the names they know. `None` as for [`plain_str`], and for any byte outside
/// printable ASCII (which serde would have to check as UTF-8).
pub fn plain_key<'a>(json: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let (start, bytes) = string_bytes(json, *at)?;
    if !bytes.iter().all(|b| (0x20..0x80).contains(b)) {
        return None;
    }
    *at = start + 1 + bytes.len() + 1;
    Some(bytes)
}

/// The bytes of a string without escapes at `at` (after whitespace), unchecked; moves `at` past
/// it. For a text whose UTF-8 is already checked and whose control bytes are checked after (an
/// event's keys, in [`crate::decode::event`]). `None` when the next value is not a string or
/// holds an escape.
pub fn unescaped_bytes<'a>(json: &'a [u8], at: &mut usize) -> Option<&'a [u8]> {
    let (start, bytes) = string_bytes(json, *at)?;
    *at = start + 1 + bytes.len() + 1;
    Some(bytes)
}

/// Where the string at `at` (after whitespace) starts, and its bytes up to the first `"` or
/// `\`; `None` unless that is a `"`.
fn string_bytes(json: &[u8], at: usize) -> Option<(usize, &[u8])> {
    let start = skip_ws(json, at);
    if json.get(start) != Some(&b'"') {
        return None;
    }
    let rest = json.get(start + 1..)?;
    let end = quote_or_backslash(rest)?;
    (rest.get(end) == Some(&b'"')).then_some((start, rest.get(..end)?))
}

/// Bytes looked at eight at a time before a string is left to memchr's SIMD search: most keys
/// and values of an event are shorter, and for them memchr's set-up costs more than the search.
const SHORT_STRING_BYTES: usize = 32;

/// The index of the first `"` or `\` in `bytes`.
#[inline]
fn quote_or_backslash(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const QUOTES: u64 = ONES * 0x22;
    const BACKSLASHES: u64 = ONES * 0x5c;
    // Bit 7 of each byte of `v` that is zero, and maybe of bytes above the first zero byte
    // (where the subtraction borrows), never below it: the lowest bit set is exact, which is
    // all the search reads. Four operations deep, against six for the exact mask, on a chain
    // that runs from one string's end to the next.
    let zero_bytes = |v: u64| v.wrapping_sub(ONES) & !v & (ONES * 0x80);
    let mut at = 0;
    while at < SHORT_STRING_BYTES {
        let Some(word) = bytes.get(at..at + 8).and_then(|w| <[u8; 8]>::try_from(w).ok()) else {
            // Fewer than eight bytes left.
            let rest = bytes.get(at..)?;
            return rest.iter().position(|&b| b == b'"' || b == b'\\').map(|n| at + n);
        };
        let word = u64::from_le_bytes(word);
        let found = zero_bytes(word ^ QUOTES) | zero_bytes(word ^ BACKSLASHES);
        if found != 0 {
            return Some(at + usize::try_from(found.trailing_zeros() / 8).unwrap_or(0));
        }
        at += 8;
    }
    memchr::memchr2(b'"', b'\\', bytes.get(at..)?).map(|n| at + n)
}

/// True if `bytes` holds a byte below 0x20 (JSON whitespace included), looked for per 32-byte
/// block with no branch inside a block, so that it vectorises. The blocks are exact: with
/// `chunks(32)` the compiler could not count on a block's length and carried tails of eight
/// bytes and of one inside the block loop, 2.6 times slower on the fifty-event batch's event
/// texts.
pub fn has_control_byte(bytes: &[u8]) -> bool {
    let any_below = |block: &[u8]| block.iter().fold(0u8, |n, &b| n | u8::from(b < 0x20)) != 0;
    let mut blocks = bytes.chunks_exact(32);
    blocks.by_ref().any(any_below) || any_below(blocks.remainder())
}

/// The sum of `count` over `bytes`, per 32-byte block in a `u8` with no branch, which the
/// compiler vectorises; the last block is padded with `a` (which `count` must count as 0), so
/// that a short string (a key, an id, a class) is one block too, not a loop byte by byte.
/// `count` is at most 7 a byte (32 × 7 < 256).
pub fn count_per_block(bytes: &[u8], count: impl Fn(u8) -> u8 + Copy) -> usize {
    let block_sum = |block: &[u8; 32]| usize::from(block.iter().fold(0u8, |n, &b| n + count(b)));
    let mut blocks = bytes.chunks_exact(32);
    let mut total = 0;
    for block in &mut blocks {
        total += <&[u8; 32]>::try_from(block).map_or(0, block_sum);
    }
    let rest = blocks.remainder();
    if !rest.is_empty() {
        let mut last = [b'a'; 32];
        last.iter_mut().zip(rest).for_each(|(to, &from)| *to = from);
        total += block_sum(&last);
    }
    total
}

/// Whether `a` and `b` hold the same bytes, compared a word at a time in line for up to 16
/// bytes (two overlapping words, or two overlapping halves), and by `memcmp` beyond. Most of an
/// event's keys are 3 to 16 bytes; the slice comparison called `memcmp` for each of them, 4% of
/// a fifty-event record (BENCHMARKS.md).
#[inline]
pub fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    fn word<const N: usize>(s: &[u8], at: usize) -> Option<[u8; N]> {
        s.get(at..at + N).and_then(|w| <[u8; N]>::try_from(w).ok())
    }
    let n = a.len();
    if n != b.len() {
        return false;
    }
    match n {
        0..4 => a.iter().zip(b).all(|(x, y)| x == y),
        4..8 => word::<4>(a, 0) == word::<4>(b, 0) && word::<4>(a, n - 4) == word::<4>(b, n - 4),
        8..=16 => word::<8>(a, 0) == word::<8>(b, 0) && word::<8>(a, n - 8) == word::<8>(b, n - 8),
        _ => a == b,
    }
}

/// One JSON value of type `T` starting at `at` (after whitespace), read by serde_json; moves
/// `at` past it.
pub fn read_value<'a, T: Deserialize<'a>>(json: &'a [u8], at: &mut usize) -> Option<T> {
    let mut values = serde_json::Deserializer::from_slice(json.get(*at..)?).into_iter::<T>();
    let value = values.next()?.ok()?;
    *at += values.byte_offset();
    Some(value)
}

/// One JSON value of type `T` starting at `at` (after whitespace) in a text already known to
/// be UTF-8, read by serde_json; moves `at` past it.
pub fn read_str_value<'a, T: Deserialize<'a>>(json: &'a str, at: &mut usize) -> Option<T> {
    let mut values = serde_json::Deserializer::from_str(json.get(*at..)?).into_iter::<T>();
    let value = values.next()?.ok()?;
    *at += values.byte_offset();
    Some(value)
}

/// Whether the value at `at` (after whitespace) is a JSON array or object. serde_json counts
/// the nesting of such a value from the top of the text, and a value read on its own from
/// where it starts would be counted from there: a reader leaves them to serde rather than
/// reason about where the two counts could differ.
pub fn is_container(json: &[u8], at: usize) -> bool {
    matches!(json.get(skip_ws(json, at)), Some(b'[' | b'{'))
}

/// Sets a field seen for the first time; `None` (not plain) when it was already set.
pub fn set_once<T>(slot: &mut Option<T>, value: T) -> Option<()> {
    match slot {
        Some(_) => None,
        None => {
            *slot = Some(value);
            Some(())
        }
    }
}

/// After a member of an object or an array: `Some(true)` past a `,` (another member follows),
/// `Some(false)` past `close` (the object's `}` or the array's `]`), `None` for anything else.
pub fn more_members(json: &[u8], at: &mut usize, close: u8) -> Option<bool> {
    match next_byte(json, at)? {
        b',' => Some(true),
        b if b == close => Some(false),
        _ => None,
    }
}

/// The next byte that is not JSON whitespace; moves `at` past it.
fn next_byte(json: &[u8], at: &mut usize) -> Option<u8> {
    let next = skip_ws(json, *at);
    let b = *json.get(next)?;
    *at = next + 1;
    Some(b)
}

/// Moves `at` past whitespace and the byte `b`, or `None` if another byte comes first.
pub fn expect(json: &[u8], at: &mut usize, b: u8) -> Option<()> {
    let next = skip_ws(json, *at);
    (json.get(next) == Some(&b)).then(|| *at = next + 1)
}

/// The index of the first byte at or after `at` that is not JSON whitespace.
pub fn skip_ws(json: &[u8], at: usize) -> usize {
    let rest = json.get(at..).unwrap_or_default();
    at + rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t'))
        .count()
}

/// `None` unless only whitespace is left after `at`.
pub fn expect_end(json: &[u8], at: usize) -> Option<()> {
    (skip_ws(json, at) == json.len()).then_some(())
}

/// Every variant of `json` cut at each byte, with each byte deleted, and with each byte
/// replaced by each of `edits`.
#[cfg(test)]
pub fn cuts_and_edits(json: &[u8], edits: &[u8]) -> Vec<Vec<u8>> {
    let mut variants = Vec::new();
    for at in 0..json.len() {
        variants.push(json[..at].to_vec());
        let mut deleted = json.to_vec();
        deleted.remove(at);
        variants.push(deleted);
        for &b in edits {
            let mut edited = json.to_vec();
            edited[at] = b;
            variants.push(edited);
        }
    }
    variants
}

/// A one-pass reader's agreement test: on every variant of each sample text (cut at each byte,
/// each byte deleted, each byte replaced by JSON punctuation, whitespace, a backslash, a digit,
/// a letter, a byte that is not UTF-8 or a control byte), `disagreement` finds none, and the
/// one pass (`reads`) takes more variants than the text has bytes.
#[cfg(test)]
pub fn assert_agrees_on_every_cut_and_edit(
    samples: &[&str],
    disagreement: impl Fn(&[u8]) -> Option<String>,
    reads: impl Fn(&[u8]) -> bool,
) {
    for json in samples {
        let json = json.as_bytes();
        let variants = cuts_and_edits(json, b"{}[],:\" \\0an\xff\x01\t\n");
        let mut read = 0;
        for variant in &variants {
            assert_eq!(
                disagreement(variant),
                None,
                "{}",
                String::from_utf8_lossy(variant)
            );
            read += usize::from(reads(variant));
        }
        assert!(
            read > json.len(),
            "the one pass read only {read} of {} variants",
            variants.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(json: &str) -> Option<(&str, usize)> {
        let mut at = 0;
        plain_str(json.as_bytes(), &mut at).map(|s| (s, at))
    }

    #[test]
    fn same_bytes_is_slice_equality_at_every_length_and_difference() {
        let a: Vec<u8> = (0u8..40).map(|i| b'a' + i % 26).collect();
        for n in 0..=a.len() {
            let x = &a[..n];
            assert!(same_bytes(x, x), "{n}");
            assert!(!same_bytes(x, &a[..n.saturating_sub(1)]) || n == 0, "{n}");
            assert!(!same_bytes(x, &a[1..=n.min(a.len() - 1)]) || n == 0, "{n}");
            for at in 0..n {
                let mut y = x.to_vec();
                y[at] ^= 0x20;
                assert!(!same_bytes(x, &y), "{n} at {at}");
            }
        }
    }

    #[test]
    fn reads_a_string_without_escapes_and_moves_past_its_closing_quote() {
        assert_eq!(plain(r#" "ab/c+d==" ,"#), Some(("ab/c+d==", 11)));
        assert_eq!(plain(r#""""#), Some(("", 2)));
        assert_eq!(plain("\"h\u{e9}\u{2603}\""), Some(("h\u{e9}\u{2603}", 8)));
    }

    #[test]
    fn leaves_escapes_control_bytes_invalid_utf8_and_other_values_to_serde() {
        assert_eq!(plain(r#""ab\/c""#), None);
        assert_eq!(plain("\"a\tb\""), None);
        assert_eq!(plain("\"a\u{7f}b\""), Some(("a\u{7f}b", 5)));
        assert_eq!(plain(r#""unterminated"#), None);
        assert_eq!(plain("17"), None);
        assert_eq!(plain("null"), None);
        let mut at = 0;
        assert_eq!(plain_str(b"\"\xff\"", &mut at), None);
        assert_eq!(at, 0);
    }

    #[test]
    fn reads_keys_of_printable_ascii_only_and_strings_of_any_length() {
        let key = |json: &str| {
            let mut at = 0;
            plain_key(json.as_bytes(), &mut at).map(|k| (k.to_vec(), at))
        };
        assert_eq!(key(r#" "recordId":"#), Some((b"recordId".to_vec(), 11)));
        assert_eq!(key("\"caf\u{e9}\""), None);
        assert_eq!(key(r#""re\u0063ordId""#), None);
        assert_eq!(key("\"a\u{1}\""), None);
        // Strings ending before, at and after the first 32 bytes.
        for len in [0, 31, 32, 33, 64, 100] {
            let text = "x".repeat(len);
            assert_eq!(plain(&format!("\"{text}\"")), Some((text.as_str(), len + 2)));
            assert_eq!(plain(&format!("\"{text}\\n\"")), None);
            assert_eq!(plain(&format!("\"{text}")), None);
        }
    }

    #[test]
    fn finds_a_control_byte_at_every_position_of_every_length() {
        // Whole blocks, the remainder after them, and inputs shorter than a block; every byte
        // below 0x20, its neighbour 0x20, and bytes with the top bit set.
        for len in 0..=100 {
            for fill in [b'a', b' ', 0x7f, 0x80, 0xff] {
                let mut bytes = vec![fill; len];
                assert!(!has_control_byte(&bytes), "{len} {fill}");
                for at in 0..len {
                    for control in 0x00..0x20 {
                        bytes[at] = control;
                        assert!(has_control_byte(&bytes), "{len} {fill} {at} {control}");
                    }
                    bytes[at] = 0x20;
                    assert!(!has_control_byte(&bytes), "{len} {fill} {at}");
                    bytes[at] = fill;
                }
            }
        }
    }

    #[test]
    fn finds_the_first_quote_or_backslash_at_every_position() {
        // Around the eight-byte words and the hand-over to memchr at 32 bytes; the other bytes
        // include those that differ from `"` or `\\` only in their top bit (0xA2, 0xDC) and
        // those one below or above them, which a carry between bytes would confuse.
        let fillers = [
            b'a',
            0xA2,
            0xDC,
            b'"' - 1,
            b'"' + 1,
            b'\\' - 1,
            b'\\' + 1,
            0xFF,
            0x00,
        ];
        for len in 0..80 {
            for filler in fillers {
                let mut bytes = vec![filler; len];
                assert_eq!(quote_or_backslash(&bytes), None, "{len} {filler:#x}");
                for at in 0..len {
                    for target in [b'"', b'\\'] {
                        bytes[at] = target;
                        // A later quote does not count.
                        if at + 1 < len {
                            bytes[len - 1] = b'"';
                        }
                        let expected = bytes.iter().position(|&b| b == b'"' || b == b'\\');
                        assert_eq!(quote_or_backslash(&bytes), expected, "{len} {filler:#x} {at}");
                        bytes.fill(filler);
                    }
                }
            }
        }
    }
}
