//! Small inline SVG bar charts for the HTML documents: no scripts, no network, every label escaped.
//! A chart is a list of labelled values, optionally on a log scale with a reference line (the
//! threshold).

use tera::escape_html;

pub struct Bar {
    pub label: String,
    pub value: f64,
}

/// A chart is drawn only from this many bars ...
pub const MIN_BARS: usize = 3;
/// ... and when the largest bar reaches this value: bars of 1 and 2 say nothing a table does not.
pub const MIN_PEAK: f64 = 3.0;

/// Whether a chart of these bars adds anything to the table beside it.
pub fn worth_drawing(bars: &[Bar]) -> bool {
    bars.len() >= MIN_BARS && bars.iter().any(|b| b.value >= MIN_PEAK)
}

/// The value axis of a chart: the scale and its tick values.
struct Axis {
    log: bool,
    /// Linear: the largest tick. Log: the lowest and highest powers of ten.
    low: f64,
    high: f64,
}

impl Axis {
    fn new(values: &[f64], log: bool) -> Axis {
        let max = values.iter().copied().fold(0.0f64, f64::max);
        if log {
            let min = values
                .iter()
                .copied()
                .filter(|v| *v > 0.0)
                .fold(f64::INFINITY, f64::min)
                .max(1.0);
            let low = min.log10().floor() - 1.0;
            let high = max.max(1.0).log10().ceil().max(low + 1.0);
            return Axis { log, low, high };
        }
        let step = nice_step(max);
        Axis {
            log,
            low: 0.0,
            high: (max / step).ceil().max(1.0) * step,
        }
    }

    /// Where `v` falls, from 0 (the axis start) to 1.
    fn fraction(&self, v: f64) -> f64 {
        let f = if self.log {
            if v <= 0.0 {
                0.0
            } else {
                (v.log10() - self.low) / (self.high - self.low)
            }
        } else {
            v / self.high
        };
        f.clamp(0.0, 1.0)
    }

    fn ticks(&self) -> Vec<f64> {
        if self.log {
            let every = ((self.high - self.low) / 6.0).ceil().max(1.0);
            let mut e = self.low;
            let mut out = Vec::new();
            while e <= self.high {
                // Parsed from its decimal form: exact where powf is not (1e24).
                out.push(format!("1e{e}").parse().unwrap_or(f64::NAN));
                e += every;
            }
            return out;
        }
        let step = nice_step(self.high);
        (0..)
            .map(|i| i as f64 * step)
            .take_while(|t| *t <= self.high + step * 1e-9)
            .collect()
    }
}

/// A tick step of 1, 2 or 5 times a power of ten giving at most five steps up to `max`.
fn nice_step(max: f64) -> f64 {
    if max <= 0.0 {
        return 1.0;
    }
    let raw = max / 5.0;
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * power)
        .max(if max >= 1.0 { 1.0 } else { 0.0 })
}

/// Horizontal bars with a value axis (ticks, tick labels and `axis` as its label). With `log`,
/// values are drawn on a log10 axis; `line` draws a labelled vertical reference line (e.g. the
/// threshold).
pub fn bars(
    title: &str,
    bars: &[Bar],
    log: bool,
    line: Option<(f64, &str)>,
    axis: &str,
    unit: &dyn Fn(f64) -> String,
) -> String {
    let (width, label_w, row_h, top) = (720.0, 220.0, 26.0, 46.0);
    let plot_w = width - label_w - 120.0;
    let rows = row_h * bars.len().max(1) as f64;
    let height = top + rows + 46.0;
    let values: Vec<f64> = bars
        .iter()
        .map(|b| b.value)
        .chain(line.map(|l| l.0))
        .collect();
    let scale = Axis::new(&values, log);
    let x_of = |v: f64| label_w + scale.fraction(v) * plot_w;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{t}\">\
         <text x=\"0\" y=\"18\" class=\"chart-title\">{t}{scale_note}</text>",
        t = escape(title),
        scale_note = if log { " (log scale)" } else { "" }
    );
    for (i, b) in bars.iter().enumerate() {
        let y = top + i as f64 * row_h;
        let w = x_of(b.value) - label_w;
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
    let y_axis = top + rows + 2.0;
    svg.push_str(&format!(
        "<line x1=\"{label_w}\" y1=\"{y_axis}\" x2=\"{x2}\" y2=\"{y_axis}\" class=\"chart-axis\"/>",
        x2 = label_w + plot_w,
    ));
    for t in scale.ticks() {
        let x = x_of(t);
        svg.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"{y_axis}\" x2=\"{x:.1}\" y2=\"{y2}\" class=\"chart-axis\"/>\
             <text x=\"{x:.1}\" y=\"{ty}\" text-anchor=\"middle\" class=\"chart-tick\">{v}</text>",
            y2 = y_axis + 5.0,
            ty = y_axis + 18.0,
            v = escape(&unit(t)),
        ));
    }
    svg.push_str(&format!(
        "<text x=\"{x:.1}\" y=\"{y}\" text-anchor=\"middle\" class=\"chart-axis-label\">{a}</text>",
        x = label_w + plot_w / 2.0,
        y = y_axis + 36.0,
        a = escape(axis),
    ));
    if let Some((v, name)) = line {
        let x = x_of(v);
        svg.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"{top0}\" x2=\"{x:.1}\" y2=\"{y_axis}\" class=\"chart-line\"/>\
             <text x=\"{x:.1}\" y=\"{ly}\" text-anchor=\"middle\" class=\"chart-line-label\">{n}</text>",
            top0 = top - 6.0,
            ly = top - 10.0,
            n = escape(&format!("{name}: {}", unit(v))),
        ));
    }
    svg.push_str("</svg>");
    svg
}

