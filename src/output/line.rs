//! One JSON line per kept event: the event's own text, verbatim, with the fields we add
//! (`activityClass`, `clusterId`, `instanceId`, `eventId`, `dasVersion`) before its closing
//! brace.

use crate::classify::ActivityClass;

/// Fields added to every output line.
pub struct LineFields<'a> {
    pub class: ActivityClass,
    pub cluster_id: Option<&'a str>,
    pub instance_id: Option<&'a str>,
    pub event_id: &'a str,
    pub das_version: Option<&'a str>,
}

/// Writes the event's own JSON text verbatim, with the extra fields appended before its closing
/// brace, and a newline. Line breaks between tokens become spaces (inside JSON strings they are
/// always escaped), so every event stays on one line.
pub fn write_line(out: &mut Vec<u8>, event: &str, extra: &LineFields<'_>) -> Result<(), serde_json::Error> {
    let body = event.trim().strip_suffix('}').unwrap_or(event);
    // Raw line breaks can only be whitespace between tokens (JSON strings escape them): they
    // become spaces so the line stays one line. Most events have none: one SIMD scan, one copy.
    if memchr::memchr2(b'\n', b'\r', body.as_bytes()).is_some() {
        out.extend(
            body.bytes()
                .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
        );
    } else {
        out.extend_from_slice(body.as_bytes());
    }
    let is_empty_object = body
        .trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim().is_empty());
    if !is_empty_object {
        out.push(b',');
    }
    out.extend_from_slice(b"\"activityClass\":");
    serde_json::to_writer(&mut *out, extra.class.as_str())?;
    out.extend_from_slice(b",\"clusterId\":");
    serde_json::to_writer(&mut *out, &extra.cluster_id)?;
    out.extend_from_slice(b",\"instanceId\":");
    serde_json::to_writer(&mut *out, &extra.instance_id)?;
    out.extend_from_slice(b",\"eventId\":");
    serde_json::to_writer(&mut *out, extra.event_id)?;
    out.extend_from_slice(b",\"dasVersion\":");
    serde_json::to_writer(&mut *out, &extra.das_version)?;
    out.extend_from_slice(b"}\n");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(event: &str) -> String {
        let extra = LineFields {
            class: ActivityClass::Ddl,
            cluster_id: Some("cluster-A"),
            instance_id: None,
            event_id: "7-0-3",
            das_version: Some("1.1"),
        };
        let mut out = Vec::new();
        write_line(&mut out, event, &extra).unwrap();
        String::from_utf8(out).unwrap()
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
        let l = line("{\n  \"commandText\": \"a\\nb\",\r\n  \"x\": 1\n}");
        assert_eq!(l.matches('\n').count(), 1);
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["commandText"], "a\nb");
    }
}
