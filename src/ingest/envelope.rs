//! The DAS envelope: the JSON object of one Kinesis record (`type`, `version`,
//! `databaseActivityEvents` = base64 ESDK message, `key` = base64 KMS ciphertext).
//!
//! Source: ../shared/design/das-records.md §1. Unknown fields are tolerated.

use super::firehose::FirehoseRecord;
use super::scan::{expect, expect_end, more_members, plain_key, plain_str, read_value, set_once};
use crate::limits::{
    MAX_DAS_VERSION_CHARS, MAX_ESDK_MESSAGE_BYTES, MAX_KMS_BLOB_BYTES, MAX_RECORD_DATA_BASE64,
};
use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::borrow::Cow;
use std::fmt;

/// A UTF-8 byte order mark, tolerated before the envelope's and the payload's JSON.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// The `type` of every DAS envelope.
pub const ENVELOPE_TYPE: &str = "DatabaseActivityMonitoringRecords";

/// Why an envelope was rejected. Every message names the field at fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    #[error("record data is missing or is not a base64 string")]
    DataMissing,
    #[error("record data is not base64")]
    DataNotBase64,
    #[error("record data is not a JSON object (a DAS envelope has type, databaseActivityEvents, key)")]
    NotJson,
    #[error("unknown envelope type (expected DatabaseActivityMonitoringRecords)")]
    UnknownType,
    #[error("envelope field {0:?} is missing")]
    MissingField(&'static str),
    #[error("envelope field {0:?} is not a string")]
    FieldNotString(&'static str),
    #[error("envelope field {0:?} is not base64")]
    FieldNotBase64(&'static str),
    #[error("envelope field {0:?} is empty or larger than its limit")]
    FieldSize(&'static str),
    #[error("envelope field \"version\" is not 1 to 16 characters of [A-Za-z0-9._-]")]
    InvalidVersion,
}

impl EnvelopeError {
    pub fn label(&self) -> &'static str {
        match self {
            EnvelopeError::DataMissing => "data_missing",
            EnvelopeError::DataNotBase64 => "data_not_base64",
            EnvelopeError::NotJson => "envelope_not_json",
            EnvelopeError::UnknownType => "envelope_unknown_type",
            EnvelopeError::MissingField(_) => "envelope_field_missing",
            EnvelopeError::FieldNotString(_) => "envelope_field_not_string",
            EnvelopeError::FieldNotBase64(_) => "envelope_field_not_base64",
            EnvelopeError::FieldSize(_) => "envelope_field_size",
            EnvelopeError::InvalidVersion => "envelope_invalid_version",
        }
    }
}

/// One envelope field as read: a string, or a value of another type (consumed without
/// materialising it, whatever its depth).
enum Text<'a> {
    Str(Cow<'a, str>),
    Other,
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'a>, E> {
                Ok(Text::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'a>, E> {
                Ok(Text::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Text<'a>, E> {
                Ok(Text::Other)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Text<'a>, E> {
                Ok(Text::Other)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Text<'a>, E> {
                Ok(Text::Other)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Text<'a>, E> {
                Ok(Text::Other)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Text<'a>, E> {
                Ok(Text::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text<'a>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text<'a>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text::Other)
            }
        }
        deserializer.deserialize_any(TextVisitor(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct RawEnvelope<'a> {
    #[serde(rename = "type", default, borrow)]
    ty: Option<Text<'a>>,
    #[serde(default, borrow)]
    version: Option<Text<'a>>,
    #[serde(rename = "databaseActivityEvents", default, borrow)]
    events: Option<Text<'a>>,
    #[serde(default, borrow)]
    key: Option<Text<'a>>,
}

/// The string value of a required envelope field, or which way it is wrong.
fn required<'t>(field: &'t Option<Text<'_>>, name: &'static str) -> Result<&'t str, EnvelopeError> {
    match field {
        Some(Text::Str(s)) => Ok(s),
        Some(Text::Other) => Err(EnvelopeError::FieldNotString(name)),
        None => Err(EnvelopeError::MissingField(name)),
    }
}

/// `version` is copied into every line (`dasVersion`): 1 to [`MAX_DAS_VERSION_CHARS`]
/// characters of `[A-Za-z0-9._-]`, or the record fails. `null` and an absent field are `None`.
fn das_version<'t>(field: &'t Option<Text<'_>>) -> Result<Option<&'t str>, EnvelopeError> {
    let text = match field {
        None => return Ok(None),
        Some(Text::Other) => return Err(EnvelopeError::InvalidVersion),
        Some(Text::Str(s)) => s,
    };
    let valid = !text.is_empty()
        && text.len() <= MAX_DAS_VERSION_CHARS
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if valid {
        Ok(Some(text))
    } else {
        Err(EnvelopeError::InvalidVersion)
    }
}

/// A decoded envelope: the ESDK message and the KMS ciphertext of its wrapping key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Envelope {
    pub version: Option<String>,
    pub message: Vec<u8>,
    pub key_blob: Vec<u8>,
}

/// Base64-decodes one Firehose record's `data` and parses the envelope in it.
pub fn decode_record(record: &FirehoseRecord) -> Result<Envelope, EnvelopeError> {
    parse_envelope(&record_bytes(record)?)
}

/// The KMS blob of one Firehose record's envelope, for the handler's first step, which needs
/// each record's key alone (the message is decoded just before its record is transformed):
///
/// - `Ok(blob)`: when [`decode_record`] reads the envelope, its `key_blob` is `blob`;
/// - `Err(e)`: [`decode_record`] fails with `e`.
///
/// An envelope that ends with its `key`, as DAS writes it, is read from the end of `data` alone
/// ([`key_blob_at_end`]); any other is read whole, without decoding the ESDK message
/// ([`parse_key_blob`]). So a record whose envelope ends with a key but is wrong elsewhere
/// gets `Ok` here, its key is resolved with the others (a KMS call if it is new, and a KMS
/// fault on it is the invocation's, as for any key), and it fails where it is decoded whole,
/// with the error [`decode_record`] gives it.
pub fn read_key_blob(record: &FirehoseRecord) -> Result<Vec<u8>, EnvelopeError> {
    if let Some(blob) = record.data.as_deref().and_then(key_blob_at_end) {
        return Ok(blob);
    }
    parse_key_blob(&record_bytes(record)?)
}

/// Base64 characters at the end of a record's `data` that [`key_blob_at_end`] decodes: up to
/// 768 bytes of envelope, room for a KMS blob of up to 567 bytes between `,"key":"` and `"}`
/// (DAS's are under 200).
const KEY_AT_END_CHARS: usize = 1024;

/// The key blob of an envelope whose JSON ends with `,"key":"<base64>"}` (no whitespace), read
/// from the last [`KEY_AT_END_CHARS`] characters of the record's base64 `data` alone. `None`
/// for any other end, a key [`decode_field`] refuses, `data` over its cap or whose trimmed
/// length is not a multiple of four, or a window that is not base64 itself: the whole read
/// refuses the last three too.
///
/// Why it is the key blob of the whole envelope whenever that reads (as valid JSON, an object):
/// its last `}` closes the object, so the `"` before it closes a string value; the value's
/// characters hold no `"` (they follow the last one) and no `\` ([`decode_field`] takes only
/// base64 and the Unicode whitespace `str::trim` removes), so its opening quote is the `"`
/// before them, which no `\` escapes (a `:` precedes it); the member's name is then `key`,
/// written without escapes (its opening quote follows a `,`). The object has one `key` member
/// (serde refuses a repeated field, however its name is escaped, and the one-pass reader leaves
/// a repeated field to serde: the agreement tests), and this is its value, decoded as the whole
/// read decodes it. Base64 is decoded in groups of four characters from the start, so the last
/// characters decode alone to the last bytes when the length is a multiple of four.
pub fn key_blob_at_end(data: &str) -> Option<Vec<u8>> {
    let text = data_text(data).ok()?;
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let window = text.get(text.len().saturating_sub(KEY_AT_END_CHARS)..)?;
    let mut bytes = [0u8; KEY_AT_END_CHARS / 4 * 3];
    let end = base64_simd::STANDARD
        .decode(window, base64_simd::Out::from_slice(&mut bytes))
        .ok()?;
    let body = end.strip_suffix(b"\"}")?;
    let open = memchr::memrchr(b'"', body)?;
    let (member, value) = (body.get(..open)?, body.get(open + 1..)?);
    if !member.ends_with(br#","key":"#) {
        return None;
    }
    decode_field(std::str::from_utf8(value).ok()?, "key", MAX_KMS_BLOB_BYTES).ok()
}

/// [`parse_envelope`]'s `key_blob`, or the same error for the same bytes, with the ESDK
/// message's base64 only checked ([`check_field`]), not decoded into bytes no one reads (unit
/// tests on every cut and edit of sample envelopes, the `envelope` fuzz target).
pub fn parse_key_blob(json: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
    with_fields(json, |_, events, key| {
        check_field(events, "databaseActivityEvents", MAX_ESDK_MESSAGE_BYTES)?;
        decode_field(key, "key", MAX_KMS_BLOB_BYTES)
    })
}

/// The bytes of a record's `data`.
fn record_bytes(record: &FirehoseRecord) -> Result<Vec<u8>, EnvelopeError> {
    let text = data_text(record.data.as_deref().ok_or(EnvelopeError::DataMissing)?)?;
    base64_simd::STANDARD
        .decode_to_vec(text)
        .map_err(|_| EnvelopeError::DataNotBase64)
}

/// The base64 text of a record's `data` as it is decoded: within its cap, whitespace around it
/// trimmed. [`record_bytes`] and [`key_blob_at_end`] read it alike.
fn data_text(data: &str) -> Result<&[u8], EnvelopeError> {
    if data.len() > MAX_RECORD_DATA_BASE64 {
        return Err(EnvelopeError::FieldSize("data"));
    }
    Ok(crate::text::trim(data).as_bytes())
}

/// Parses the JSON envelope (the bytes of one Kinesis record).
pub fn parse_envelope(json: &[u8]) -> Result<Envelope, EnvelopeError> {
    with_fields(json, |version, events, key| {
        Ok(Envelope {
            version: version.map(str::to_string),
            message: decode_field(events, "databaseActivityEvents", MAX_ESDK_MESSAGE_BYTES)?,
            key_blob: decode_field(key, "key", MAX_KMS_BLOB_BYTES)?,
        })
    })
}

/// Reads the envelope in `json` and checks its type and version, then hands its version,
/// message and key text to `then`: one reading, whatever is made of the fields.
fn with_fields<T>(
    json: &[u8],
    then: impl FnOnce(Option<&str>, &str, &str) -> Result<T, EnvelopeError>,
) -> Result<T, EnvelopeError> {
    let json = json.strip_prefix(UTF8_BOM).unwrap_or(json);
    // serde would also read a struct from an array of its fields in order.
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(EnvelopeError::NotJson);
    }
    let raw = match read_in_one_pass(json) {
        Some(raw) => raw,
        None => serde_json::from_slice(json).map_err(|_| EnvelopeError::NotJson)?,
    };
    if required(&raw.ty, "type")? != ENVELOPE_TYPE {
        return Err(EnvelopeError::UnknownType);
    }
    let version = das_version(&raw.version)?;
    let events = required(&raw.events, "databaseActivityEvents")?;
    let key = required(&raw.key, "key")?;
    then(version, events, key)
}

