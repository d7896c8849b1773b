//! One JSON line per kept event: the event's own text, verbatim, with the fields we add
//! (`activityClass`, `clusterId`, `instanceId`, `eventId`, `dasVersion`) before its closing
//! brace.
//!
//! The event's text is copied in one pass that also keeps the line readable:
//! - line breaks between tokens become spaces (inside JSON strings they are always escaped), and
//!   raw U+0085, U+2028 and U+2029 inside strings are written as `\u` escapes (readers that split
//!   lines on them, such as Python's `str.splitlines`, would cut the line), so every event stays
//!   on one line;
//! - nesting deeper than [`MAX_JSON_DEPTH`] fails the event ([`LineError::TooDeep`]);
//! - a top-level key of the event that is one of [`ADDED_FIELDS`] is renamed `source_<key>`
//!   (with as many more `source_` prefixes as needed to be a key the event does not have): the
//!   value we add wins and the event's own value is kept, so readers that keep the last of
//!   duplicate keys lose nothing. Every other key, duplicates included, is kept as written.

use crate::classify::ActivityClass;
use crate::limits::MAX_JSON_DEPTH;
use crate::output::push_json_str;
use crate::text;
use std::collections::HashSet;

/// The keys every output line adds, in the order they are written.
pub const ADDED_FIELDS: [&str; 5] = [
    "activityClass",
    "clusterId",
    "instanceId",
    "eventId",
    "dasVersion",
];

/// The prefix an event's own value of an added key is kept under.
pub const RENAMED_PREFIX: &str = "source_";

/// The fields added to every line of one record, JSON-encoded once for all of them: a line
/// adds its own class and event index, everything else is the record's.
pub struct LineTail {
    /// `,"clusterId":…,"instanceId":…,"eventId":"<prefix>-`: the prefix escaped, the string
    /// left open for the event's index.
    ids: Vec<u8>,
    /// `","dasVersion":…}` and the newline.
    end: Vec<u8>,
}

impl LineTail {
    /// Event ids are `<event_id_prefix>-<index>`. JSON escaping works character by character and
    /// `-` and digits need none, so escaping the prefix once is escaping every id.
    pub fn new(
        cluster_id: Option<&str>,
        instance_id: Option<&str>,
        event_id_prefix: &str,
        das_version: Option<&str>,
    ) -> Self {
        let encode = |out: &mut Vec<u8>, v: Option<&str>| match v {
            Some(v) => push_json_str(out, v),
            None => out.extend_from_slice(b"null"),
        };
        // Sized for the three values unescaped (ids almost always are): one allocation each.
        let len = |v: Option<&str>| v.map_or(4, str::len);
        let mut ids = Vec::with_capacity(48 + len(cluster_id) + len(instance_id) + event_id_prefix.len());
        ids.extend_from_slice(b",\"clusterId\":");
        encode(&mut ids, cluster_id);
        ids.extend_from_slice(b",\"instanceId\":");
        encode(&mut ids, instance_id);
        ids.extend_from_slice(b",\"eventId\":");
        encode(&mut ids, Some(event_id_prefix));
        ids.pop(); // the closing quote: the index follows
        ids.push(b'-');
        let mut end = Vec::with_capacity(24 + len(das_version));
        end.extend_from_slice(b"\",\"dasVersion\":");
        encode(&mut end, das_version);
        end.extend_from_slice(b"}\n");
        LineTail { ids, end }
    }

    /// Bytes a line adds at most to an event copied as it is (no renamed key, no escaped line
    /// separator: the common case), for an index below a million: the comma, the longest class
    /// field, the ids, the index and the end, less the event's closing brace (the end writes it
    /// again). A hint: sizing a record's lines with it keeps them in one allocation; a renamed
    /// key or an escape adds a few bytes, at worst one more growth.
    pub fn line_overhead(&self) -> usize {
        const CLASS_FIELD: usize = ",\"activityClass\":\"AUTH_FAILURE\"".len();
        const INDEX_DIGITS: usize = 6;
        (CLASS_FIELD + self.ids.len() + INDEX_DIGITS + self.end.len()).saturating_sub(1)
    }
}

/// Why an event could not be written as a line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("event nests deeper than {MAX_JSON_DEPTH} levels")]
    TooDeep,
}

/// How a line treats the event's top-level keys that clash with [`ADDED_FIELDS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clashes {
    /// The event has none of the added keys at its top level (the common case: no key is looked
    /// at).
    None,
    /// It has at least one: rename it.
    Rename,
}

