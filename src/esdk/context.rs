//! The encryption context of a message header: parsing (capped, duplicate keys rejected in
//! O(n log n)) and the canonical serialization the raw AES keyring uses as AAD.
//!
//! Source: aws-encryption-sdk-specification, framework/structures.md (encryption context) and
//! data-format/message-header.md (AAD). DAS messages carry an empty context, or one pair
//! (`aws-crypto-public-key`) for signed suites: the pair count is capped at
//! [`MAX_ENCRYPTION_CONTEXT_PAIRS`] before any pair is read.

use super::EsdkError;
use super::reader::Reader;
use crate::limits::MAX_ENCRYPTION_CONTEXT_PAIRS;

/// Parses the encryption context bytes of a header (`aad` spans exactly those bytes).
/// Pairs are returned in header order.
pub fn parse<'a>(aad: &mut Reader<'a>) -> Result<Vec<(&'a str, &'a str)>, EsdkError> {
    if aad.is_empty() {
        return Ok(Vec::new());
    }
    let count = usize::from(aad.u16("encryption context pair count")?);
    if count == 0 {
        // An empty context is encoded as a zero length, never as a zero count.
        return Err(EsdkError::Invalid("encryption context (zero pairs)"));
    }
    if count > MAX_ENCRYPTION_CONTEXT_PAIRS {
        return Err(EsdkError::TooLarge("encryption context pair count"));
    }
    let mut pairs: Vec<(&str, &str)> = Vec::with_capacity(count);
    for _ in 0..count {
        let key = utf8(aad.u16_prefixed("encryption context key")?)?;
        let value = utf8(aad.u16_prefixed("encryption context value")?)?;
        pairs.push((key, value));
    }
    if !aad.is_empty() {
        return Err(EsdkError::Invalid(
            "encryption context (bytes after the last pair)",
        ));
    }
    let mut keys: Vec<&[u8]> = pairs.iter().map(|(k, _)| k.as_bytes()).collect();
    keys.sort_unstable();
    if keys.windows(2).any(|w| w.first() == w.get(1)) {
        return Err(EsdkError::Invalid("encryption context (duplicate key)"));
    }
    Ok(pairs)
}

fn utf8(bytes: &[u8]) -> Result<&str, EsdkError> {
    std::str::from_utf8(bytes).map_err(|_| EsdkError::Invalid("encryption context (not UTF-8)"))
}

/// The canonical serialization of an encryption context (pairs sorted by key bytes), used as
/// AAD by the raw AES keyring. Empty for an empty context.
pub fn serialize(pairs: &[(&str, &str)]) -> Result<Vec<u8>, EsdkError> {
    if pairs.is_empty() {
        return Ok(Vec::new());
    }
    let mut sorted = pairs.to_vec();
    sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let too_large = || EsdkError::TooLarge("encryption context");
    let mut out = Vec::new();
    out.extend_from_slice(
        &u16::try_from(sorted.len())
            .map_err(|_| too_large())?
            .to_be_bytes(),
    );
    for (k, v) in sorted {
        for part in [k, v] {
            out.extend_from_slice(&u16::try_from(part.len()).map_err(|_| too_large())?.to_be_bytes());
            out.extend_from_slice(part.as_bytes());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(pairs: &[(&str, &str)]) -> Vec<u8> {
        let mut out = u16::try_from(pairs.len()).unwrap().to_be_bytes().to_vec();
        for (k, v) in pairs {
            for part in [k, v] {
                out.extend(u16::try_from(part.len()).unwrap().to_be_bytes());
                out.extend(part.as_bytes());
            }
        }
        out
    }

    fn parse_bytes(bytes: &[u8]) -> Result<Vec<(&str, &str)>, EsdkError> {
        parse(&mut Reader::new(bytes))
    }

    #[test]
    fn parses_pairs_in_header_order() {
        let bytes = encode(&[("b", "2"), ("a", "1")]);
        assert_eq!(parse_bytes(&bytes).unwrap(), [("b", "2"), ("a", "1")]);
    }

    #[test]
    fn rejects_duplicate_keys_anywhere_in_the_context() {
        let bytes = encode(&[("a", "1"), ("b", "2"), ("c", "3"), ("b", "4")]);
        assert_eq!(
            parse_bytes(&bytes),
            Err(EsdkError::Invalid("encryption context (duplicate key)"))
        );
    }

    #[test]
    fn rejects_more_pairs_than_the_cap_before_reading_them() {
        let pairs: Vec<(String, String)> = (0..=MAX_ENCRYPTION_CONTEXT_PAIRS)
            .map(|i| (format!("k{i}"), String::new()))
            .collect();
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(
            parse_bytes(&encode(&refs)),
            Err(EsdkError::TooLarge("encryption context pair count"))
        );
        assert!(parse_bytes(&encode(refs.get(..MAX_ENCRYPTION_CONTEXT_PAIRS).unwrap())).is_ok());
    }

    #[test]
    fn rejects_zero_pairs_and_bytes_after_the_last_pair() {
        assert_eq!(
            parse_bytes(&[0, 0]),
            Err(EsdkError::Invalid("encryption context (zero pairs)"))
        );
        let mut bytes = encode(&[("a", "1")]);
        bytes.push(0);
        assert_eq!(
            parse_bytes(&bytes),
            Err(EsdkError::Invalid(
                "encryption context (bytes after the last pair)"
            ))
        );
    }

    #[test]
    fn serializes_sorted_by_key_bytes() {
        // The specification's order is by UTF-8 bytes of the key: "B" (0x42) before "a" (0x61).
        let out = serialize(&[("a", "x"), ("B", "y")]).unwrap();
        assert_eq!(out, encode(&[("B", "y"), ("a", "x")]));
        assert!(serialize(&[]).unwrap().is_empty());
    }
}
