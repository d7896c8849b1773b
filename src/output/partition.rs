//! Firehose dynamic-partition keys and event times.
//!
//! The S3 prefix of the deployed Firehose references exactly [`KEY_NAMES`], in that order;
//! every Ok record carries all of them.

use crate::limits::{MAX_PARTITION_VALUE_CHARS, PARTITION_YEARS};
use chrono::{DateTime, Datelike, NaiveDateTime, Timelike, Utc};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// Partition value for a record whose kept events have more than one class.
pub const MIXED: &str = "MIXED";
/// Partition value used when a value is empty after sanitising.
pub const UNKNOWN: &str = "unknown";

/// Parses a DAS event time: `YYYY-MM-DD HH:MM:SS[.f][+HH[:MM]]` (PostgreSQL, MySQL, SQL
/// Server; 6 or 7 fractional digits), without offset (Oracle: UTC), or RFC 3339.
pub fn parse_event_time(text: &str) -> Option<DateTime<Utc>> {
    let text = crate::text::trim(text);
    if let Some(t) = parse_common_time(text) {
        return Some(t);
    }
    parse_event_time_general(text)
}

/// The general parser behind [`parse_event_time`] (chrono's format parsing, several formats).
fn parse_event_time_general(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%#z") {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.with_timezone(&Utc));
    }
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(text, f).ok())
        .map(|t| t.and_utc())
}

/// The format every engine writes, `YYYY-MM-DD HH:MM:SS[.f{1,9}][+HH|-HH|+HH:MM|Z]`, parsed
/// by hand: chrono's format-string parser costs more than the rest of a small event's path.
/// The layout is matched as one pattern of bytes and each field read from its digits, and a
/// UTC time (DAS writes `+00`) is not shifted. `None` for anything else (the general parser
/// then decides), so it only ever agrees with it.
fn parse_common_time(text: &str) -> Option<DateTime<Utc>> {
    let (head, rest) = text.as_bytes().split_first_chunk::<19>()?;
    let [
        y0,
        y1,
        y2,
        y3,
        b'-',
        mo0,
        mo1,
        b'-',
        d0,
        d1,
        b' ',
        h0,
        h1,
        b':',
        mi0,
        mi1,
        b':',
        s0,
        s1,
    ] = *head
    else {
        return None;
    };
    let year = i32::try_from(decimal(&[y0, y1, y2, y3])?).ok()?;
    let (month, day) = (decimal(&[mo0, mo1])?, decimal(&[d0, d1])?);
    let (hour, minute, second) = (decimal(&[h0, h1])?, decimal(&[mi0, mi1])?, decimal(&[s0, s1])?);
    let (nanos, rest) = match rest {
        [b'.', fraction @ ..] => {
            let count = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
            if !(1..=9).contains(&count) {
                return None;
            }
            let (digits, rest) = fraction.split_at(count);
            let scale = 10u32.pow(9 - u32::try_from(count).ok()?);
            (decimal(digits)? * scale, rest)
        }
        _ => (0, rest),
    };
    let offset_seconds: i64 = match *rest {
        [] | [b'Z'] => 0,
        [sign @ (b'+' | b'-'), h0, h1] => signed(sign, decimal(&[h0, h1])?, 0)?,
        [sign @ (b'+' | b'-'), h0, h1, b':', m0, m1] => {
            signed(sign, decimal(&[h0, h1])?, decimal(&[m0, m1])?)?
        }
        _ => return None,
    };
    if second > 59 {
        return None; // leap seconds: the general parser's rules
    }
    let local =
        chrono::NaiveDate::from_ymd_opt(year, month, day)?.and_hms_nano_opt(hour, minute, second, nanos)?;
    let utc = match offset_seconds {
        0 => local,
        _ => local.checked_sub_signed(chrono::TimeDelta::seconds(offset_seconds))?,
    };
    Some(utc.and_utc())
}

/// The value of ASCII decimal digits (at most 9), or `None` if any byte is not a digit.
fn decimal(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &d| {
        let digit = d.wrapping_sub(b'0');
        (digit < 10).then(|| n * 10 + u32::from(digit))
    })
}

