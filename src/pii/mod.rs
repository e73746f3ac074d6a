//! Masking of payment and identity numbers, by column and by value. Everything that leaves
//! cipwatch as text (tables, quarantine files, documents, `explain`, `diff`, error messages) goes
//! through [`redact`], which masks every card-like digit run (13–19 digits, single spaces or
//! dashes allowed between them, Luhn-valid) to at most its first 6 and last 4 digits. Registry
//! values are masked once more by column where they are read for an output ([`mask_field`]):
//! identifier columns keep their last 4 characters only, whatever their length; free text
//! additionally loses identifier-like tokens (letters mixed with six or more digits, long digit
//! groups), and phone numbers any digit run longer than a telephone number can be (E.164: 15).
//! Logs never receive customer values at all.

use std::borrow::Cow;

mod cards;
mod json;

use cards::{digit_runs, mask_card, DigitRun};
pub use cards::{is_card, redact};
pub use json::{masked_json, redact_json, strings_mut};

/// How a registry column is masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// A means of payment's number: a card keeps first 6 / last 4 digits, anything else
    /// (IBAN, bank account) its last 4 characters.
    Payment,
    /// A national, tax, passport or registration number: last 4 characters only.
    Identifier,
    /// A telephone number: cards, identifier tokens and over-long digit runs are masked.
    Phone,
    /// A key cipwatch itself reports (account, sub-account, resource, reseller ids, columns named
    /// `…id`) and numbers: only card-like runs are masked.
    Key,
    /// Names, addresses, e-mails, descriptions: cards, identifier tokens and long digit groups
    /// are masked.
    FreeText,
}

/// Column names of payment numbers, compared as letters and digits only in lower case
/// (`CardNumber`, `card-number` and `card_number` are one name).
const PAYMENT_COLUMNS: &[&str] = &[
    "paymentidentifier",
    "cardnumber",
    "pan",
    "iban",
    "accountnumber",
    "bankaccount",
];

/// Parts of column names (letters and digits only, lower case) that hold identity numbers,
/// decided by column.
const IDENTIFIER_PARTS: &[&str] = &[
    "nationalid",
    "taxid",
    "vatid",
    "govid",
    "govtid",
    "governmentid",
    "personalid",
    "passport",
    "socialsecurity",
    "idnumber",
    "registrationnumber",
    "card",
    "iban",
];

/// Whole column names (letters and digits only, lower case) that hold identity numbers.
const IDENTIFIER_NAMES: &[&str] = &[
    "nid", "ssn", "tin", "uen", "ein", "nino", "cpf", "aadhaar", "pesel",
];

/// Registry columns of customer-supplied free text (exact, lower case): masked with the free-text
/// rules wherever they reach an output. Other text columns are masked by value only (cards).
const FREE_TEXT_COLUMNS: &[&str] = &[
    "legal_name",
    "name",
    "address",
    "email",
    "payment_source",
    "reseller_name",
    "owner_name",
    "beneficial_owner",
    "payment_method",
];

/// Columns naming an input file (the operator's own paths): masked by value only, as the manifest
/// and messages mask paths, never by their column's kind.
const SOURCE_COLUMNS: &[&str] = &["source_file", "_source_file"];

/// Masks the text columns of a table for an output: payment, identifier and phone columns and
/// the registry's free-text columns by their kind ([`mask_field`]), every other text column by
/// value ([`redact`]). Non-text columns are left alone.
///
/// Errors: only Polars' own, when a column cannot be read as text.
pub fn mask_frame(
    df: &polars::prelude::DataFrame,
) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let mut out = df.clone();
    for (name, dtype) in df.schema().iter() {
        if dtype != &DataType::String {
            continue;
        }
        let column = name.as_str();
        let by_kind = !SOURCE_COLUMNS.contains(&column)
            && (FREE_TEXT_COLUMNS.contains(&column.to_ascii_lowercase().as_str())
                || !matches!(field_kind(column), FieldKind::FreeText | FieldKind::Key));
        // Once per distinct text: output tables repeat account ids, groups and classes.
        let (index, masked) = crate::distinct::per_text(
            df.column(name)?.str()?,
            |_| true,
            |v| {
                if by_kind {
                    mask_field(column, v)
                } else {
                    redact(v).into_owned()
                }
            },
        );
        let masked = StringChunked::from_iter_options(
            name.clone(),
            index.iter().map(|i| i.map(|i| masked[i as usize].as_str())),
        );
        out.with_column(masked.into_series().into())?;
    }
    Ok(out)
}

