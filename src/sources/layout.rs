//! The physical layout of a CSV file, read in the same streaming pass that hashes it and checks
//! its encoding, before any parser sees it: the header (no column named twice), every record's
//! field count (a ragged record is rejected), quotes (one never closed is rejected), blank lines
//! (a line holding nothing but whitespace, such as the lone `\r` a CRLF file ends with, is not a
//! record) and the physical line each record starts on, so that a quarantined row is reported at
//! its line in the file (header = line 1; a record spanning lines because of a quoted newline at
//! its first line). Errors name the file, the line and at most a column name, never a cell value.
//!
//! Limits, so that a hostile file is rejected (exit 3) within seconds instead of running for hours
//! or exhausting memory in the parser: a record (a line, or the lines of one quoted record) holds
//! at most [`MAX_RECORD_BYTES`], and the header at most [`MAX_COLUMNS`] columns. The decompressed
//! size of a `.csv.gz` is bounded where the file is read (`files::inspect`).

use std::path::Path;

use crate::error::{Error, Location, Result};

/// Most bytes one record (the header included) may hold: 1 MiB.
pub const MAX_RECORD_BYTES: u64 = 1 << 20;
/// Most columns a file may have.
pub const MAX_COLUMNS: u64 = 10_000;

/// Where each data record of a CSV file starts, and which byte ranges are blank lines.
#[derive(Debug, Clone, Default)]
pub struct CsvLayout {
    /// `(first data record, extra lines)`: from that 0-based data record on, records start this
    /// many lines below `record + 2` (quoted newlines and blank lines above them). Empty when
    /// every record is one line and no line is blank.
    breaks: Vec<(u64, u64)>,
    /// Byte ranges (start, end) of the blank lines, in the decompressed text.
    pub blank_ranges: Vec<(u64, u64)>,
    /// Data records (header and blank lines not counted).
    pub records: u64,
}

impl CsvLayout {
    /// True when record `i` starts on line `i + 2` for every record (the common case).
    pub fn is_regular(&self) -> bool {
        self.breaks.is_empty()
    }

    /// The physical line of the 0-based data record `record`.
    pub fn line_of(&self, record: u64) -> u64 {
        let at = self.breaks.partition_point(|(first, _)| *first <= record);
        let extra = at.checked_sub(1).map_or(0, |i| self.breaks[i].1);
        record + 2 + extra
    }

    /// `bytes` without the blank lines.
    pub fn without_blank_lines(&self, bytes: Vec<u8>) -> Vec<u8> {
        if self.blank_ranges.is_empty() {
            return bytes;
        }
        let mut out = Vec::with_capacity(bytes.len());
        let mut from = 0usize;
        for (start, end) in &self.blank_ranges {
            out.extend_from_slice(&bytes[from..*start as usize]);
            from = *end as usize;
        }
        out.extend_from_slice(&bytes[from.min(bytes.len())..]);
        out
    }
}

/// The streaming checker: fed chunk by chunk, it keeps one state of an RFC 4180 reader (comma
/// separator, `"` quotes doubled inside quoted fields).
#[derive(Default)]
pub struct CsvChecker {
    layout: CsvLayout,
    in_quotes: bool,
    quote_pending: bool,
    field_start: bool,
    /// The current record holds something besides whitespace.
    content: bool,
    fields: u64,
    line: u64,
    record_line: u64,
    quote_line: u64,
    record_offset: u64,
    offset: u64,
    /// Records seen, the header included.
    seen: u64,
    expected_fields: u64,
    last_extra: u64,
    header: Vec<Vec<u8>>,
    field: Vec<u8>,
}

impl CsvChecker {
    pub fn new() -> Self {
        CsvChecker {
            field_start: true,
            fields: 1,
            line: 1,
            record_line: 1,
            ..Default::default()
        }
    }