/// An offset `±HH:MM` in seconds, within a day as the general parser takes it.
fn signed(sign: u8, hours: u32, minutes: u32) -> Option<i64> {
    if hours > 23 || minutes > 59 {
        return None;
    }
    let total = i64::from(hours * 3600 + minutes * 60);
    Some(if sign == b'-' { -total } else { total })
}

/// Where the hand parser of the engines' format and the general parser disagree on `text`, if
/// they do: `None` when the hand parser leaves it to the general one or reads the same time
/// (unit tests, the `event_classify` fuzz target). Not on the records' path.
pub fn fast_time_disagreement(text: &str) -> Option<String> {
    let fast = parse_common_time(text)?;
    let general = parse_event_time_general(text);
    (general != Some(fast)).then(|| format!("{text:?}: by hand {fast:?}, by chrono {general:?}"))
}

/// True when `time` may choose a partition: its year is in [`PARTITION_YEARS`] (four digits,
/// not before 1970), so `year=` is never negative, short or five digits long.
pub fn in_partition_years(time: DateTime<Utc>) -> bool {
    PARTITION_YEARS.contains(&time.year())
}

/// The partition time of a record: the earliest of its kept events' times that parse and fall
/// in [`PARTITION_YEARS`], else a fallback (the record's arrival time).
#[derive(Clone, Copy, Debug, Default)]
pub struct EarliestTime(Option<DateTime<Utc>>);

impl EarliestTime {
    /// Takes one event's time text into account; text that does not parse, or a year outside
    /// [`PARTITION_YEARS`], is ignored.
    pub fn observe(&mut self, text: Option<&str>) {
        if let Some(t) = text.and_then(parse_event_time).filter(|t| in_partition_years(*t)) {
            self.0 = Some(self.0.map_or(t, |e| e.min(t)));
        }
    }

    pub fn or(self, fallback: DateTime<Utc>) -> DateTime<Utc> {
        self.0.unwrap_or(fallback)
    }
}

/// Keeps `[A-Za-z0-9_-]`, maps anything else to `_`, caps the length; never empty.
pub fn sanitize(value: &str) -> String {
    let mut out = String::with_capacity(value.len().clamp(UNKNOWN.len(), MAX_PARTITION_VALUE_CHARS));
    push_sanitized(&mut out, value);
    out
}

/// Appends `value` as [`sanitize`] returns it.
fn push_sanitized(out: &mut String, value: &str) {
    if value.is_empty() {
        out.push_str(UNKNOWN);
    } else if value.len() <= MAX_PARTITION_VALUE_CHARS && value.bytes().all(is_partition_byte) {
        // The usual value (a class name, a resource id): already in the alphabet and short
        // enough, copied whole instead of character by character.
        out.push_str(value);
    } else {
        out.extend(value.chars().take(MAX_PARTITION_VALUE_CHARS).map(|c| {
            if u8::try_from(c).is_ok_and(is_partition_byte) {
                c
            } else {
                '_'
            }
        }));
    }
}

/// `[A-Za-z0-9_-]`: the bytes a partition value keeps.
fn is_partition_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// The partition keys every Ok record returns, in the order of the S3 prefix.
pub const KEY_NAMES: [&str; 6] = ["activity_class", "resource_id", "year", "month", "day", "hour"];

/// The key set of one Ok record: every key the S3 prefix references, always present, each
/// value in `[A-Za-z0-9_-]`.
#[derive(Clone, PartialEq, Eq)]
pub struct PartitionKeys {
    /// The members of the keys' JSON object, rendered once, in [`KEY_NAMES`] order:
    /// `"activity_class":"DDL","resource_id":"cluster-…","year":"2026",…,"hour":"09"`. Every
    /// name is plain ASCII and every value in `[A-Za-z0-9_-]`, so this is what serde_json
    /// writes for them (nothing to escape): the response measures and copies it as it is,
    /// instead of measuring and escaping twelve strings a record twice.
    members: String,
    /// Where each value starts and ends in `members`, in [`KEY_NAMES`] order (a value is at
    /// most [`MAX_PARTITION_VALUE_CHARS`] bytes, a year a few digits).
    values: [(u16, u16); 6],
}