/// Writes the event's own JSON text (an object serde_json has validated) with the extra fields
/// appended before its closing brace, and a newline. On error `out` is left as it was.
/// The line's event id is the tail's prefix, `-` and `index`.
pub fn write_line(
    out: &mut Vec<u8>,
    event: &str,
    class: ActivityClass,
    index: usize,
    tail: &LineTail,
    clashes: Clashes,
) -> Result<(), LineError> {
    let start = out.len();
    let result = write_line_inner(out, event, class, index, tail, clashes);
    if result.is_err() {
        out.truncate(start);
    }
    result
}

fn write_line_inner(
    out: &mut Vec<u8>,
    event: &str,
    class: ActivityClass,
    index: usize,
    tail: &LineTail,
    clashes: Clashes,
) -> Result<(), LineError> {
    let body = text::trim(event).strip_suffix('}').unwrap_or(event);
    match clashes {
        Clashes::None if is_plain(body.as_bytes()) => out.extend_from_slice(body.as_bytes()),
        Clashes::None => copy_event(out, body.as_bytes(), &mut |_| None)?,
        Clashes::Rename => {
            let renames = Renames::for_event(body.as_bytes())?;
            copy_event(out, body.as_bytes(), &mut |key| renames.rename(key))?;
        }
    }
    let is_empty_object = text::trim_start(body)
        .strip_prefix('{')
        .is_some_and(|rest| text::trim(rest).is_empty());
    if !is_empty_object {
        out.push(b',');
    }
    // Class names are plain ASCII (a test holds them to it): no escaping.
    out.extend_from_slice(b"\"activityClass\":\"");
    out.extend_from_slice(class.as_str().as_bytes());
    out.push(b'"');
    out.extend_from_slice(&tail.ids);
    out.extend_from_slice(itoa::Buffer::new().format(index).as_bytes());
    out.extend_from_slice(&tail.end);
    Ok(())
}

/// True when the text can be copied as it is: no line break, no lead byte of U+0085/U+2028/
/// U+2029, and too few `{`/`[` to nest deeper than [`MAX_JSON_DEPTH`]. The common case: two
/// SIMD searches, several times faster than [`copy_event`]. The second finds the opens and
/// U+0085's lead byte (0xC2, which U+0080–U+00BF share) together and stops at that byte or at
/// the first open past the cap, so it visits at most `MAX_JSON_DEPTH + 1` of them; an event
/// holds a few. (A count of the opens byte by byte, as before, was vectorised only four bytes
/// at a time: BENCHMARKS.md.)
fn is_plain(body: &[u8]) -> bool {
    if memchr::memchr3(b'\n', b'\r', 0xE2, body).is_some() {
        return false;
    }
    let mut opens = 0usize;
    for at in memchr::memchr3_iter(b'{', b'[', 0xC2, body) {
        if body.get(at) == Some(&0xC2) {
            return false;
        }
        opens += 1;
        if opens > MAX_JSON_DEPTH {
            return false;
        }
    }
    true
}

/// The unescaped text of a raw JSON string literal (quotes included), lossily for lone
/// surrogates.
fn key_text(raw: &[u8]) -> String {
    let inner = raw
        .strip_prefix(b"\"")
        .and_then(|r| r.strip_suffix(b"\""))
        .unwrap_or(raw);
    if !inner.contains(&b'\\') {
        return String::from_utf8_lossy(inner).into_owned();
    }
    serde_json::from_slice::<String>(raw).unwrap_or_else(|_| String::from_utf8_lossy(inner).into_owned())
}

/// The new names of an event's top-level keys that clash with [`ADDED_FIELDS`].
struct Renames {
    names: [Option<String>; 5],
}

impl Renames {
    /// One extra pass over the event (only for events that have a clashing key): collects its
    /// top-level keys, then names each clashing key `source_<key>`, prefixed again while the
    /// event already has that key.
    fn for_event(body: &[u8]) -> Result<Renames, LineError> {
        let mut keys = HashSet::new();
        let mut sink = Vec::new();
        copy_event(&mut sink, body, &mut |raw| {
            keys.insert(key_text(raw));
            None
        })?;
        let names = ADDED_FIELDS.map(|field| {
            keys.contains(field).then(|| {
                let mut name = format!("{RENAMED_PREFIX}{field}");
                while keys.contains(&name) {
                    name.insert_str(0, RENAMED_PREFIX);
                }
                name
            })
        });
        Ok(Renames { names })
    }