/// The registry's tables as the queries see them: payment, identity-number and telephone columns
/// masked by their kind ([`mask_field`]), every other column as read (the queries join on account
/// ids and group by country; names stay for the certification's filing copy). So a `--queries`
/// override selecting a national ID or a payment number gets its mask, whatever it calls it.
///
/// Errors: only Polars' own, when a column cannot be read as text.
pub fn mask_identifier_columns(
    df: &polars::prelude::DataFrame,
) -> polars::prelude::PolarsResult<polars::prelude::DataFrame> {
    use polars::prelude::*;
    let mut out = df.clone();
    for (name, dtype) in df.schema().iter() {
        let column = name.as_str();
        let identifier = matches!(
            field_kind(column),
            FieldKind::Payment | FieldKind::Identifier | FieldKind::Phone
        );
        if dtype != &DataType::String || !identifier {
            continue;
        }
        let masked = df
            .column(name)?
            .str()?
            .apply(|v| v.map(|v| Cow::Owned(mask_field(column, v))));
        out.with_column(masked.into_series().into())?;
    }
    Ok(out)
}

/// The masking a column's values get. Names are compared in lower case; a name the registry
/// duplicates (Polars renames it `x_duplicated_0`) keeps its kind.
pub fn field_kind(column: &str) -> FieldKind {
    let lower = column.to_lowercase();
    let base = lower.split("_duplicated_").next().unwrap_or(&lower);
    let name: String = base.chars().filter(|c| c.is_alphanumeric()).collect();
    if PAYMENT_COLUMNS.contains(&name.as_str()) {
        FieldKind::Payment
    } else if IDENTIFIER_PARTS.iter().any(|p| name.contains(p))
        || IDENTIFIER_NAMES.contains(&name.as_str())
    {
        FieldKind::Identifier
    } else if name.contains("phone") || name.contains("fax") || name.contains("mobile") {
        FieldKind::Phone
    } else if name.ends_with("id") {
        FieldKind::Key
    } else {
        FieldKind::FreeText
    }
}

/// `value` of `column` as it may appear in an output. A registry field holds text, not a
/// measurement: a number written alone in it (`4929000012345674.0`, `4.929000012345674E15`, as
/// spreadsheets store long numbers) is masked by its integer part ([`mask_number_alone`]).
pub fn mask_field(column: &str, value: &str) -> String {
    let kind = field_kind(column);
    if let Some(masked) = mask_number_alone(column, kind, value) {
        return masked;
    }
    match kind {
        FieldKind::Payment => mask_payment(value),
        FieldKind::Identifier => mask_identifier(value),
        FieldKind::Key => redact(value).into_owned(),
        // A number is left alone, but a long whole number in a free-text or phone field is an
        // identifier written alone (`987654321098765432`), masked below.
        _ if value.trim().parse::<f64>().is_ok() && !long_whole_number(value) => {
            redact(value).into_owned()
        }
        FieldKind::Phone => mask_tokens(&redact(value), 16).into_owned(),
        FieldKind::FreeText => mask_tokens(&redact(value), 9).into_owned(),
    }
}

/// A value that is not customer data but may have been typed as one (a `--set` parameter): card
/// numbers masked by value ([`redact`]), also when the value is a number written with a decimal
/// point or an exponent (`4.929000012345674e15`).
pub fn mask_value(value: &str) -> String {
    mask_number_alone("", FieldKind::Key, value).unwrap_or_else(|| redact(value).into_owned())
}

/// A value that is a decimal or scientific number and nothing else, masked by its integer part:
/// a card there keeps first 6 / last 4 digits; in a registry free-text column
/// ([`FREE_TEXT_COLUMNS`]) nine or more digits, and in a telephone column more than 15, keep
/// their last 4 (another column's number, a cost in a quarantine file, is a measurement). `None`
/// for any other value (or kind), which the column's own rule masks.
fn mask_number_alone(column: &str, kind: FieldKind, value: &str) -> Option<String> {
    if matches!(kind, FieldKind::Payment | FieldKind::Identifier) {
        return None;
    }
    let digits = integer_digits(value.trim())?;
    if is_card(&digits) {
        return Some(mask_card(&digits));
    }
    let free_text = FREE_TEXT_COLUMNS.contains(&column.to_ascii_lowercase().as_str());
    let longest = match kind {
        FieldKind::FreeText if free_text => 8,
        FieldKind::Phone => 15,
        _ => return None,
    };
    (digits.len() > longest).then(|| mask_identifier(&digits))
}