/// The envelope's object walked by hand, its four fields read as strings without escapes
/// ([`plain_str`]: a SIMD search for the closing quote of the base64 ESDK message, instead of
/// serde_json's scan a few bytes at a time). `None` for anything else (a syntax error, a field
/// that is no plain string, a repeated field, …): the caller then reads the envelope with
/// serde, which decides; the outcome is the same either way (unit tests, the `envelope` fuzz
/// target).
fn read_in_one_pass(json: &[u8]) -> Option<RawEnvelope<'_>> {
    let mut at = 0;
    expect(json, &mut at, b'{')?;
    let mut raw = RawEnvelope {
        ty: None,
        version: None,
        events: None,
        key: None,
    };
    loop {
        let key = plain_key(json, &mut at)?;
        expect(json, &mut at, b':')?;
        let slot = match key {
            b"type" => Some(&mut raw.ty),
            b"version" => Some(&mut raw.version),
            b"databaseActivityEvents" => Some(&mut raw.events),
            b"key" => Some(&mut raw.key),
            _ => None,
        };
        match slot {
            Some(slot) => set_once(slot, Text::Str(Cow::Borrowed(plain_str(json, &mut at)?)))?,
            None => {
                read_value::<IgnoredAny>(json, &mut at)?;
            }
        }
        if !more_members(json, &mut at, b'}')? {
            break;
        }
    }
    expect_end(json, at)?;
    Some(raw)
}

