//! Small inline SVG bar charts for the HTML documents: no scripts, no network, every label escaped.
//! A chart is a list of labelled values, optionally on a log scale with a reference line (the
//! threshold).

use tera::escape_html;

pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// Horizontal bars. With `log`, values are drawn on a log10 axis from `floor` up; `line` draws a
/// labelled vertical reference line (e.g. the threshold).
pub fn bars(
    title: &str,
    bars: &[Bar],
    log: bool,
    line: Option<(f64, &str)>,
    unit: &dyn Fn(f64) -> String,
) -> String {
    let (width, label_w, row_h, top) = (720.0, 220.0, 26.0, 34.0);
    let plot_w = width - label_w - 120.0;
    let height = top + row_h * bars.len().max(1) as f64 + 30.0;
    let max = bars
        .iter()
        .map(|b| b.value)
        .chain(line.map(|l| l.0))
        .fold(0.0f64, f64::max);
    let positives = bars
        .iter()
        .map(|b| b.value)
        .chain(line.map(|l| l.0))
        .filter(|v| *v > 0.0);
    let floor = positives
        .fold(f64::INFINITY, f64::min)
        .max(1.0)
        .log10()
        .floor()
        - 1.0;
    let scale = |v: f64| -> f64 {
        if max <= 0.0 {
            return 0.0;
        }
        if log {
            let top_exp = max.log10().ceil();
            if v <= 0.0 {
                0.0
            } else {
                ((v.log10() - floor) / (top_exp - floor)).clamp(0.0, 1.0) * plot_w
            }
        } else {
            v / max * plot_w
        }
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{t}\">\
         <text x=\"0\" y=\"18\" class=\"chart-title\">{t}{scale_note}</text>",
        t = escape(title),
        scale_note = if log { " (log scale)" } else { "" }
    );
    for (i, b) in bars.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let w = scale(b.value);
        svg.push_str(&format!(
            "<text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" class=\"chart-label\">{label}</text>\
             <rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{h}\" class=\"chart-bar\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\" class=\"chart-value\">{value}</text>",
            lx = label_w - 8.0,
            ty = y + row_h * 0.62,
            label = escape(&b.label),
            h = row_h * 0.7,
            vx = label_w + w + 6.0,
            value = escape(&unit(b.value)),
        ));
    }
    if let Some((v, name)) = line {
        let x = label_w + scale(v);
        svg.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"{top0}\" x2=\"{x:.1}\" y2=\"{y2}\" class=\"chart-line\"/>\
             <text x=\"{x:.1}\" y=\"{ly}\" text-anchor=\"middle\" class=\"chart-line-label\">{n}</text>",
            top0 = top - 6.0,
            y2 = height - 22.0,
            ly = height - 8.0,
            n = escape(&format!("{name}: {}", unit(v))),
        ));
    }
    svg.push_str("</svg>");
    svg
}

fn escape(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    escape_html(s, &mut out).expect("writing to memory");
    String::from_utf8(out).expect("escaped UTF-8 stays UTF-8")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped() {
        let svg = bars(
            "t",
            &[Bar {
                label: "<script>x</script>".into(),
                value: 3.0,
            }],
            false,
            None,
            &|v| v.to_string(),
        );
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
    }
}