impl PartitionKeys {
    /// Keys for `activity_class` (a class name or [`MIXED`]), the resource id and the hour of
    /// `time` (UTC).
    pub fn new(activity_class: &str, resource_id: &str, time: DateTime<Utc>) -> Self {
        // The names, quotes, commas and the time's ten digits, and the two values at their
        // usual length: one allocation.
        let mut members = String::with_capacity(96 + activity_class.len() + resource_id.len());
        let mut values = [(0u16, 0u16); 6];
        let offset = |members: &String| u16::try_from(members.len()).unwrap_or(u16::MAX);
        let year = time.year();
        for (index, (name, slot)) in KEY_NAMES.iter().zip(values.iter_mut()).enumerate() {
            if index > 0 {
                members.push(',');
            }
            members.push('"');
            members.push_str(name);
            members.push_str("\":\"");
            let start = offset(&members);
            match index {
                0 => push_sanitized(&mut members, activity_class),
                1 => push_sanitized(&mut members, resource_id),
                2 => match u32::try_from(year) {
                    Ok(y) if y <= 9999 => push_digits(&mut members, y, 4),
                    _ => members.push_str(&format!("{year:04}")),
                },
                3 => push_digits(&mut members, time.month(), 2),
                4 => push_digits(&mut members, time.day(), 2),
                _ => push_digits(&mut members, time.hour(), 2),
            }
            *slot = (start, offset(&members));
            members.push('"');
        }
        PartitionKeys { members, values }
    }

    /// `(name, value)` pairs in [`KEY_NAMES`] order.
    pub fn pairs(&self) -> impl Iterator<Item = (&'static str, &str)> {
        KEY_NAMES.into_iter().zip(self.values.iter().map(|&(start, end)| {
            self.members
                .get(usize::from(start)..usize::from(end))
                .unwrap_or("")
        }))
    }

    /// The members of the keys' JSON object as serde_json writes them, without the braces.
    pub fn json_members(&self) -> &str {
        &self.members
    }

    /// The value of one key.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// Appends the last `width` decimal digits of `n`, zero-padded (`n` < 10^`width`).
fn push_digits(out: &mut String, n: u32, width: u32) {
    for place in (0..width).rev() {
        out.push(char::from_digit((n / 10u32.pow(place)) % 10, 10).unwrap_or('0'));
    }
}

/// The keys as their `(name, value)` pairs, not as the rendered text and offsets.
impl std::fmt::Debug for PartitionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.pairs()).finish()
    }
}