    /// The replacement (a JSON string literal) for a raw top-level key, if it is renamed.
    fn rename(&self, raw: &[u8]) -> Option<Vec<u8>> {
        let key = key_text(raw);
        ADDED_FIELDS
            .iter()
            .zip(&self.names)
            .find(|(field, _)| **field == key)
            .and_then(|(_, name)| name.as_ref())
            .and_then(|name| serde_json::to_vec(name).ok())
    }
}

/// Bytes the copy pass must look at inside a JSON string (`"`, `\\`, and the lead bytes of
/// U+0085 and U+2028/U+2029); every other byte is copied as it is.
const IN_STRING: [bool; 256] = byte_table(b"\"\\\xC2\xE2");
/// Bytes the copy pass must look at between tokens.
const BETWEEN_TOKENS: [bool; 256] = byte_table(b"\"{}[],\n\r");

const fn byte_table(bytes: &[u8]) -> [bool; 256] {
    let mut table = [false; 256];
    let mut i = 0;
    while i < bytes.len() {
        #[allow(clippy::indexing_slicing)] // const fn: in bounds (i < len, a u8 < 256)
        {
            table[bytes[i] as usize] = true;
        }
        i += 1;
    }
    table
}

/// The index of the first byte at or after `from` that `table` marks, or `body.len()`.
#[inline]
fn next_marked(body: &[u8], from: usize, table: &[bool; 256]) -> usize {
    body.get(from..)
        .and_then(|rest| {
            rest.iter()
                .position(|&b| table.get(usize::from(b)) == Some(&true))
        })
        .map_or(body.len(), |n| from + n)
}