/// Line series over labelled points (dates), on a linear value axis from 0 with `axis` as its
/// label: one polyline and one legend entry per series, dashed for every second series. Labels
/// of the first and last point are written under the axis.
pub fn lines(title: &str, labels: &[String], series: &[(&str, Vec<f64>)], axis: &str) -> String {
    let (width, left, top, plot_h) = (720.0, 60.0, 46.0, 220.0);
    let plot_w = width - left - 20.0;
    let legend_top = top + plot_h + 40.0;
    let height = legend_top + 20.0 * series.len() as f64 + 10.0;
    let values: Vec<f64> = series.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    let scale = Axis::new(&values, false);
    let points = labels.len().max(2) - 1;
    let x_of = |i: usize| left + plot_w * i as f64 / points as f64;
    let y_of = |v: f64| top + plot_h * (1.0 - scale.fraction(v));
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{t}\">\
         <text x=\"0\" y=\"18\" class=\"chart-title\">{t}</text>",
        t = escape(title)
    );
    for tick in scale.ticks() {
        let y = y_of(tick);
        svg.push_str(&format!(
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{x2}\" y2=\"{y:.1}\" stroke=\"#ddd\"/>\
             <text x=\"{tx}\" y=\"{ty:.1}\" text-anchor=\"end\" font-size=\"11\">{tick}</text>",
            x2 = left + plot_w,
            tx = left - 6.0,
            ty = y + 4.0
        ));
    }
    svg.push_str(&format!(
        "<text x=\"0\" y=\"{y:.1}\" font-size=\"11\">{a}</text>",
        y = top - 8.0,
        a = escape(axis)
    ));
    if let (Some(first), Some(last)) = (labels.first(), labels.last()) {
        let y = top + plot_h + 18.0;
        svg.push_str(&format!(
            "<text x=\"{left}\" y=\"{y}\" font-size=\"11\">{f}</text>\
             <text x=\"{x}\" y=\"{y}\" text-anchor=\"end\" font-size=\"11\">{l}</text>",
            x = left + plot_w,
            f = escape(first),
            l = escape(last)
        ));
    }
    for (n, (name, values)) in series.iter().enumerate() {
        let dash = if n % 2 == 1 {
            " stroke-dasharray=\"6 4\""
        } else {
            ""
        };
        let colour = ["#1f4e79", "#1f4e79", "#b8860b", "#b8860b"][n % 4];
        let path: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v)))
            .collect();
        let y = legend_top + 20.0 * n as f64;
        svg.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"{dash} points=\"{p}\"/>\
             <line x1=\"{left}\" y1=\"{y}\" x2=\"{lx}\" y2=\"{y}\" stroke=\"{colour}\" stroke-width=\"2\"{dash}/>\
             <text x=\"{tx}\" y=\"{ty}\" font-size=\"12\">{name}</text>",
            p = path.join(" "),
            lx = left + 30.0,
            tx = left + 38.0,
            ty = y + 4.0,
            name = escape(name)
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
            "count",
            &|v| v.to_string(),
        );
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
    }

    #[test]
    fn axes_have_ticks_and_a_label() {
        let bars_of = |values: &[f64]| -> Vec<Bar> {
            values
                .iter()
                .map(|v| Bar {
                    label: format!("b{v}"),
                    value: *v,
                })
                .collect()
        };
        let svg = bars(
            "t",
            &bars_of(&[3.0, 7.0, 12.0]),
            false,
            None,
            "accounts",
            &|v| format!("{v:.0}"),
        );
        for tick in [">0<", ">5<", ">10<", ">15<"] {
            assert!(svg.contains(tick), "tick {tick}: {svg}");
        }
        assert!(svg.contains("chart-axis-label\">accounts<"));
        assert!(!worth_drawing(&bars_of(&[1.0, 2.0])), "bars of 1 and 2");
        assert!(!worth_drawing(&bars_of(&[1.0, 2.0, 1.0])));
        assert!(worth_drawing(&bars_of(&[1.0, 2.0, 4.0])));
        let log = bars(
            "t",
            &bars_of(&[1e22, 3e24]),
            true,
            Some((1e24, "threshold")),
            "operations",
            &|v| format!("{v:e}"),
        );
        assert!(log.contains(">1e24<") && log.contains(">1e21<"), "{log}");
    }
}