/// Where the one-pass read of `json` disagrees with serde's, if it does: `None` when the one
/// pass leaves the envelope to serde, or serde reads the same four fields (unit tests, the
/// `envelope` fuzz target). Not on the records' path.
pub fn one_pass_disagreement(json: &[u8]) -> Option<String> {
    let json = json.strip_prefix(UTF8_BOM).unwrap_or(json);
    let fast = read_in_one_pass(json)?;
    let slow: RawEnvelope<'_> = match serde_json::from_slice(json) {
        Ok(slow) => slow,
        Err(e) => return Some(format!("one pass read an envelope serde rejects: {e}")),
    };
    let fields = |r: &RawEnvelope<'_>| {
        [&r.ty, &r.version, &r.events, &r.key].map(|f| match f {
            None => "absent".to_string(),
            Some(Text::Other) => "other".to_string(),
            Some(Text::Str(s)) => format!("{s:?}"),
        })
    };
    (fields(&fast) != fields(&slow)).then(|| format!("{:?} against {:?}", fields(&fast), fields(&slow)))
}

fn decode_field(text: &str, field: &'static str, max: usize) -> Result<Vec<u8>, EnvelopeError> {
    let text = field_text(text, field, max)?;
    let bytes = base64_simd::STANDARD
        .decode_to_vec(text)
        .map_err(|_| EnvelopeError::FieldNotBase64(field))?;
    check_size(bytes.len(), field, max)?;
    Ok(bytes)
}