/// The written digits of the integer part of `text` when it is a number written with a decimal
/// point or an exponent (`+4929000012345674.0`, `4.929000012345674e15`), leading zeros dropped;
/// `None` for anything else (a plain integer is handled as text).
fn integer_digits(text: &str) -> Option<String> {
    let unsigned = text.strip_prefix(['+', '-']).unwrap_or(text);
    let (mantissa, exponent) = match unsigned.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (unsigned, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let notation = mantissa.contains('.') || unsigned.len() != mantissa.len();
    let empty = whole.is_empty() && fraction.is_empty();
    if !notation || empty || !plain(whole) || !plain(fraction) {
        return None;
    }
    // Only the digits written count: an exponent's implied zeros hide nothing.
    let shift = usize::try_from(exponent.max(0)).unwrap_or(0);
    let digits: String = whole.chars().chain(fraction.chars().take(shift)).collect();
    Some(digits.trim_start_matches('0').to_string())
}

/// True for nine or more ASCII digits and nothing else (white space around aside).
fn long_whole_number(value: &str) -> bool {
    let v = value.trim();
    v.len() >= 9 && v.bytes().all(|b| b.is_ascii_digit())
}

/// A payment number: a card (Luhn-valid, 13–19 digits) keeps first 6 / last 4 digits, any other
/// number its last 4 characters.
pub fn mask_payment(value: &str) -> String {
    let digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
    let card_chars = value
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    if card_chars && is_card(&digits) {
        mask_card(&digits)
    } else {
        mask_identifier(value)
    }
}

/// Any identifier: its last 4 characters (white space left out) behind one `*` per hidden
/// character; 4 characters or fewer are hidden whole.
pub fn mask_identifier(value: &str) -> String {
    let chars: Vec<char> = value.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len().max(4));
    }
    let keep: String = chars[chars.len() - 4..].iter().collect();
    format!("{}{}", "*".repeat(chars.len() - 4), keep)
}

/// Masks identifier-like pieces of free text (after cards were masked): a word of letters, digits
/// and dashes that mixes letters with six or more digits (`NID-7731-2208-4419`, `S1234567D`),
/// and any digit run of `min_digits` or more digits that is not a US ZIP+4 code. Each keeps its
/// last 4 characters.
fn mask_tokens(text: &str, min_digits: usize) -> Cow<'_, str> {
    let mut spans: Vec<(usize, usize)> = labelled_ids(text);
    for (start, word) in words(text) {
        let digits = word.bytes().filter(u8::is_ascii_digit).count();
        let letters = word.bytes().filter(u8::is_ascii_alphabetic).count();
        if digits >= 6 && letters > 0 && !word.contains('*') && !is_timestamp(word) {
            spans.push((start, start + word.len()));
        }
    }
    for r in digit_runs(text) {
        let zip4 = r.digits.len() == 9 && text[r.start..r.end].len() == 10 && {
            let s = &text[r.start..r.end];
            s.as_bytes()[5] == b'-'
        };
        let covered = spans.iter().any(|(s, e)| *s <= r.start && r.end <= *e);
        if r.digits.len() >= min_digits && !zip4 && !covered && !is_masked_card(text, &r) {
            spans.push((r.start, r.end));
        }
    }
    replace_spans(text, spans, mask_identifier)
}

/// Words that announce an identity number in free text (compared in lower case).
const ID_LABELS: &[&str] = &[
    "id", "nid", "nric", "fin", "nino", "ssn", "sin", "tin", "cpf", "cnpj", "dni", "nie", "uen",
    "ein", "vat", "passport", "pan", "aadhaar", "pesel", "curp", "rfc",
];

