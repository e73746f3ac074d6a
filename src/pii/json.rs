//! JSON outputs masked before they are written: strings and keys by value, whole numbers that
//! are cards, so that no JSON escape (a tab written `\t`) can hide a card from the masker.

use super::cards::{is_card, mask_card};
use super::redact;
use std::borrow::Cow;

/// `value` as JSON text (pretty when `pretty`), every string and object key masked by value with
/// [`redact`] before it is escaped (masking the text afterwards would miss a card whose digits JSON
/// escapes apart: a tab between groups is written `\t`), and a whole number that is a card replaced
/// by its mask as a string; other numbers stay numbers.
///
/// Errors: serde's, when `value` does not serialise.
pub fn masked_json<T: serde::Serialize + ?Sized>(
    value: &T,
    pretty: bool,
) -> serde_json::Result<String> {
    let mut v = serde_json::to_value(value)?;
    redact_json(&mut v);
    if pretty {
        serde_json::to_string_pretty(&v)
    } else {
        serde_json::to_string(&v)
    }
}

/// Masks every string and object key of a JSON value with [`redact`], and every whole number that
/// is a card, in place.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(masked) = redact(s) {
                *s = masked;
            }
        }
        serde_json::Value::Number(n) => {
            // A whole number that is a card (`--set training_ops=<card>`) becomes its mask, as text.
            let whole = n.as_u64().map(|v| v.to_string()).or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 1e19)
                    .map(|f| format!("{}", f.abs() as u64))
            });
            if let Some(digits) = whole.filter(|d| is_card(d)) {
                *value = serde_json::Value::String(mask_card(&digits));
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(map) => {
            *map = std::mem::take(map)
                .into_iter()
                .map(|(k, mut v)| {
                    redact_json(&mut v);
                    (redact(&k).into_owned(), v)
                })
                .collect();
        }
        _ => {}
    }
}

/// Calls `f` on every string (not keys) of a JSON value.
pub fn strings_mut(value: &mut serde_json::Value, f: &mut dyn FnMut(&mut String)) {
    match value {
        serde_json::Value::String(s) => f(s),
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| strings_mut(v, f)),
        serde_json::Value::Object(map) => map.values_mut().for_each(|v| strings_mut(v, f)),
        _ => {}
    }
}