impl Serialize for PartitionKeys {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(KEY_NAMES.len()))?;
        for (k, v) in self.pairs() {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymdh(t: DateTime<Utc>) -> String {
        t.format("%Y-%m-%d-%H").to_string()
    }

    #[test]
    fn parses_every_engine_time_format() {
        let cases = [
            ("2023-07-23 08:14:58.089874+00", "2023-07-23-08"), // PostgreSQL, MySQL
            ("2023-07-23 08:14:58.0898740+00", "2023-07-23-08"), // SQL Server, 7 digits
            ("2023-07-23 08:14:58.089874", "2023-07-23-08"),    // Oracle, UTC without offset
            ("2023-07-23 23:30:00+02:00", "2023-07-23-21"),
            ("2023-07-23 00:30:00.1-01", "2023-07-23-01"),
            ("2023-07-23T08:14:58Z", "2023-07-23-08"),
        ];
        for (text, want) in cases {
            assert_eq!(parse_event_time(text).map(ymdh).as_deref(), Some(want), "{text}");
        }
    }

    #[test]
    fn partition_time_is_the_earliest_parsed_event_time_else_the_fallback() {
        let fallback = parse_event_time("2030-01-01 00:00:00+00").unwrap();
        let mut t = EarliestTime::default();
        assert_eq!(ymdh(t.or(fallback)), "2030-01-01-00");
        for text in [
            Some("2023-07-23 10:59:59+00"),
            None,
            Some("garbage"),
            Some("2023-07-23 09:00:00+00"),
        ] {
            t.observe(text);
        }
        t.observe(Some("2023-07-23 11:00:00+00"));
        assert_eq!(ymdh(t.or(fallback)), "2023-07-23-09");
    }

    #[test]
    fn the_fast_time_parser_agrees_with_the_general_one() {
        let cases = [
            "2023-07-23 08:14:58.089874+00",
            "2023-07-23 08:14:58.0898740+00",
            "2023-07-23 08:14:58.089874",
            "2023-07-23 23:30:00+02:00",
            "2023-07-23 00:30:00.1-01",
            "2023-07-23 00:30:00.123456789-01:30",
            "2023-07-23 00:30:00Z",
            "2023-07-23 00:30:00.1234567891+00",
            "2024-02-29 23:59:59+00",
            "2023-02-29 00:00:00+00",
            "2023-07-23 24:00:00+00",
            "2023-07-23 23:59:60+00",
            "2023-07-23 08:14:58.+00",
            "2023-07-23 08:14:58+0200",
            "2023-07-23 08:14:58+24",
            "0000-01-01 00:00:00+01",
            "9999-12-31 23:59:59-01",
            "2023-07-23 08:14:58 +00",
            "2023-7-23 08:14:58+00",
        ];
        for text in cases {
            let fast = parse_common_time(text);
            if fast.is_some() {
                assert_eq!(fast, parse_event_time_general(text), "{text}");
            }
        }
        // The formats the engines write take the fast path.
        for text in &cases[..7] {
            assert!(parse_common_time(text).is_some(), "{text}");
        }
    }

    /// Every cut, deleted byte and replaced byte of times in each layout the hand parser takes.
    #[test]
    fn the_fast_time_parser_agrees_with_the_general_one_on_every_cut_and_edit() {
        crate::ingest::scan::assert_agrees_on_every_cut_and_edit(
            &[
                "2024-02-29 23:59:59.123456+05:30",
                "1999-12-31 00:00:00.1234567-11",
            ],
            |bytes| std::str::from_utf8(bytes).ok().and_then(fast_time_disagreement),
            |bytes| std::str::from_utf8(bytes).is_ok_and(|text| parse_common_time(text).is_some()),
        );
    }

    #[test]
    fn ignores_event_times_outside_four_digit_years_for_the_partition() {
        let fallback = parse_event_time("2026-06-01 12:00:00+00").unwrap();
        for text in [
            "0000-01-01 00:00:00+00",
            "-0001-01-01 00:00:00+00",
            "-262143-01-01 00:00:00+00",
            "+10000-01-01 00:00:00+00",
            "+262142-12-31 23:59:59+00",
            "1969-12-31 23:59:59+00",
            "0001-01-01T00:00:00Z",
        ] {
            let mut t = EarliestTime::default();
            t.observe(Some(text));
            let keys = PartitionKeys::new("DDL", "db-1", t.or(fallback));
            assert_eq!(keys.get("year"), Some("2026"), "{text}");
            assert_eq!(keys.get("hour"), Some("12"), "{text}");
        }
        let mut t = EarliestTime::default();
        t.observe(Some("9999-12-31 23:00:00+00"));
        t.observe(Some("+10000-01-01 00:00:00+00"));
        assert_eq!(ymdh(t.or(fallback)), "9999-12-31-23");
    }

    #[test]
    fn rejects_unparseable_times() {
        for text in ["", "yesterday", "2023-13-01 00:00:00", "2023-07-23"] {
            assert!(parse_event_time(text).is_none(), "{text}");
        }
    }

    #[test]
    fn sanitizes_values_to_the_s3_safe_alphabet() {
        assert_eq!(sanitize("AUTH FAILURE"), "AUTH_FAILURE");
        assert_eq!(sanitize("Database Vault/../x"), "Database_Vault____x");
        assert_eq!(sanitize(""), UNKNOWN);
        assert_eq!(sanitize(&"a".repeat(500)).len(), MAX_PARTITION_VALUE_CHARS);
        // Characters, not bytes, are capped; each becomes one ASCII byte.
        assert_eq!(
            sanitize(&"\u{e9}".repeat(500)),
            "_".repeat(MAX_PARTITION_VALUE_CHARS)
        );
        assert_eq!(sanitize("db-\u{1F600}x"), "db-_x");
        // A value already in the alphabet is kept whole up to the cap, and cut past it.
        let at_cap = "aZ9_-".repeat(MAX_PARTITION_VALUE_CHARS / 5) + "xyz";
        assert_eq!(at_cap.len(), MAX_PARTITION_VALUE_CHARS);
        assert_eq!(sanitize(&at_cap), at_cap);
        assert_eq!(sanitize(&format!("{at_cap}q")), at_cap);
        assert_eq!(sanitize("cluster-ABC_1"), "cluster-ABC_1");
    }

    #[test]
    fn renders_its_members_exactly_as_serde_json_writes_the_pairs() {
        let times = [-10_000, 7, 2026, 262_000].map(|year| {
            chrono::NaiveDate::from_ymd_opt(year, 12, 31)
                .unwrap()
                .and_hms_opt(23, 0, 0)
                .unwrap()
                .and_utc()
        });
        let values = [
            "",
            "DDL",
            "AUTH FAILURE",
            "cluster-ABC",
            "db-\"quoted\"\\/\u{1}\n",
            "\u{e9}\u{2028}\u{1F600}",
            &"r".repeat(300),
        ];
        for time in times {
            for class in values {
                for resource in values {
                    let keys = PartitionKeys::new(class, resource, time);
                    let pairs: Vec<String> = keys
                        .pairs()
                        .map(|(k, v)| {
                            format!(
                                "{}:{}",
                                serde_json::to_string(k).unwrap(),
                                serde_json::to_string(v).unwrap()
                            )
                        })
                        .collect();
                    assert_eq!(keys.json_members(), pairs.join(","), "{class:?} {resource:?}");
                    assert_eq!(keys.get("activity_class"), Some(sanitize(class).as_str()));
                    assert_eq!(keys.get("resource_id"), Some(sanitize(resource).as_str()));
                    assert_eq!(
                        serde_json::to_string(&keys).unwrap(),
                        format!("{{{}}}", keys.json_members())
                    );
                    let debug: Vec<String> = keys.pairs().map(|(k, v)| format!("{k:?}: {v:?}")).collect();
                    assert_eq!(format!("{keys:?}"), format!("{{{}}}", debug.join(", ")));
                }
            }
        }
    }

    #[test]
    fn always_returns_all_six_keys_zero_padded_in_prefix_order() {
        let t = parse_event_time("2024-02-03 04:05:06+00").unwrap();
        let keys = PartitionKeys::new("AUTH FAILURE", "cluster-ABC", t);
        let pairs: Vec<(&str, &str)> = keys.pairs().collect();
        assert_eq!(
            pairs,
            [
                ("activity_class", "AUTH_FAILURE"),
                ("resource_id", "cluster-ABC"),
                ("year", "2024"),
                ("month", "02"),
                ("day", "03"),
                ("hour", "04"),
            ]
        );
        assert_eq!(
            serde_json::to_string(&keys).unwrap(),
            r#"{"activity_class":"AUTH_FAILURE","resource_id":"cluster-ABC","year":"2024","month":"02","day":"03","hour":"04"}"#
        );
    }

    #[test]
    fn writes_the_time_keys_as_zero_padded_decimal_for_every_year() {
        for year in [-10_000, -1, 0, 7, 99, 999, 1970, 2026, 9999, 10_000, 262_000] {
            for (month, day, hour) in [(1, 1, 0), (2, 29, 9), (12, 31, 23), (10, 10, 10)] {
                let Some(date) = chrono::NaiveDate::from_ymd_opt(year, month, day) else {
                    continue;
                };
                let t = date.and_hms_opt(hour, 0, 0).unwrap().and_utc();
                let keys = PartitionKeys::new("DDL", "db-X", t);
                let time: Vec<&str> = keys.pairs().skip(2).map(|(_, v)| v).collect();
                assert_eq!(
                    time,
                    [
                        format!("{year:04}"),
                        format!("{month:02}"),
                        format!("{day:02}"),
                        format!("{hour:02}")
                    ],
                    "{t}"
                );
            }
        }
    }
}
