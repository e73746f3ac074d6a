//! The Tera filters every document template may use, registered in one place: operation counts,
//! rates, hours, bandwidth, percentages, fixed decimals, dates and masking. Templates receive numbers raw and format them
//! here, so the JSON documents keep full precision and the prose reads the same everywhere.

use tera::{Kwargs, State, Tera};

/// `3.8e25` style: three significant digits in scientific notation.
pub fn sci(x: f64) -> String {
    if x == 0.0 {
        return "0".into();
    }
    let s = format!("{x:.2e}");
    // 1.40e24 -> 1.4e24 ; 2.00e18 -> 2e18
    let (mantissa, exponent) = s.split_once('e').unwrap_or((&s, "0"));
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    format!("{mantissa}e{exponent}")
}

/// A whole number with thousands separators; fractions to at most two places.
/// The HTML with every date (`2026-12-06`), code (`OPS_OVER_THRESHOLD`), report reference
/// (`CIPW-AITR-…`) and long id in its text wrapped in `<span class="nobr">`, so that no printed
/// line breaks inside one at a hyphen or underscore. Only text between tags is touched: tags,
/// attributes and the `<style>` and `<script>` elements (a running head is a CSS string) are left
/// as they are.
pub fn unbreakable(html: &str) -> String {
    static WORD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"\b(?:\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}Z)?|[A-Z][A-Z0-9]*(?:[_-][A-Z0-9]+)+|[0-9A-Za-z]+(?:[-_][0-9A-Za-z]+){2,})\b",
        )
        .expect("a valid pattern")
    });
    let mut out = String::with_capacity(html.len() + html.len() / 8);
    let mut rest = html;
    let mut raw_until: Option<&str> = None;
    while let Some(lt) = rest.find('<') {
        let (text, tail) = rest.split_at(lt);
        match raw_until {
            Some(_) => out.push_str(text),
            None => out.push_str(&WORD.replace_all(text, r#"<span class="nobr">$0</span>"#)),
        }
        let gt = tail.find('>').map_or(tail.len(), |i| i + 1);
        let tag = &tail[..gt];
        let lower = tag.to_ascii_lowercase();
        if let Some(end) = raw_until {
            if lower.starts_with(end) {
                raw_until = None;
            }
        } else if lower.starts_with("<style") {
            raw_until = Some("</style");
        } else if lower.starts_with("<script") {
            raw_until = Some("</script");
        } else if lower.starts_with("<title") {
            raw_until = Some("</title");
        }
        out.push_str(tag);
        rest = &tail[gt..];
    }
    out.push_str(rest);
    out
}

/// A share (a fraction, 0.4198) as a percentage to two significant figures ("42%", "3.5%",
/// "0.12%"); 10% and above as whole percents ("100%"), so no figure claims more precision than an
/// estimate has.
pub fn percent(x: f64) -> String {
    let v = x * 100.0;
    if v == 0.0 || !v.is_finite() {
        return format!("{}%", grouped(v));
    }
    let decimals = (1 - v.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.decimals$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        grouped(v.round())
    };
    format!("{text}%")
}

pub fn grouped(x: f64) -> String {
    let negative = x < 0.0;
    let rounded = (x.abs() * 100.0).round() / 100.0;
    let whole = rounded.trunc() as u128;
    let frac = ((rounded - rounded.trunc()) * 100.0).round() as u32;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if frac > 0 {
        out.push_str(format!(".{frac:02}").trim_end_matches('0'));
    }
    if negative {
        out.insert(0, '-');
    }
    out
}

/// `2026-12-06` or `2026-12-06T00:00:00Z` as `Sunday 6 December 2026`; anything else unchanged.
pub fn long_date(s: &str) -> String {
    let day = s
        .get(..10)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok());
    day.map(|d| d.format("%A %-d %B %Y").to_string())
        .unwrap_or_else(|| s.to_string())
}