/// Identity numbers written after a label (`NRIC S 8712345 D`, `NINO QQ 12 34 56 C`,
/// `NID 7731 2208 4419`, `CPF 123.456.789-09`): the words after the label, each holding a digit
/// or being one to three capital letters, with four or more digits in all.
fn labelled_ids(text: &str) -> Vec<(usize, usize)> {
    let words: Vec<(usize, &str)> = text
        .split_inclusive(|c: char| c.is_whitespace())
        .scan(0, |at, w| {
            let start = *at;
            *at += w.len();
            Some((start, w.trim_end()))
        })
        .filter(|(_, w)| !w.is_empty())
        .collect();
    let bare = |w: &str| w.trim_matches(|c: char| !c.is_alphanumeric()).to_string();
    let mut spans = Vec::new();
    for (i, (_, label)) in words.iter().enumerate() {
        if !ID_LABELS.contains(&bare(label).to_lowercase().as_str()) {
            continue;
        }
        let mut end = None;
        let mut digits = 0;
        for (start, w) in &words[i + 1..] {
            let core = w.trim_end_matches([',', ';', ')', ']', '.']);
            let short_caps =
                (1..=3).contains(&core.len()) && core.chars().all(|c| c.is_ascii_uppercase());
            let has_digit = core.chars().any(|c| c.is_ascii_digit());
            let number_like = core
                .chars()
                .all(|c| c.is_alphanumeric() || "-./#:".contains(c));
            if core.is_empty() || !number_like || !(has_digit || short_caps) {
                break;
            }
            digits += core.chars().filter(char::is_ascii_digit).count();
            end = Some((*start, start + core.len()));
            if core.len() < w.len() {
                break; // a comma or bracket ends the number
            }
        }
        if let (Some((_, e)), true) = (end, digits >= 4) {
            spans.push((words[i + 1].0, e));
        }
    }
    spans
}

/// True for a word that starts like an ISO 8601 timestamp (`2026-11-08T01`).
fn is_timestamp(word: &str) -> bool {
    let b = word.as_bytes();
    b.len() >= 11
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b'T' | b't')
}

/// True when the run is part of an already masked card (`492900******5674`).
fn is_masked_card(text: &str, run: &DigitRun) -> bool {
    let b = text.as_bytes();
    (run.end < b.len() && b[run.end] == b'*') || (run.start > 0 && b[run.start - 1] == b'*')
}

/// Words of `text`: maximal runs of ASCII letters, digits, `-`, `_` and `*`, with their offsets.
fn words(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let inside = c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*');
        match (inside, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push((s, &text[s..i]));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &text[s..]));
    }
    out
}