/// Copies a validated JSON object's text (without its closing brace) in one pass: line breaks
/// between tokens become spaces, raw U+0085/U+2028/U+2029 become escapes, depth is checked, and
/// each top-level key (its raw literal, quotes included) is offered to `on_key`, whose `Some`
/// replaces it. Runs of ordinary bytes are skipped by table lookup and copied in one piece.
fn copy_event(
    out: &mut Vec<u8>,
    body: &[u8],
    on_key: &mut dyn FnMut(&[u8]) -> Option<Vec<u8>>,
) -> Result<(), LineError> {
    out.reserve(body.len() + 160);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut expect_key = false;
    let mut key_start: Option<usize> = None;
    // Bytes before `run` are in `out` already.
    let mut run = 0;
    let mut i = 0;
    loop {
        i = next_marked(body, i, if in_string { &IN_STRING } else { &BETWEEN_TOKENS });
        let Some(&b) = body.get(i) else { break };
        if in_string {
            match b {
                // An escape: the escaped byte is never special.
                b'\\' => {
                    i += 2;
                    continue;
                }
                b'"' => {
                    in_string = false;
                    if let Some(start) = key_start.take() {
                        let raw = body.get(start..=i).unwrap_or_default();
                        if let Some(new) = on_key(raw) {
                            out.extend_from_slice(body.get(run..start).unwrap_or_default());
                            out.extend_from_slice(&new);
                            run = i + 1;
                        }
                    }
                }
                0xC2 if body.get(i + 1) == Some(&0x85) => {
                    out.extend_from_slice(body.get(run..i).unwrap_or_default());
                    out.extend_from_slice(b"\\u0085");
                    i += 2;
                    run = i;
                    continue;
                }
                0xE2 if body.get(i + 1) == Some(&0x80) && matches!(body.get(i + 2), Some(0xA8 | 0xA9)) => {
                    out.extend_from_slice(body.get(run..i).unwrap_or_default());
                    out.extend_from_slice(if body.get(i + 2) == Some(&0xA8) {
                        b"\\u2028"
                    } else {
                        b"\\u2029"
                    });
                    i += 3;
                    run = i;
                    continue;
                }
                _ => {}
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                if depth == 1 && expect_key {
                    key_start = Some(i);
                    expect_key = false;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(LineError::TooDeep);
                }
                expect_key = depth == 1 && b == b'{';
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' if depth == 1 => expect_key = true,
            b'\n' | b'\r' => {
                out.extend_from_slice(body.get(run..i).unwrap_or_default());
                out.push(b' ');
                run = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    out.extend_from_slice(body.get(run..).unwrap_or_default());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line_with(event: &str, clashes: Clashes) -> Result<String, LineError> {
        let tail = LineTail::new(Some("cluster-A"), None, "7-0", Some("1.1"));
        let mut out = b"previous\n".to_vec();
        let result = write_line(&mut out, event, ActivityClass::Ddl, 3, &tail, clashes);
        let text = String::from_utf8(out).unwrap();
        let line = text.strip_prefix("previous\n").unwrap().to_string();
        result.map(|()| line)
    }

    fn line(event: &str) -> String {
        line_with(event, Clashes::None).unwrap()
    }

    /// The tail is encoded once a record; each line must still read as if its fields had been
    /// encoded on their own: ids with every kind of escape, every class, indexes of any width.
    #[test]
    fn encodes_the_added_fields_as_serde_json_does_for_each_line() {
        let prefixes = ["49590-0", "quote\"back\\slash", "\u{1}\n\t\u{7f}é\u{2028}", ""];
        for prefix in prefixes {
            for (cluster, instance, version) in [
                (Some("cluster-\"X\""), Some("db-\\"), None),
                (None, None, Some("1.1")),
            ] {
                let tail = LineTail::new(cluster, instance, prefix, version);
                for class in ActivityClass::ALL {
                    for index in [0, 7, 10, 12_345] {
                        let mut out = Vec::new();
                        write_line(&mut out, r#"{"a":1}"#, class, index, &tail, Clashes::None).unwrap();
                        // Each field encoded on its own by serde_json, in the lines' order.
                        let json = |v: Option<&str>| serde_json::to_string(&v).unwrap();
                        let expected = format!(
                            "{{\"a\":1,\"activityClass\":{},\"clusterId\":{},\"instanceId\":{},\"eventId\":{},\"dasVersion\":{}}}\n",
                            json(Some(class.as_str())),
                            json(cluster),
                            json(instance),
                            json(Some(&format!("{prefix}-{index}"))),
                            json(version),
                        );
                        assert_eq!(String::from_utf8(out).unwrap(), expected);
                    }
                }
            }
        }
    }

    /// The hint that sizes a record's lines is exactly the most a line adds to an event copied
    /// as it is, over every class and index below a million.
    #[test]
    fn line_overhead_bounds_what_a_line_adds_to_its_event() {
        let tail = LineTail::new(Some("cluster-\"X\""), Some("db-A"), "49590-0", Some("1.1"));
        let event = r#"{"a":1}"#;
        let mut widest = 0;
        for class in ActivityClass::ALL {
            for index in [0, 9, 99_999, 999_999] {
                let mut out = Vec::new();
                write_line(&mut out, event, class, index, &tail, Clashes::None).unwrap();
                widest = widest.max(out.len() - event.len());
            }
        }
        assert_eq!(tail.line_overhead(), widest);
    }

    #[test]
    fn appends_fields_after_the_verbatim_event_text() {
        assert_eq!(
            line(r#"{"b":1.50,"a":"x\u00e9"}"#),
            "{\"b\":1.50,\"a\":\"x\\u00e9\",\"activityClass\":\"DDL\",\"clusterId\":\"cluster-A\",\"instanceId\":null,\"eventId\":\"7-0-3\",\"dasVersion\":\"1.1\"}\n"
        );
    }

    #[test]
    fn writes_no_leading_comma_into_an_empty_object() {
        let l = line("{ }");
        assert!(l.starts_with("{ \"activityClass\""), "{l}");
        serde_json::from_str::<serde_json::Value>(&l).unwrap();
    }

    #[test]
    fn keeps_a_pretty_printed_event_on_one_line() {
        let l = line("{\n  \"commandText\": \"a\\nb\",\r\n  \"x\": [\n1,\n{\"y\":\n2}]\n}");
        assert_eq!(l.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["commandText"], "a\nb");
        assert_eq!(v["x"][1]["y"], 2);
    }

    #[test]
    fn escapes_unicode_line_separators_inside_strings() {
        let l = line("{\"a\":\"x\u{2028}y\u{2029}z\u{85}w\",\"b\":\"\u{e9}\u{2027}\"}");
        assert_eq!(l.lines().count(), 1);
        assert!(!l.contains(['\u{2028}', '\u{2029}', '\u{85}']), "{l}");
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["a"], "x\u{2028}y\u{2029}z\u{85}w");
        assert_eq!(v["b"], "\u{e9}\u{2027}");
    }

    #[test]
    fn rejects_nesting_deeper_than_the_limit_and_leaves_the_output_as_it_was() {
        let nest = |n: usize| format!("{{\"x\":{}{}}}", "[".repeat(n - 1), "]".repeat(n - 1));
        let ok = line(&nest(MAX_JSON_DEPTH));
        serde_json::from_str::<serde_json::Value>(&ok).unwrap();
        assert_eq!(
            line_with(&nest(MAX_JSON_DEPTH + 1), Clashes::None),
            Err(LineError::TooDeep)
        );
        // Brackets inside strings are text, not nesting.
        let l = line(&format!(
            "{{\"x\":\"{}\\\"{}\"}}",
            "[".repeat(500),
            "{".repeat(500)
        ));
        serde_json::from_str::<serde_json::Value>(&l).unwrap();
    }

    #[test]
    fn the_plain_fast_path_and_the_copy_pass_write_the_same_bytes() {
        let shallow = format!(
            "{{\"a\":[{}],\"s\":\"{}\"}}",
            vec!["[]"; 300].join(","),
            "{[".repeat(200)
        );
        for event in [
            r#"{"b":1.50,"a":"x\u00e9 \"q\" [{","n":{"m":[1,{"k":null}]},"c":"é"}"#,
            shallow.as_str(),
        ] {
            let body = event.strip_suffix('}').unwrap().as_bytes();
            let mut copied = Vec::new();
            copy_event(&mut copied, body, &mut |_| None).unwrap();
            assert_eq!(copied, body, "{event}");
            assert_eq!(is_plain(body), event.len() < 200, "{event}");
            serde_json::from_str::<serde_json::Value>(&line(event)).unwrap();
        }
    }

    /// The rule `is_plain` stands for, byte by byte.
    fn plain_by_the_rule(body: &[u8]) -> bool {
        let opens = body.iter().filter(|&&b| b == b'{' || b == b'[').count();
        !body.iter().any(|b| [b'\n', b'\r', 0xE2, 0xC2].contains(b)) && opens <= MAX_JSON_DEPTH
    }

    #[test]
    fn finds_plain_text_as_the_byte_by_byte_rule_does() {
        // Bodies of opens, closes, the bytes that stop the fast path and filler, with the opens
        // around the cap, each stopping byte before, among and after them, and long runs that
        // cross the SIMD searches' blocks.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            usize::try_from(seed % u64::try_from(n).unwrap()).unwrap()
        };
        let pieces: [&[u8]; 12] = [
            b"{",
            b"[",
            b"}",
            b"]",
            b"\n",
            b"\r",
            b"\xE2",
            b"\xC2",
            b"a",
            b"\"x\":1,",
            b"\xC3\xA9",
            b" ",
        ];
        let mut plain = 0;
        for case in 0..20_000 {
            let mut body = Vec::new();
            let opens = MAX_JSON_DEPTH - 3 + next(7);
            for _ in 0..opens {
                body.extend_from_slice(if next(2) == 0 { b"{" } else { b"[" });
                for _ in 0..next(4) {
                    body.extend_from_slice(pieces[2 + next(2) + 6 * next(2)]);
                }
            }
            let at = next(body.len() + 1);
            let mut tail = Vec::new();
            for _ in 0..next(6) {
                tail.extend_from_slice(pieces[next(pieces.len())]);
            }
            if case % 3 == 0 {
                tail.extend(std::iter::repeat_n(b'a', next(300)));
            }
            body.splice(at..at, tail);
            let want = plain_by_the_rule(&body);
            plain += usize::from(want);
            assert_eq!(is_plain(&body), want, "{:?}", String::from_utf8_lossy(&body));
        }
        // Both answers are common.
        assert!((2_000..18_000).contains(&plain), "{plain} plain bodies");
        for body in [&b""[..], b"{", b"\xC2", b"{\xC2", b"a\xE2", b"\r", b"{[{[{[}"] {
            assert_eq!(is_plain(body), plain_by_the_rule(body), "{body:?}");
        }
    }

    #[test]
    fn renames_the_events_own_added_keys_so_ours_are_the_only_ones() {
        let l = line_with(
            r#"{"activityClass":"X","eventId":{"a":[1]},"n":{"clusterId":1},"source_eventId":2,"d":"\"eventId\":"}"#,
            Clashes::Rename,
        )
        .unwrap();
        assert_eq!(
            l,
            "{\"source_activityClass\":\"X\",\"source_source_eventId\":{\"a\":[1]},\"n\":{\"clusterId\":1},\"source_eventId\":2,\"d\":\"\\\"eventId\\\":\",\"activityClass\":\"DDL\",\"clusterId\":\"cluster-A\",\"instanceId\":null,\"eventId\":\"7-0-3\",\"dasVersion\":\"1.1\"}\n"
        );
    }

    #[test]
    fn renames_escaped_and_repeated_added_keys_alike() {
        let l = line_with(
            r#"{"dasVersion":"a","\u0064asVersion":"b", "x":1}"#,
            Clashes::Rename,
        )
        .unwrap();
        assert!(
            l.starts_with(r#"{"source_dasVersion":"a","source_dasVersion":"b", "x":1,"activityClass""#),
            "{l}"
        );
    }
}