/// Text as the body of a double-quoted CSS string (the print CSS's running header): `\\`, `"`
/// and line breaks escaped, and `<`, `>` and `&` written as CSS escapes so a value cannot close the
/// `<style>` element. Meant for a `{% filter css_string %}` section, whose body the HTML
/// templates have already escaped: the entities the escaping writes (`&amp;`, `&lt;`, `&gt;`,
/// `&quot;`) are read back first. The result is marked safe.
pub fn css_string(s: &str) -> String {
    let s = s
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' | '\r' => out.push_str("\\A "),
            '<' => out.push_str("\\3C "),
            '>' => out.push_str("\\3E "),
            '&' => out.push_str("\\26 "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

pub fn register(tera: &mut Tera) {
    tera.register_filter("css_string", |x: &str, _: Kwargs, _: &State| {
        tera::Value::safe_string(&css_string(x))
    });
    tera.register_filter("long_date", |x: &str, _: Kwargs, _: &State| long_date(x));
    tera.register_filter("ops", |x: f64, _: Kwargs, _: &State| {
        format!("{} operations", sci(x))
    });
    tera.register_filter("ops_rate", |x: f64, _: Kwargs, _: &State| {
        format!("{} op/s", sci(x))
    });
    tera.register_filter("sci", |x: f64, _: Kwargs, _: &State| sci(x));
    tera.register_filter(
        "fixed",
        |x: f64, kwargs: Kwargs, _: &State| -> tera::TeraResult<String> {
            let digits = kwargs.get::<i64>("digits")?.unwrap_or(0).clamp(0, 12) as usize;
            Ok(format!("{x:.digits$}"))
        },
    );
    tera.register_filter("num", |x: f64, _: Kwargs, _: &State| grouped(x));
    tera.register_filter("hours", |x: f64, _: Kwargs, _: &State| {
        format!("{} h", grouped(x))
    });
    tera.register_filter("gbps", |x: f64, _: Kwargs, _: &State| {
        format!("{} Gbit/s", grouped(x))
    });
    tera.register_filter("pct", |x: f64, _: Kwargs, _: &State| percent(x));
    tera.register_filter("mask", |x: &str, _: Kwargs, _: &State| {
        crate::pii::mask_payment(x)
    });
    tera.register_filter("or_missing", |x: tera::Value, _: Kwargs, _: &State| {
        if x.is_none() || x.is_undefined() || x.as_str().is_some_and(str::is_empty) {
            tera::Value::from("NOT ON FILE")
        } else {
            x
        }
    });
}

#[cfg(test)]
mod tests {

    #[test]
    fn dates_codes_and_ids_do_not_break_and_markup_is_untouched() {
        let html = "<style>p::after { content: \"2026-12-06\"; }</style>\
                    <p title=\"2026-12-06\">Due 2026-12-06, OPS_OVER_THRESHOLD, ref CIPW-AITR-42-2026-11-26, x-y</p>";
        assert_eq!(
            unbreakable(html),
            "<style>p::after { content: \"2026-12-06\"; }</style>\
             <p title=\"2026-12-06\">Due <span class=\"nobr\">2026-12-06</span>, \
             <span class=\"nobr\">OPS_OVER_THRESHOLD</span>, ref \
             <span class=\"nobr\">CIPW-AITR-42-2026-11-26</span>, x-y</p>"
        );
    }

    #[test]
    fn shares_print_to_two_significant_figures() {
        assert_eq!(percent(0.4198), "42%");
        assert_eq!(percent(0.35), "35%");
        assert_eq!(percent(1.0), "100%");
        assert_eq!(percent(0.035), "3.5%");
        assert_eq!(percent(0.0012345), "0.12%");
        assert_eq!(percent(0.05), "5%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(12.5), "1,250%");
    }
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(sci(1.39668151081e24), "1.4e24");
        assert_eq!(sci(2.026496e18), "2.03e18");
        assert_eq!(sci(1e26), "1e26");
        assert_eq!(grouped(933888.0), "933,888");
        assert_eq!(grouped(877.11), "877.11");
        assert_eq!(grouped(3200.0), "3,200");
        assert_eq!(grouped(-40.5), "-40.5");
        assert_eq!(long_date("2026-12-06"), "Sunday 6 December 2026");
        assert_eq!(long_date("2026-11-08T00:00:00Z"), "Sunday 8 November 2026");
        assert_eq!(long_date("ongoing"), "ongoing");
        assert_eq!(
            css_string("a\"b</style>\\ &amp;lt;"),
            "a\\\"b\\3C /style\\3E \\\\ \\26 lt;"
        );
    }
}
