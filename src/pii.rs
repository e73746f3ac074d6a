//! Masking of payment and identity numbers. Card numbers (13-19 digits, spaces and dashes allowed)
//! keep at most their first 6 and last 4 digits; any other identifier (bank account, IBAN,
//! national ID) keeps its last 4 characters only. Used wherever such a value leaves cipwatch in a
//! human-readable output; logs never receive them at all.

/// Columns of the CIP registry whose values are masked in every output.
pub const SENSITIVE_COLUMNS: &[&str] = &["payment_identifier", "national_id"];

/// Masks one identifier.
pub fn mask(value: &str) -> String {
    let digits: String = value.chars().filter(|c| c.is_ascii_digit()).collect();
    let only_card_chars = value
        .chars()
        .all(|c| c.is_ascii_digit() || c == ' ' || c == '-');
    if only_card_chars && (13..=19).contains(&digits.len()) {
        let n = digits.len();
        return format!("{}{}{}", &digits[..6], "*".repeat(n - 10), &digits[n - 4..]);
    }
    let chars: Vec<char> = value.chars().filter(|c| !c.is_whitespace()).collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len().max(4));
    }
    let keep: String = chars[chars.len() - 4..].iter().collect();
    format!("{}{}", "*".repeat(chars.len() - 4), keep)
}

#[cfg(test)]
mod tests {
    use super::mask;

    #[test]
    fn cards_keep_first_six_and_last_four() {
        assert_eq!(mask("4111111111111111"), "411111******1111");
        assert_eq!(mask("3782-822463-10005"), "378282*****0005");
    }

    #[test]
    fn other_identifiers_keep_last_four_only() {
        assert_eq!(mask("DE89370400440532013000"), "******************3000");
        assert_eq!(mask("P-E12345678"), "*******5678");
        assert_eq!(mask("123"), "****");
    }
}
