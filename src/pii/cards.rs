//! Card numbers found by value in any text: digit groups joined by separators (spaces, dashes,
//! slashes, invisible controls; dots and underscores between groups of three or more digits), in
//! any script's decimal digits, 13–19 digits passing the Luhn check, masked to their first 6 and
//! last 4 digits. Hashes and decimals are not cards.

use std::borrow::Cow;

use super::{is_invisible_control, replace_spans};

/// `digits` (13–19 of them) as first 6, one `*` per hidden digit, last 4.
pub(super) fn mask_card(digits: &str) -> String {
    let n = digits.len();
    format!("{}{}{}", &digits[..6], "*".repeat(n - 10), &digits[n - 4..])
}

/// True for 13–19 digits that pass the Luhn check.
pub fn is_card(digits: &str) -> bool {
    (13..=19).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && luhn(digits.as_bytes())
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    sum % 10 == 0
}

/// A maximal run of digit groups joined by short separators: byte range, its digits (as ASCII) and
/// each group's byte range.
pub(super) struct DigitRun {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) digits: String,
    pub(super) groups: Vec<(usize, usize)>,
}

/// Most separator characters between two digit groups (`" - "`, two spaces).
const MAX_SEPARATOR: usize = 3;

/// The zeros of the decimal digit sets people type numbers in (Unicode category Nd, each ten
/// consecutive code points): Arabic-Indic, Extended Arabic-Indic, N'Ko, Devanagari, Bengali,
/// Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada, Malayalam, Sinhala, Thai, Lao, Tibetan,
/// Myanmar, Khmer, Mongolian, full-width, and the mathematical digits.
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0xFF10, 0x1D7CE, 0x1D7D8,
    0x1D7E2, 0x1D7EC, 0x1D7F6,
];

/// A digit as ASCII: `0`–`9`, and a digit of any of the [`DIGIT_ZEROS`] sets (`٤` is `4`).
pub(super) fn digit(c: char) -> Option<char> {
    if c.is_ascii() {
        return c.is_ascii_digit().then_some(c);
    }
    let code = c as u32;
    DIGIT_ZEROS
        .iter()
        .find(|zero| (**zero..**zero + 10).contains(&code))
        .and_then(|zero| char::from_u32(code - zero + '0' as u32))
}

/// Characters that may stand between the digit groups of a written number: spaces of every
/// width, tab, dashes and hyphens (soft hyphen too), the slash, and invisible controls. Not the
/// dot or comma (decimal numbers, IP addresses) and not line breaks (lines of a document).
fn separator(c: char) -> bool {
    matches!(c,
        ' ' | '\t' | '-' | '/' | '\u{00A0}' | '\u{00AD}' | '\u{2000}'..='\u{200A}' | '\u{2010}'..='\u{2015}'
        | '\u{202F}' | '\u{205F}' | '\u{3000}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}')
        || is_invisible_control(c)
}

/// A dot or underscore between digit groups (`4731.9167.5171.2394`, `4431_8158_4457_0889`): it joins
/// two groups of [`MIN_WEAK_GROUP`] or more digits only, so that decimals (`2500000000000000.0`)
/// and IP addresses keep their groups apart.
fn weak_separator(c: char) -> bool {
    matches!(c, '.' | '_')
}

/// The fewest digits on each side of a [`weak_separator`] that joins two groups.
const MIN_WEAK_GROUP: usize = 3;

