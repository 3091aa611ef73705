//! CSV as spreadsheets read it: RFC 4180 (CRLF line ends, fields quoted when
//! they hold a quote, comma, CR or LF, or begin or end with a space; quotes
//! doubled), UTF-8 with a byte-order mark so Excel does not guess the code page.
//!
//! A text cell beginning with `=`, `+`, `-`, `@`, tab or CR is prefixed with
//! `'` so a spreadsheet shows it rather than running it as a formula (field
//! data is typed by people outside the office: CSV injection).

use super::cells::{Column, Kind};
use std::io::{self, Write};

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Writes the BOM and the header line.
pub fn write_header(w: &mut impl Write, columns: &[Column]) -> io::Result<()> {
    w.write_all(BOM)?;
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    write_line(w, columns, &names, false)
}

/// Writes one row (cells in the order of `columns`).
pub fn write_row(w: &mut impl Write, columns: &[Column], cells: &[&str]) -> io::Result<()> {
    write_line(w, columns, cells, true)
}

fn write_line(
    w: &mut impl Write,
    columns: &[Column],
    cells: &[&str],
    guard: bool,
) -> io::Result<()> {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            w.write_all(b",")?;
        }
        let text = guard && columns.get(i).is_none_or(|c| c.kind == Kind::Text);
        field(w, cell, text)?;
    }
    w.write_all(b"\r\n")
}

/// Writes one field, quoted when needed.
pub fn field(w: &mut impl Write, s: &str, text: bool) -> io::Result<()> {
    let b = s.as_bytes();
    let formula = text && matches!(b.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'));
    // Most cells are short and need no quotes; this check was the largest
    // single cost of a large export: a plain loop for short cells, memchr's
    // vectorised scans for long ones.
    let special = |c: &u8| matches!(c, b'"' | b',' | b'\r' | b'\n');
    let quote = b.first() == Some(&b' ')
        || b.last() == Some(&b' ')
        || if b.len() < 32 {
            b.iter().any(special)
        } else {
            memchr::memchr3(b'"', b',', b'\n', b).is_some() || memchr::memchr(b'\r', b).is_some()
        };
    if !quote {
        if formula {
            w.write_all(b"'")?;
        }
        return w.write_all(b);
    }
    w.write_all(b"\"")?;
    if formula {
        w.write_all(b"'")?;
    }
    let mut start = 0;
    for i in memchr::memchr_iter(b'"', b) {
        w.write_all(&b[start..=i])?;
        w.write_all(b"\"")?;
        start = i + 1;
    }
    w.write_all(&b[start..])?;
    w.write_all(b"\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, text: bool, expected: &str) {
        let mut out = Vec::new();
        field(&mut out, input, text).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), expected, "{input:?}");
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        check("plain", true, "plain");
        check("", true, "");
        check("a,b", true, "\"a,b\"");
        check("say \"hi\"", true, "\"say \"\"hi\"\"\"");
        check("two\nlines", true, "\"two\nlines\"");
        check("cr\r\nlf", true, "\"cr\r\nlf\"");
        check(" padded", true, "\" padded\"");
        check("Nguyễn Thị Mai, 阮氏梅", true, "\"Nguyễn Thị Mai, 阮氏梅\"");
        check("=HYPERLINK(\"x\")", true, "\"'=HYPERLINK(\"\"x\"\")\"");
        check("-5", true, "'-5");
        check("-5", false, "-5");
        check("@SUM(A1)", true, "'@SUM(A1)");
    }
}
