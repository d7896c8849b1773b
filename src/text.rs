//! Trimming as [`str::trim`] does, without decoding a character from either end of the strings
//! a record's path trims nearly always: ids, base64, JSON objects and event values, which start
//! and end with a printable ASCII character. `str::trim` decodes a character from each end and
//! looks it up as Unicode whitespace; on a record's path that was about 2.5% of its time at the
//! margin for ten or so strings (BENCHMARKS.md, twenty-second round).

/// `s` without leading and trailing whitespace, exactly as [`str::trim`] gives it.
#[inline]
pub fn trim(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        // A printable ASCII byte is a whole character, and not whitespace.
        (Some(first), Some(last)) if first.is_ascii_graphic() && last.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

/// `s` without leading whitespace, exactly as [`str::trim_start`] gives it.
#[inline]
pub fn trim_start(s: &str) -> &str {
    match s.as_bytes().first() {
        Some(first) if first.is_ascii_graphic() => s,
        _ => s.trim_start(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_exactly_as_the_standard_library_does() {
        // Every character in `ends` at either end of every body, alone, doubled and mixed:
        // ASCII and Unicode whitespace, printable ASCII, other ASCII, multi-byte characters.
        let ends = [
            "",
            " ",
            "\t",
            "\n",
            "\r",
            "\u{b}",
            "\u{c}",
            "\u{1c}",
            "\u{85}",
            "\u{a0}",
            "\u{1680}",
            "\u{2000}",
            "\u{2028}",
            "\u{2029}",
            "\u{202f}",
            "\u{3000}",
            "\u{feff}",
            "\u{200b}",
            "a",
            "~",
            "!",
            "\u{7f}",
            "\u{0}",
            "\u{e9}",
            "\u{2603}",
            "\u{1f600}",
            "\"",
            "}",
        ];
        let bodies = ["", "x", "{\"a\":1}", " mid dle ", "\u{a0}", "eyJh/+=="];
        for body in bodies {
            for a in ends {
                for b in ends {
                    for s in [
                        format!("{a}{body}{b}"),
                        format!("{a}{a}{body}{b}{b}"),
                        format!("{a}{b}{body}{b}{a}"),
                    ] {
                        assert_eq!(trim(&s), s.trim(), "{s:?}");
                        assert_eq!(trim_start(&s), s.trim_start(), "{s:?}");
                    }
                }
            }
        }
    }
}