/// `text` with each byte span replaced by `masked` of its text; spans are taken in order and one
/// overlapping an earlier span is skipped. Without spans, `text` itself.
pub(super) fn replace_spans(
    text: &str,
    mut spans: Vec<(usize, usize)>,
    masked: impl Fn(&str) -> String,
) -> Cow<'_, str> {
    if spans.is_empty() {
        return Cow::Borrowed(text);
    }
    spans.sort();
    // Overlapping spans (an identifier word and the digit run that goes on past it) are masked
    // as their union, so no part of either is left out.
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (s, e) in spans {
        match merged.last_mut() {
            Some(last) if s < last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (s, e) in merged {
        out.push_str(&text[at..s]);
        out.push_str(&masked(&text[s..e]));
        at = e;
    }
    out.push_str(&text[at..]);
    Cow::Owned(out)
}

/// Characters that change how text is displayed without showing themselves: bidirectional
/// controls and zero-width characters (and the byte-order mark).
pub fn is_invisible_control(c: char) -> bool {
    matches!(c,
        '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}' | '\u{00AD}')
}

/// `text` with every invisible control written out as `[U+XXXX]`, so a document shows it.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_invisible_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .map(|c| {
                if is_invisible_control(c) {
                    format!("[U+{:04X}]", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_written_with_dots_underscores_or_other_digits_are_masked() {
        for (text, masked) in [
            ("card 4731.9167.5171.2394", "card 473191******2394"),
            ("4431_8158_4457_0889", "443181******0889"),
            ("\u{664}\u{669}\u{662}\u{669}\u{660}\u{660}\u{660}\u{660}\u{661}\u{662}\u{663}\u{664}\u{665}\u{666}\u{667}\u{664}", "492900******5674"),
            ("4929 0000-1234.5674", "492900******5674"),
        ] {
            assert_eq!(redact(text), masked, "{text}");
        }
        for kept in [
            "2500000000000000.0",
            "0.4929000012345674",
            "192.168.100.200",
            "4929000012345674.5",
        ] {
            assert_eq!(redact(kept), kept);
        }
    }

    #[test]
    fn a_card_number_in_a_file_name_is_masked_by_value() {
        let df = polars::prelude::df!(
            "source_file" => ["cip/cust-4929000012345674.csv", "cip/customers-2026-10.csv"]
        )
        .unwrap();
        let out = mask_frame(&df).unwrap();
        let names: Vec<Option<&str>> = out
            .column("source_file")
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(
            names,
            [
                Some("cip/cust-492900******5674.csv"),
                Some("cip/customers-2026-10.csv")
            ]
        );
    }

    #[test]
    fn json_is_masked_before_it_is_escaped() {
        let value = serde_json::json!({
            "4929\t0000\t1234\t5674": ["4929\t0000\t1234\t5674", 4929000012345674u64],
            "zone": "us-east-1a"
        });
        let text = masked_json(&value, false).unwrap();
        assert_eq!(
            text,
            r#"{"492900******5674":["492900******5674","492900******5674"],"zone":"us-east-1a"}"#
        );
    }

    #[test]
    fn an_identifier_alone_or_next_to_another_is_masked_in_free_text() {
        assert_eq!(
            mask_field("address", "987654321098765432"),
            "**************5432"
        );
        let both = mask_field("email", "NID-7731-2208-4419 987654321098765432");
        assert!(
            !both.contains("987654321") && !both.contains("7731"),
            "{both}"
        );
        assert!(both.ends_with("5432"), "{both}");
        // Numbers that are not identifiers stay.
        assert_eq!(mask_field("address", "12.5"), "12.5");
        assert_eq!(mask_field("address", "90210"), "90210");
    }

    #[test]
    fn cards_keep_first_six_and_last_four() {
        assert_eq!(mask_payment("4111111111111111"), "411111******1111");
        assert_eq!(mask_payment("3782-822463-10005"), "378282*****0005");
    }

    #[test]
    fn identifiers_keep_last_four_whatever_their_length() {
        assert_eq!(
            mask_payment("DE89370400440532013000"),
            "******************3000"
        );
        assert_eq!(mask_identifier("P-E12345678"), "*******5678");
        assert_eq!(mask_identifier("123"), "****");
        // An 18-digit national ID (it could pass as a card by length) shows 4 digits only.
        assert_eq!(
            mask_field("national_id", "110105199001011234"),
            "**************1234"
        );
        assert_eq!(
            field_kind("national_id_duplicated_0"),
            FieldKind::Identifier
        );
        assert_eq!(field_kind("Tax_ID"), FieldKind::Identifier);
        for name in [
            "NationalID",
            "nationalId",
            "national id",
            "national-id",
            "TaxId",
            "tax-id",
            "nid",
            "govt_id",
            "vat_id",
        ] {
            assert_eq!(field_kind(name), FieldKind::Identifier, "{name}");
        }
        assert_eq!(field_kind("CardNumber"), FieldKind::Payment);
        assert_eq!(field_kind("BillingAccountId"), FieldKind::Key);
        assert_eq!(field_kind("identity/LineItemId"), FieldKind::Key);
        assert_eq!(field_kind("x_AccountingCode"), FieldKind::FreeText);
    }

    #[test]
    fn card_runs_are_masked_anywhere_in_text() {
        assert_eq!(
            redact("Card 4929 0000 1234 5674, 1 Raffles Place"),
            "Card 492900******5674, 1 Raffles Place"
        );
        assert_eq!(
            redact("5454-5400-0011-1125@pay.example"),
            "545454******1125@pay.example"
        );
        assert_eq!(
            redact("Zephyr6011000099887766 Ltd"),
            "Zephyr601100******7766 Ltd"
        );
        assert_eq!(redact("amex 3714 496353 98431"), "amex 371449*****8431");
        assert_eq!(
            redact("CIPW-AITR-4000000000000002-2026-11-21"),
            "CIPW-AITR-400000******0002-2026-11-21"
        );
        for written in [
            "4929\u{00A0}0000\u{00A0}1234\u{00A0}5674",
            "4929\u{200B}0000\u{200B}1234\u{200B}5674",
            "4929\t0000\t1234\t5674",
            "4929  0000  1234  5674",
            "4929 \u{2013} 0000 \u{2013} 1234 \u{2013} 5674",
            "4929/0000/1234/5674",
            "4929\u{00AD}0000\u{00AD}1234\u{00AD}5674",
            "４９２９００００１２３４５６７４",
            "pg 4929000012345674 1",
        ] {
            let masked = redact(written);
            assert!(
                masked.contains("492900******5674"),
                "{written:?} -> {masked:?}"
            );
        }
        // Not Luhn-valid, too short, too long, or inside a hash: left alone.
        assert_eq!(redact("4929000012345675"), "4929000012345675");
        assert_eq!(redact("account 420000000002"), "account 420000000002");
        assert_eq!(redact("12345678901234567890123"), "12345678901234567890123");
        let hash = "ab4929000012345674cd0123456789abcdef";
        assert_eq!(redact(hash), hash);
        assert_eq!(
            redact("{\"ops\": 4929000012345674.0}"),
            "{\"ops\": 4929000012345674.0}"
        );
    }

    #[test]
    fn free_text_loses_identifier_tokens_but_keeps_addresses() {
        assert_eq!(
            mask_field(
                "payment_source",
                "amex 3714 496353 98431 / NID-7731-2208-4419"
            ),
            "amex 371449*****8431 / **************4419"
        );
        assert_eq!(
            mask_field("phone", "+65 NID-7731-2208-4419"),
            "+65 **************4419"
        );
        assert_eq!(mask_field("phone", "+1 703 555 0100"), "+1 703 555 0100");
        assert_eq!(
            mask_field("address", "100 Example Way, Arlington, VA 22201-1234"),
            "100 Example Way, Arlington, VA 22201-1234"
        );
        assert_eq!(mask_field("address", "SSN 123-45-6789"), "SSN *******6789");
        assert_eq!(mask_field("ip_address", "203.0.113.24"), "203.0.113.24");
        assert_eq!(
            mask_field("legal_name", "Zephyr (director NRIC S 8712345 D)"),
            "Zephyr (director NRIC *****345D)"
        );
        assert_eq!(
            mask_field("address", "1 Raffles Place, director NINO QQ 12 34 56 C"),
            "1 Raffles Place, director NINO *****456C"
        );
        assert_eq!(
            mask_field("phone", "+65 6555 0102 (NID 7731 2208 4419)"),
            "+65 6555 0102 (NID ********4419)"
        );
        assert_eq!(
            mask_field("payment_source", "DBS, director CPF 123.456.789-09"),
            "DBS, director CPF **********9-09"
        );
        assert_eq!(
            mask_field("address", "ID card issued in Singapore"),
            "ID card issued in Singapore"
        );
        assert_eq!(
            mask_field("accessed_at", "2026-11-08T01:12:00Z"),
            "2026-11-08T01:12:00Z"
        );
        assert_eq!(mask_field("account_id", "420000000002"), "420000000002");
        assert_eq!(mask_field("BilledCost", "1234567890.5"), "1234567890.5");
        assert_eq!(
            mask_field("legal_name", "Zephyr 6011000099887766 Pte Ltd"),
            "Zephyr 601100******7766 Pte Ltd"
        );
    }

    #[test]
    fn a_card_written_as_a_decimal_or_in_scientific_notation_is_masked() {
        for (value, masked) in [
            ("4929000012345674.0", "492900******5674"),
            ("4.929000012345674E15", "492900******5674"),
            ("+6011000099887766.00", "601100******7766"),
            ("5454540000111125.", "545454******1125"),
        ] {
            for column in ["telephone", "legal_name", "payment_source", "reseller_id"] {
                assert_eq!(mask_field(column, value), masked, "{column} {value}");
            }
        }
        assert_eq!(mask_field("address", "987654321098.5"), "********1098");
        assert_eq!(mask_field("BilledCost", "987654321098.5"), "987654321098.5");
        assert_eq!(
            mask_field("BilledCost", "4929000012345674.0"),
            "492900******5674"
        );
        assert_eq!(mask_field("telephone", "6512345678.0"), "6512345678.0");
        assert_eq!(mask_field("legal_name", "12.5"), "12.5");
        assert_eq!(mask_field("legal_name", "1e400"), "1e400");
    }

    #[test]
    fn invisible_controls_are_written_out() {
        assert_eq!(visible("ab\u{202E}cd\u{200B}"), "ab[U+202E]cd[U+200B]");
        assert_eq!(visible("plain"), "plain");
    }
}
