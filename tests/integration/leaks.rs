//! The leak scanner the PII tests share: every file under an output root (hidden files, run logs
//! and the knowledge file included), Parquet decoded to its values, is searched for card numbers,
//! for planted secrets, and for masks that show too much; every file must be 0600 and every folder
//! 0700.

use polars::prelude::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::helpers::tree;

/// The decoded text of an output file: Parquet as CSV of its values, JSON (and JSON lines) as
/// written followed by its strings and keys unescaped (a tab JSON writes `\t` is a tab again), anything
/// else as UTF-8.
pub fn decoded(path: &Path, bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes).into_owned();
    if path
        .extension()
        .is_some_and(|e| e == "json" || e == "jsonl")
    {
        return json_strings(&text);
    }
    if path.extension().is_some_and(|e| e == "parquet") {
        let mut df = ParquetReader::new(std::io::Cursor::new(bytes.to_vec()))
            .finish()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut out = Vec::new();
        CsvWriter::new(&mut out).finish(&mut df).unwrap();
        String::from_utf8_lossy(&out).into_owned()
    } else {
        String::from_utf8_lossy(bytes).into_owned()
    }
}

/// Asserts, for every file under `root` and its path: mode 0600 in a 0700 folder, no card number, none of
/// `secrets` (as written, or as its digits alone when it has 9 or more), and every mask (`*`
/// runs) showing at most 6 digits before and 4 after.
pub fn assert_private_and_masked(root: &Path, secrets: &[&str]) {
    let files = tree(root);
    assert!(!files.is_empty(), "nothing under {}", root.display());
    for (name, bytes) in &files {
        let path = root.join(name);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name}");
        let parent = std::fs::metadata(path.parent().unwrap()).unwrap();
        assert_eq!(
            parent.permissions().mode() & 0o777,
            0o700,
            "folder of {name}"
        );
        assert_masked(name, name, secrets);
        assert_masked(name, &decoded(&path, bytes), secrets);
    }
}

/// JSON text (one document, or one per line) followed by every string and key it holds, unescaped.
pub fn json_strings(text: &str) -> String {
    fn walk(v: &serde_json::Value, out: &mut String) {
        match v {
            serde_json::Value::String(s) => out.push_str(&format!("\n{s}")),
            serde_json::Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
                out.push_str(&format!("\n{k}"));
                walk(v, out)
            }),
            _ => {}
        }
    }
    let mut out = text.to_string();
    let documents = serde_json::Deserializer::from_str(text).into_iter::<serde_json::Value>();
    for v in documents.flatten() {
        walk(&v, &mut out);
    }
    out
}

/// `text` as a reader sees its numbers: full-width digits as ASCII, and spaces (not line breaks),
/// dashes, slashes and invisible format characters left out, so `4929\u{A0}0000…` reads
/// `49290000…`.
fn squeezed(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + '0' as u32),
            '\n' | '\r' => Some(c),
            '-' | '/' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{00AD}' => None,
            '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' => None,
            '\u{FEFF}' => None,
            c if c.is_whitespace() => None,
            c => Some(c),
        })
        .collect()
}

/// The text checks of [`assert_private_and_masked`] on one text.
pub fn assert_masked(name: &str, text: &str, secrets: &[&str]) {
    assert_eq!(
        card_numbers(text),
        Vec::<String>::new(),
        "{name} holds a card number"
    );
    let squeezed = squeezed(text);
    for secret in secrets {
        assert!(!text.contains(secret), "{name} holds a planted secret");
        let d: String = secret.chars().filter(char::is_ascii_digit).collect();
        if d.len() >= 9 {
            assert!(
                !squeezed.contains(&d),
                "{name} holds the digits of a planted secret"
            );
        }
    }
    for (before, after) in mask_shapes(text) {
        assert!(
            before <= 6 && after <= 4,
            "{name}: a mask shows {before} digits before and {after} after"
        );
    }
}

/// For every run of `*` (with digits around it): the digits right before and right after it.
/// A Markdown document writes a mask's stars escaped (`\*`): they are read as plain stars.
fn mask_shapes(text: &str) -> Vec<(usize, usize)> {
    let text = text.replace("\\*", "*");
    let b = text.as_bytes();
    let mut shapes = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'*' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i] == b'*' {
            i += 1;
        }
        let before = b[..start]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .count();
        let after = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        shapes.push((before, after));
    }
    shapes
}

/// Runs of 13 to 19 digits (single spaces or dashes allowed between) that pass the Luhn check,
/// wherever they stand (also inside words), except inside a hexadecimal token of 16 or more
/// characters (a hash) and except a number's integer part.
pub fn card_numbers(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let joiner = |j: usize| {
        (b[j] == b' ' || b[j] == b'-') && b.get(j + 1).is_some_and(|c| c.is_ascii_digit())
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !b[i].is_ascii_digit() || (i > 0 && (b[i - 1].is_ascii_digit() || b[i - 1] == b'.')) {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut digits = String::new();
        while j < b.len() && (b[j].is_ascii_digit() || joiner(j)) {
            if b[j].is_ascii_digit() {
                digits.push(b[j] as char);
            }
            j += 1;
        }
        let fraction = b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(|c| c.is_ascii_digit());
        if (13..=19).contains(&digits.len()) && !fraction && luhn(&digits) && !in_hex(b, i, j) {
            found.push(digits);
        }
        i = j.max(i + 1);
    }
    found
}

fn in_hex(b: &[u8], start: usize, end: usize) -> bool {
    let mut s = start;
    while s > 0 && b[s - 1].is_ascii_hexdigit() {
        s -= 1;
    }
    let mut e = end;
    while e < b.len() && b[e].is_ascii_hexdigit() {
        e += 1;
    }
    let token = &b[s..e];
    token.len() >= 16
        && token.iter().all(u8::is_ascii_hexdigit)
        && token.iter().any(u8::is_ascii_alphabetic)
}

fn luhn(digits: &str) -> bool {
    let doubled = |d: u32| if d * 2 > 9 { d * 2 - 9 } else { d * 2 };
    let sum: u32 = digits
        .chars()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            c.to_digit(10)
                .map_or(0, |d| if i % 2 == 1 { doubled(d) } else { d })
        })
        .sum();
    sum % 10 == 0
}

#[test]
fn the_card_scanner_finds_cards() {
    assert_eq!(
        card_numbers("paid with 4111 1111 1111 1111 today"),
        ["4111111111111111"]
    );
    assert_eq!(
        card_numbers("Zephyr6011000099887766 Ltd"),
        ["6011000099887766"]
    );
    assert_eq!(
        card_numbers("masked 411111******1111, peak 1120000000000000.0"),
        Vec::<String>::new()
    );
}

#[test]
#[should_panic(expected = "holds the digits of a planted secret")]
fn the_secret_check_sees_through_odd_separators() {
    assert_masked(
        "x",
        "card ４９２９\u{00A0}0000\u{200B}1234 \u{2013} 5674",
        &["4929000012345674"],
    );
}

#[test]
fn the_mask_check_catches_masks_that_show_too_much() {
    assert_eq!(
        mask_shapes("492900******5674 and ****4419"),
        [(6, 4), (0, 4)]
    );
    assert_eq!(mask_shapes("1101051990****1234"), [(10, 4)]);
    assert_eq!(
        mask_shapes("4929001\\*\\*\\*\\*5674"),
        [(7, 4)],
        "escaped stars"
    );
}