    /// Reads the next chunk of the file's text. Inside a data field only a few bytes can change
    /// the state (a quote or a newline inside quotes; a comma or a newline outside), so the
    /// checker jumps to the next of those.
    pub fn feed(&mut self, path: &Path, chunk: &[u8]) -> Result<()> {
        let mut i = 0;
        while i < chunk.len() {
            if self.seen > 0 {
                let rest = &chunk[i..];
                let next = if self.in_quotes && !self.quote_pending {
                    memchr::memchr2(b'"', b'\n', rest)
                } else if !self.in_quotes && !self.field_start && self.content {
                    memchr::memchr2(b',', b'\n', rest)
                } else {
                    Some(0)
                };
                let skip = next.unwrap_or(rest.len());
                i += skip;
                self.offset += skip as u64;
                self.check_record_size(path)?;
                if i == chunk.len() {
                    break;
                }
            }
            self.byte(path, chunk[i])?;
            self.offset += 1;
            i += 1;
        }
        Ok(())
    }

    /// The record being read must stay within [`MAX_RECORD_BYTES`].
    fn check_record_size(&self, path: &Path) -> Result<()> {
        if self.offset.saturating_sub(self.record_offset) <= MAX_RECORD_BYTES {
            return Ok(());
        }
        Err(Error::input(
            Location::file(path).row(self.record_line),
            format!(
                "a record of more than {} MiB (the limit of one record; a runaway quote or a damaged file?)",
                MAX_RECORD_BYTES >> 20
            ),
        ))
    }

    fn byte(&mut self, path: &Path, b: u8) -> Result<()> {
        if self.seen == 0 {
            // The header is read byte by byte (it is kept): its size is checked here.
            self.check_record_size(path)?;
        }
        if self.in_quotes {
            if self.quote_pending {
                self.quote_pending = false;
                if b == b'"' {
                    return self.keep(b); // a doubled quote inside a quoted field
                }
                self.in_quotes = false; // the pending quote closed the field
            } else {
                match b {
                    b'"' => self.quote_pending = true,
                    b'\n' => {
                        self.line += 1;
                        self.keep(b)?;
                    }
                    _ => self.keep(b)?,
                }
                return Ok(());
            }
        }
        match b {
            b'"' if self.field_start => {
                self.in_quotes = true;
                self.quote_line = self.line;
                self.field_start = false;
                self.content = true;
            }
            b',' => {
                self.end_field();
                self.fields += 1;
                if self.fields > MAX_COLUMNS {
                    return Err(Error::input(
                        Location::file(path).row(self.record_line),
                        format!("more than {MAX_COLUMNS} columns (the limit of a file)"),
                    ));
                }
                self.field_start = true;
                self.content = true;
            }
            b'\n' => {
                self.end_record(path)?;
                self.line += 1;
                self.record_line = self.line;
                self.record_offset = self.offset + 1;
            }
            b'\r' => {}
            b' ' | b'\t' => self.keep(b)?,
            _ => {
                self.field_start = false;
                self.content = true;
                self.keep(b)?;
            }
        }
        Ok(())
    }

    /// Keeps a byte of the header's current field (data cells are not kept).
    fn keep(&mut self, b: u8) -> Result<()> {
        if self.seen == 0 {
            self.field.push(b);
        }
        Ok(())
    }

    fn end_field(&mut self) {
        if self.seen == 0 {
            self.header.push(std::mem::take(&mut self.field));
        }
    }

    fn end_record(&mut self, path: &Path) -> Result<()> {
        let blank = !self.content && self.fields == 1;
        if blank {
            self.layout
                .blank_ranges
                .push((self.record_offset, self.offset + 1));
            self.field.clear();
        } else {
            self.record(path)?;
        }
        self.fields = 1;
        self.content = false;
        self.field_start = true;
        Ok(())
    }

    fn record(&mut self, path: &Path) -> Result<()> {
        if self.seen == 0 {
            self.end_field();
            self.expected_fields = self.fields;
            check_header(path, &self.header)?;
        } else if self.fields != self.expected_fields {
            return Err(Error::input(
                Location::file(path).row(self.record_line),
                format!(
                    "ragged row: {} fields where the header has {} (a stray separator or an unquoted comma)",
                    self.fields, self.expected_fields
                ),
            ));
        } else {
            let record = self.seen - 1;
            let extra = self.record_line - (record + 2);
            if extra != self.last_extra {
                self.layout.breaks.push((record, extra));
                self.last_extra = extra;
            }
            self.layout.records += 1;
        }
        self.seen += 1;
        Ok(())
    }