/// [`decode_field`]'s checks, with the same error for the same text, without the bytes:
/// base64-simd's `check` reads the text as its `decode` does (the same length rule, the same
/// test of each character and of the unused bits of the last one) and writes nothing.
fn check_field(text: &str, field: &'static str, max: usize) -> Result<(), EnvelopeError> {
    let text = field_text(text, field, max)?;
    let not_base64 = |_| EnvelopeError::FieldNotBase64(field);
    let len = base64_simd::STANDARD.decoded_length(text).map_err(not_base64)?;
    base64_simd::STANDARD.check(text).map_err(not_base64)?;
    check_size(len, field, max)
}

/// The text of a base64 field to decode, or its size error.
fn field_text<'t>(text: &'t str, field: &'static str, max: usize) -> Result<&'t [u8], EnvelopeError> {
    // base64 grows by 4/3: check before decoding, so an oversize field costs nothing.
    if text.is_empty() || text.len() / 4 * 3 > max + 3 {
        return Err(EnvelopeError::FieldSize(field));
    }
    Ok(crate::text::trim(text).as_bytes())
}

fn check_size(len: usize, field: &'static str, max: usize) -> Result<(), EnvelopeError> {
    if len == 0 || len > max {
        return Err(EnvelopeError::FieldSize(field));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envelope_with_unknown_fields_and_whitespace() {
        let e = parse_envelope(
            br#" { "type" : "DatabaseActivityMonitoringRecords", "version":"1.2", "extra": [1],
                 "databaseActivityEvents":"AQID", "key":"BAUG" } "#,
        )
        .unwrap();
        assert_eq!(e.version.as_deref(), Some("1.2"));
        assert_eq!(e.message, [1, 2, 3]);
        assert_eq!(e.key_blob, [4, 5, 6]);
    }

    #[test]
    fn rejects_unknown_envelope_type() {
        let r = parse_envelope(br#"{"type":"Other","databaseActivityEvents":"AQID","key":"AQID"}"#);
        assert_eq!(r, Err(EnvelopeError::UnknownType));
    }

    #[test]
    fn rejects_envelope_missing_key() {
        let r = parse_envelope(
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID"}"#,
        );
        assert_eq!(r, Err(EnvelopeError::MissingField("key")));
    }

    #[test]
    fn names_the_missing_or_mistyped_envelope_field() {
        let cases: [(&[u8], EnvelopeError, &str); 6] = [
            (
                br#"{"type":"DatabaseActivityMonitoringRecords","key":"AQID"}"#,
                EnvelopeError::MissingField("databaseActivityEvents"),
                "envelope field \"databaseActivityEvents\" is missing",
            ),
            (
                br#"{"databaseActivityEvents":"AQID","key":"AQID"}"#,
                EnvelopeError::MissingField("type"),
                "envelope field \"type\" is missing",
            ),
            (
                br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":[[["x"]]],"key":"AQID"}"#,
                EnvelopeError::FieldNotString("databaseActivityEvents"),
                "envelope field \"databaseActivityEvents\" is not a string",
            ),
            (
                br#"{"type":7,"databaseActivityEvents":"AQID","key":"AQID"}"#,
                EnvelopeError::FieldNotString("type"),
                "envelope field \"type\" is not a string",
            ),
            (
                br#"[1]"#,
                EnvelopeError::NotJson,
                "record data is not a JSON object (a DAS envelope has type, databaseActivityEvents, key)",
            ),
            (
                br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":null}"#,
                EnvelopeError::MissingField("key"),
                "envelope field \"key\" is missing",
            ),
        ];
        for (json, want, message) in cases {
            let err = parse_envelope(json).unwrap_err();
            assert_eq!(err, want);
            assert_eq!(err.to_string(), message);
        }
    }

    #[test]
    fn accepts_a_das_version_of_the_documented_shape_and_rejects_others() {
        let env = |version: &str| {
            parse_envelope(
                format!(
                    r#"{{"type":"DatabaseActivityMonitoringRecords","version":{version},"databaseActivityEvents":"AQID","key":"BAUG"}}"#
                )
                .as_bytes(),
            )
            .map(|e| e.version)
        };
        assert_eq!(env(r#""1.4""#), Ok(Some("1.4".to_string())));
        assert_eq!(env(r#""2.0-beta_1""#), Ok(Some("2.0-beta_1".to_string())));
        assert_eq!(env("null"), Ok(None));
        for bad in [
            r#""""#,
            r#""1.2\",\"x\":\"y""#,
            r#""1.2 ""#,
            r#""1.2\n""#,
            r#""a234567890123456x""#,
            "1.2",
            "[\"1.2\"]",
        ] {
            assert_eq!(env(bad), Err(EnvelopeError::InvalidVersion), "{bad}");
        }
        assert_eq!(EnvelopeError::InvalidVersion.label(), "envelope_invalid_version");
    }

    #[test]
    fn accepts_a_byte_order_mark_before_the_envelope() {
        let mut json = UTF8_BOM.to_vec();
        json.extend_from_slice(
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"BAUG"}"#,
        );
        assert_eq!(parse_envelope(&json).unwrap().message, [1, 2, 3]);
    }

    #[test]
    fn rejects_non_base64_message() {
        let r = parse_envelope(
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"!!","key":"AQID"}"#,
        );
        assert_eq!(r, Err(EnvelopeError::FieldNotBase64("databaseActivityEvents")));
    }

    #[test]
    fn rejects_oversize_key_blob_before_decoding() {
        let key = "A".repeat(MAX_KMS_BLOB_BYTES * 2);
        let json = format!(
            r#"{{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"{key}"}}"#
        );
        assert_eq!(
            parse_envelope(json.as_bytes()),
            Err(EnvelopeError::FieldSize("key"))
        );
    }

    const PLAIN_ENVELOPES: [&str; 2] = [
        r#"{"type":"DatabaseActivityMonitoringRecords","version":"1.1","databaseActivityEvents":"AYABeP+CYmoEYny/yalXqie6oWzM=","key":"AQIDBA=="}"#,
        r#" { "key" : "BAUG" , "extra" : [ { "x" : null } ] , "databaseActivityEvents" : "AQID" , "type" : "DatabaseActivityMonitoringRecords" } "#,
    ];

    #[test]
    fn reads_plain_envelopes_in_one_pass_as_serde_does() {
        for json in PLAIN_ENVELOPES {
            assert!(read_in_one_pass(json.as_bytes()).is_some(), "{json}");
            assert_eq!(one_pass_disagreement(json.as_bytes()), None, "{json}");
        }
        let e = parse_envelope(PLAIN_ENVELOPES[1].as_bytes()).unwrap();
        assert_eq!(
            (e.version, e.message, e.key_blob),
            (None, vec![1, 2, 3], vec![4, 5, 6])
        );
    }

    #[test]
    fn leaves_to_serde_what_is_not_plain_and_decides_as_serde_does() {
        let cases: [(&str, Result<(), EnvelopeError>); 6] = [
            (
                r#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQ\/D","key":"AQID"}"#,
                Ok(()),
            ),
            (
                r#"{"type":"DatabaseActivityMonitoringRecords","version":null,"databaseActivityEvents":"AQID","key":"AQID"}"#,
                Ok(()),
            ),
            (
                r#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":7}"#,
                Err(EnvelopeError::FieldNotString("key")),
            ),
            (
                r#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"AQID","key":"AQID"}"#,
                Err(EnvelopeError::NotJson),
            ),
            (
                r#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"AQID"} x"#,
                Err(EnvelopeError::NotJson),
            ),
            (
                r#"{"ty\u0070e":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"AQID"}"#,
                Ok(()),
            ),
        ];
        for (json, expected) in cases {
            assert!(read_in_one_pass(json.as_bytes()).is_none(), "{json}");
            assert_eq!(parse_envelope(json.as_bytes()).map(|_| ()), expected, "{json}");
        }
    }

    #[test]
    fn reads_the_key_blob_as_the_whole_envelope_reads_it_on_every_cut_and_edit() {
        // Messages whose base64 ends in each way the last quantum can: padded once or twice,
        // unused bits set (refused), a character outside the alphabet, a wrong length.
        // The long ones reach base64-simd's 32-byte SIMD loop (38 characters and more), with a
        // bad character inside it or in the tail after it.
        let long = "AQIDBAUG".repeat(8);
        let mut messages: Vec<String> = [
            "AQID", "AQI=", "AQ==", "AR==", "AQJ=", "AQ=D", "A-ID", "AQIDB", "", "  AQID ",
        ]
        .map(String::from)
        .to_vec();
        messages.extend([
            long.clone(),
            format!("{long}AR=="),
            format!("A-{}", &long[2..]),
            format!("{}-D", &long[..long.len() - 2]),
        ]);
        let mut samples: Vec<String> = PLAIN_ENVELOPES.iter().map(|s| s.to_string()).collect();
        for message in &messages {
            samples.push(format!(
                r#"{{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"{message}","key":"BAUG"}}"#
            ));
        }
        let mut compared = 0;
        for sample in &samples {
            let json = sample.as_bytes();
            let mut variants = vec![json.to_vec()];
            variants.extend(crate::ingest::scan::cuts_and_edits(json, b"{}\",:=+/A_ \xff"));
            for variant in &variants {
                let whole = parse_envelope(variant).map(|e| e.key_blob);
                assert_eq!(
                    parse_key_blob(variant),
                    whole,
                    "{}",
                    String::from_utf8_lossy(variant)
                );
                compared += usize::from(whole.is_ok());
            }
        }
        // Not vacuous: many variants still hold a valid envelope.
        assert!(compared > samples.len() * 10, "{compared}");
        let oversize = "A".repeat((MAX_ESDK_MESSAGE_BYTES + 4) / 3 * 4);
        let json = format!(
            r#"{{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"{oversize}","key":"BAUG"}}"#
        );
        assert_eq!(
            parse_key_blob(json.as_bytes()),
            Err(EnvelopeError::FieldSize("databaseActivityEvents"))
        );
    }

    fn base64(json: &[u8]) -> String {
        base64_simd::STANDARD.encode_to_string(json)
    }

    /// `key_blob_at_end`'s promise on `json`: when it reads a key from the base64 of `json` and
    /// the whole envelope reads, the two key blobs are the same. Whether it read one.
    fn key_at_end_keeps_its_promise(json: &[u8]) -> bool {
        let Some(blob) = key_blob_at_end(&base64(json)) else {
            return false;
        };
        if let Ok(envelope) = parse_envelope(json) {
            assert_eq!(envelope.key_blob, blob, "{}", String::from_utf8_lossy(json));
        }
        true
    }

    #[test]
    fn reads_the_key_at_the_end_as_the_whole_envelope_reads_it_on_every_cut_and_edit() {
        // Messages short and long: the window of the last 1,024 characters holds the whole
        // envelope or starts inside the message, at each of the three byte offsets of a group.
        let messages = [
            "AQID".to_string(),
            "AQIDBAUG".repeat(100),
            "AQIDBAUG".repeat(100) + "AQ==",
            "AQIDBAUG".repeat(100) + "AQI=",
        ];
        let mut samples = vec![PLAIN_ENVELOPES[0].to_string()];
        for message in &messages {
            samples.push(format!(
                r#"{{"type":"DatabaseActivityMonitoringRecords","version":"1.1","databaseActivityEvents":"{message}","key":"BAUGBw=="}}"#
            ));
        }
        let (mut read, mut agreed) = (0, 0);
        for sample in &samples {
            let json = sample.as_bytes();
            // Edits near the end, where the key is read from (the whole text for short ones).
            let tail = json.len().saturating_sub(120);
            let mut variants = vec![json.to_vec()];
            for variant in crate::ingest::scan::cuts_and_edits(&json[tail..], b"{}\",:=+/A_ \\\xff") {
                variants.push([&json[..tail], &variant[..]].concat());
            }
            for variant in &variants {
                if key_at_end_keeps_its_promise(variant) {
                    read += 1;
                    agreed += usize::from(parse_envelope(variant).is_ok());
                }
            }
        }
        // Not vacuous: many variants are read from the end, and many of those read whole.
        assert!(
            read > samples.len() * 20 && agreed > samples.len() * 10,
            "{read} {agreed}"
        );
    }

    #[test]
    fn reads_no_key_at_the_end_that_an_escape_or_a_string_could_fake() {
        let cases: [&[u8]; 7] = [
            // The last member is another string whose text ends like a key member, or a member
            // whose name ends like `key`.
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"BAUG","x":"a\",\"key\":\"AQID"}"#,
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"BAUG","a\"key":"AQID"}"#,
            // Whitespace, another last member, a key that is no string, no closing brace.
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key" : "BAUG"}"#,
            br#"{"type":"DatabaseActivityMonitoringRecords","key":"BAUG","databaseActivityEvents":"AQID"}"#,
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":["BAUG"]}"#,
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"BAUG"} "#,
            br#"{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"BAUG""#,
        ];
        for json in cases {
            assert_eq!(
                key_blob_at_end(&base64(json)),
                None,
                "{}",
                String::from_utf8_lossy(json)
            );
        }
        for json in &cases[..2] {
            assert_eq!(parse_envelope(json).unwrap().key_blob, [4, 5, 6]);
        }
    }

    #[test]
    fn reads_a_key_at_the_end_only_from_whole_padded_base64_within_its_window() {
        let envelope = |key: &str| {
            format!(
                r#"{{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"AQID","key":"{key}"}}"#
            )
        };
        let text = base64(envelope("BAUG").as_bytes());
        assert_eq!(key_blob_at_end(&text), Some(vec![4, 5, 6]));
        assert_eq!(key_blob_at_end(&format!(" {text}\n")), Some(vec![4, 5, 6]));
        assert_eq!(key_blob_at_end(text.trim_end_matches('=')), None);
        assert_eq!(key_blob_at_end(&format!("A{text}")), None);
        // A length off the groups, where the window alone would still decode to the end.
        let long = format!(
            r#"{{"type":"DatabaseActivityMonitoringRecords","databaseActivityEvents":"{}","key":"BAUG"}}"#,
            "AQID".repeat(400)
        );
        let long = base64(long.as_bytes());
        assert!(long.len() > KEY_AT_END_CHARS);
        assert_eq!(key_blob_at_end(&long), Some(vec![4, 5, 6]));
        assert_eq!(key_blob_at_end(&format!("A{long}")), None);
        // Data over its cap fails whole; its key is not read either.
        let over = "A".repeat(MAX_RECORD_DATA_BASE64);
        assert_eq!(key_blob_at_end(&format!("{over}{text}")), None);
        // A key of 567 bytes fits in the window; one of 568 is read whole instead.
        for (len, at_end) in [(567, true), (568, false)] {
            let key = base64_simd::STANDARD.encode_to_string(vec![7u8; len]);
            let json = envelope(&key);
            assert_eq!(
                key_blob_at_end(&base64(json.as_bytes())).is_some(),
                at_end,
                "{len}"
            );
            assert_eq!(parse_envelope(json.as_bytes()).unwrap().key_blob, vec![7u8; len]);
        }
        // A key the whole read refuses is not read from the end either.
        assert_eq!(key_blob_at_end(&base64(envelope("BAV=").as_bytes())), None);
        assert!(parse_envelope(envelope("BAV=").as_bytes()).is_err());
        assert_eq!(key_blob_at_end(&base64(envelope("").as_bytes())), None);
    }

    #[test]
    fn the_one_pass_read_agrees_with_serde_on_every_cut_and_edit() {
        crate::ingest::scan::assert_agrees_on_every_cut_and_edit(
            &PLAIN_ENVELOPES,
            one_pass_disagreement,
            |json| read_in_one_pass(json).is_some(),
        );
    }
}