/// Every maximal run of digit groups in `text`, the groups joined by up to [`MAX_SEPARATOR`]
/// separator characters (a [`weak_separator`] only between groups of [`MIN_WEAK_GROUP`] digits).
pub(super) fn digit_runs(text: &str) -> Vec<DigitRun> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let end_of = |k: usize| chars.get(k).map_or(text.len(), |(i, _)| *i);
    let mut runs = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        if digit(chars[k].1).is_none() {
            k += 1;
            continue;
        }
        let mut run = DigitRun {
            start: chars[k].0,
            end: 0,
            digits: String::new(),
            groups: Vec::new(),
        };
        loop {
            let group_start = chars[k].0;
            while let Some(d) = chars.get(k).and_then(|(_, c)| digit(*c)) {
                run.digits.push(d);
                k += 1;
            }
            let group_digits = chars[..k]
                .iter()
                .rev()
                .take_while(|(_, c)| digit(*c).is_some())
                .count();
            run.groups.push((group_start, end_of(k)));
            let gap = chars[k..]
                .iter()
                .take(MAX_SEPARATOR + 1)
                .take_while(|(_, c)| separator(*c) || weak_separator(*c))
                .count();
            let next_is_digit = chars.get(k + gap).is_some_and(|(_, c)| digit(*c).is_some());
            if gap == 0 || gap > MAX_SEPARATOR || !next_is_digit {
                break;
            }
            let weak = chars[k..k + gap].iter().any(|(_, c)| weak_separator(*c));
            let next_digits = chars[k + gap..]
                .iter()
                .take_while(|(_, c)| digit(*c).is_some())
                .count();
            if weak && (group_digits < MIN_WEAK_GROUP || next_digits < MIN_WEAK_GROUP) {
                break;
            }
            k += gap;
        }
        run.end = end_of(k);
        runs.push(run);
    }
    runs
}

/// True when the run sits inside a hexadecimal token of 16 or more characters with a letter in it
/// (a hash or run id, which is not a card).
fn inside_hex_token(text: &str, run: &DigitRun) -> bool {
    let bytes = text.as_bytes();
    let is_hex = |b: u8| b.is_ascii_hexdigit();
    let mut s = run.start;
    while s > 0 && is_hex(bytes[s - 1]) {
        s -= 1;
    }
    let mut e = run.end;
    while e < bytes.len() && is_hex(bytes[e]) {
        e += 1;
    }
    let token = &bytes[s..e];
    token.len() >= 16
        && token.iter().all(|b| is_hex(*b))
        && token.iter().any(|b| b.is_ascii_alphabetic())
}

/// True when the run is part of a decimal number (`2500000000000000.0`, `0.1234567890123456`):
/// numbers in tables and JSON are measurements, never cards, and must stay numbers.
fn in_decimal(text: &str, run: &DigitRun) -> bool {
    let b = text.as_bytes();
    let digit_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    (b.get(run.end) == Some(&b'.') && digit_at(run.end + 1))
        || (run.start > 0 && b[run.start - 1] == b'.' && run.start >= 2 && digit_at(run.start - 2))
}

/// Masks every card-like digit run of `text` to first 6 / last 4 digits. Text without one is
/// returned as it is, without a copy.
pub fn redact(text: &str) -> Cow<'_, str> {
    if text.chars().filter(|c| digit(*c).is_some()).count() < 13 {
        return Cow::Borrowed(text);
    }
    let runs: Vec<DigitRun> = digit_runs(text)
        .into_iter()
        .filter(|r| !inside_hex_token(text, r) && !in_decimal(text, r))
        .flat_map(|r| card_within(text, r))
        .collect();
    let spans = runs.iter().map(|r| (r.start, r.end)).collect();
    replace_spans(text, spans, |card| {
        mask_card(&card.chars().filter_map(digit).collect::<String>())
    })
}

/// The cards in one digit run: the whole run when it is one, else (a run joined to other digit
/// groups by separators, as in `CIPW-4000000000000002-2026-11-21`) each leftmost longest sequence
/// of whole groups that is one.
fn card_within(text: &str, run: DigitRun) -> Vec<DigitRun> {
    if is_card(&run.digits) {
        return vec![run];
    }
    let digits = |from: usize, to: usize| -> String {
        run.groups[from..=to]
            .iter()
            .flat_map(|(s, e)| text[*s..*e].chars().filter_map(digit))
            .collect()
    };
    let groups = &run.groups;
    let mut cards = Vec::new();
    let mut i = 0;
    while i < groups.len() {
        let found = (i..groups.len())
            .rev()
            .map(|j| (j, digits(i, j)))
            .find(|(_, d)| is_card(d));
        match found {
            Some((j, d)) => {
                cards.push(DigitRun {
                    start: groups[i].0,
                    end: groups[j].1,
                    digits: d,
                    groups: groups[i..=j].to_vec(),
                });
                i = j + 1;
            }
            None => i += 1,
        }
    }
    cards
}