    /// Ends the file: a quote still open is an error; a last line without a newline is a record.
    pub fn finish(mut self, path: &Path) -> Result<CsvLayout> {
        if self.in_quotes && !self.quote_pending {
            return Err(Error::input(
                Location::file(path).row(self.quote_line),
                "a quoted field opened on this line is never closed (unbalanced '\"')",
            ));
        }
        if self.offset > self.record_offset {
            self.end_record(path)?;
            // A blank last line without a newline ends at the end of the text.
            if let Some(last) = self.layout.blank_ranges.last_mut() {
                last.1 = last.1.min(self.offset);
            }
        }
        Ok(self.layout)
    }
}

/// The header must name every column once (a byte-order mark before the first name is ignored).
fn check_header(path: &Path, header: &[Vec<u8>]) -> Result<()> {
    let names: Vec<String> = header
        .iter()
        .map(|f| {
            let text = String::from_utf8_lossy(f);
            text.trim_start_matches('\u{feff}').trim().to_string()
        })
        .collect();
    for (i, name) in names.iter().enumerate() {
        if names[..i].contains(name) {
            return Err(Error::input(
                Location::file(path).row(1).column(name.as_str()),
                "duplicate column name in the header (which of the two to read cannot be known)",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(text: &str) -> Result<CsvLayout> {
        let mut c = CsvChecker::new();
        let p = Path::new("t.csv");
        // Fed in small chunks so that states crossing a chunk boundary are exercised.
        for chunk in text.as_bytes().chunks(3) {
            c.feed(p, chunk)?;
        }
        c.finish(p)
    }

    #[test]
    fn quoted_newlines_and_blank_lines_move_the_physical_line() {
        let l = layout("a,b\n1,\"x\ny\"\n2,z\n\n3,w\r\n\r\n").unwrap();
        assert_eq!(l.records, 3);
        assert_eq!([l.line_of(0), l.line_of(1), l.line_of(2)], [2, 4, 6]);
        assert_eq!(l.blank_ranges.len(), 2);
        let text = "a,b\n1,\"x\ny\"\n2,z\n\n3,w\r\n\r\n";
        let clean = l.without_blank_lines(text.as_bytes().to_vec());
        assert_eq!(
            String::from_utf8(clean).unwrap(),
            "a,b\n1,\"x\ny\"\n2,z\n3,w\r\n"
        );
        assert!(layout("a,b\n1,2\n3,4").unwrap().is_regular());
    }

    #[test]
    fn records_and_columns_beyond_the_limits_are_rejected_naming_the_line() {
        let huge = format!(
            "a,b\n1,2\n3,{}\n",
            "x".repeat(MAX_RECORD_BYTES as usize + 1)
        );
        let e = layout(&huge).unwrap_err().to_string();
        assert!(e.contains("row 3") && e.contains("MiB"), "{e}");
        let quoted = format!("a,b\n1,\"{}\"\n", "y\n".repeat(MAX_RECORD_BYTES as usize));
        let e = layout(&quoted).unwrap_err().to_string();
        assert!(e.contains("row 2"), "{e}");
        let wide = format!("{}\n", vec!["c"; MAX_COLUMNS as usize + 1].join(","));
        let e = layout(&wide).unwrap_err().to_string();
        assert!(e.contains("row 1") && e.contains("columns"), "{e}");
        let long_header = format!("{}\n", "h".repeat(MAX_RECORD_BYTES as usize + 1));
        assert!(layout(&long_header).is_err());
    }

    #[test]
    fn doubled_quotes_stay_inside_the_field() {
        let l = layout("a,b\n\"say \"\"hi\"\", ok\",2\n3,4\n").unwrap();
        assert_eq!(l.records, 2);
        assert!(l.is_regular());
    }

    #[test]
    fn reader_errors_name_the_line_and_no_cell() {
        let e = layout("a,b\n1,2\n3,4,5\n").unwrap_err().to_string();
        assert!(
            e.contains("row 3") && e.contains("ragged") && !e.contains('5'),
            "{e}"
        );
        let e = layout("a,b\n1,2\n\"secret,4\n5,6\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("row 3") && e.contains("never closed") && !e.contains("secret"),
            "{e}"
        );
        let e = layout("\u{feff}a,b,a\n1,2,3\n").unwrap_err().to_string();
        assert!(
            e.contains("row 1") && e.contains("column a") && e.contains("duplicate"),
            "{e}"
        );
    }
}
