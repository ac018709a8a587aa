//! Go's `strconv.Quote` and `strconv.Unquote`, as far as build info and build IDs need them.

use std::fmt::Write;

/// Whether Go's `unicode.IsPrint` would (approximately) call `c` printable.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    // Format characters (Cf) and private use / surrogate-adjacent areas are not printable.
    !matches!(c as u32,
        0x00AD | 0x0600..=0x0605 | 0x061C | 0x06DD | 0x070F | 0x180E | 0x200B..=0x200F
        | 0x202A..=0x202E | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB
        | 0xE000..=0xF8FF | 0xF0000..=0x10FFFF)
}

/// Quotes `s` the way Go's `strconv.Quote` does.
pub(crate) fn go_quote(s: &[u8]) -> String {
    let mut out = String::with_capacity(s.len().saturating_add(2));
    out.push('"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if is_print(c) => out.push(c),
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0c' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0b' => out.push_str("\\v"),
                c if (c as u32) < 0x20 || c == '\x7f' => {
                    let _ = write!(out, "\\x{:02x}", c as u32);
                }
                c if (c as u32) < 0x10000 => {
                    let _ = write!(out, "\\u{:04x}", c as u32);
                }
                c => {
                    let _ = write!(out, "\\U{:08x}", c as u32);
                }
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out.push('"');
    out
}

/// Returns the length of the quoted string at the start of `s` (Go's `strconv.QuotedPrefix`).
pub(crate) fn quoted_prefix(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let quote = *bytes.first()?;
    match quote {
        b'`' => s.get(1..)?.find('`').map(|i| i.saturating_add(2)),
        b'"' => {
            let mut i = 1usize;
            while let Some(&b) = bytes.get(i) {
                match b {
                    b'\\' => i = i.checked_add(2)?,
                    b'"' => return i.checked_add(1),
                    b'\n' => return None,
                    _ => i = i.checked_add(1)?,
                }
            }
            None
        }
        _ => None,
    }
}

/// Unquotes a Go string literal (Go's `strconv.Unquote`, for `"` and `` ` `` quotes).
pub(crate) fn go_unquote(s: &str) -> Option<String> {
    if s.len() < 2 {
        return None;
    }
    if let Some(inner) = s.strip_prefix('`').and_then(|r| r.strip_suffix('`')) {
        if inner.contains('`') {
            return None;
        }
        return Some(inner.replace('\r', ""));
    }
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    let mut out: Vec<u8> = Vec::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '"' || c == '\n' {
            return None;
        }
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let e = chars.next()?;
        let simple = match e {
            'a' => Some(7u8),
            'b' => Some(8),
            'f' => Some(12),
            'n' => Some(b'\n'),
            'r' => Some(b'\r'),
            't' => Some(b'\t'),
            'v' => Some(11),
            '\\' => Some(b'\\'),
            '"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let hex = |n: usize, chars: &mut std::str::Chars<'_>| -> Option<u32> {
            let mut v = 0u32;
            for _ in 0..n {
                v = v
                    .checked_mul(16)?
                    .checked_add(chars.next()?.to_digit(16)?)?;
            }
            Some(v)
        };
        match e {
            'x' => out.push(u8::try_from(hex(2, &mut chars)?).ok()?),
            'u' | 'U' => {
                let c = char::from_u32(hex(if e == 'u' { 4 } else { 8 }, &mut chars)?)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            '0'..='7' => {
                let mut v = e.to_digit(8)?;
                for _ in 0..2 {
                    v = v.checked_mul(8)?.checked_add(chars.next()?.to_digit(8)?)?;
                }
                out.push(u8::try_from(v).ok()?);
            }
            _ => return None,
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_roundtrip() {
        let cases: &[(&str, &str)] = &[
            ("-s -w", "\"-s -w\""),
            ("a\"b", "\"a\\\"b\""),
            ("tab\there", "\"tab\\there\""),
            ("\x01", "\"\\x01\""),
            ("é", "\"é\""),
        ];
        for (raw, quoted) in cases {
            assert_eq!(go_quote(raw.as_bytes()), *quoted);
            assert_eq!(go_unquote(quoted).as_deref(), Some(*raw));
            assert_eq!(quoted_prefix(&format!("{quoted}=x")), Some(quoted.len()));
        }
        assert_eq!(go_unquote("`a b`").as_deref(), Some("a b"));
        assert_eq!(go_quote(b"\xff"), "\"\\xff\"");
        assert_eq!(go_unquote("\"\\"), None);
    }
}
