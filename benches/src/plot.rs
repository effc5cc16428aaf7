//! A minimal SVG line chart, so reports carry a picture without a plotting dependency.

/// One series of (x, y) points.
#[derive(Clone, Debug)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

fn nice_max(v: f64) -> f64 {
    if v <= 0.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 5.0, 10.0] {
        if v <= m * mag {
            return m * mag;
        }
    }
    10.0 * mag
}

/// Renders series against a log2 x axis (batch capacities) and a linear y axis.
pub fn line_chart_log2x(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    line_chart(title, x_label, y_label, series, true)
}

/// Renders series against linear axes (e.g. time on x).
pub fn line_chart_linear(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    line_chart(title, x_label, y_label, series, false)
}

fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series], log2_x: bool) -> String {
    const W: f64 = 640.0;
    const H: f64 = 400.0;
    const L: f64 = 70.0;
    const R: f64 = 20.0;
    const T: f64 = 40.0;
    const B: f64 = 60.0;
    const COLORS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    let tx = |x: f64| if log2_x { x.max(1.0).log2() } else { x };
    let xs: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| tx(p.0))).collect();
    let (x0, x1) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
    let (x0, x1) = if xs.is_empty() || x0 == x1 { (x0.min(0.0), x0.max(0.0) + 1.0) } else { (x0, x1) };
    let ymax = nice_max(series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).fold(0.0, f64::max));
    let px = |x: f64| L + (tx(x) - x0) / (x1 - x0) * (W - L - R);
    let py = |y: f64| H - B - y / ymax * (H - T - B);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{title}</text>\n",
        W / 2.0
    );
    s.push_str(&format!("<line x1=\"{L}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n", H - B, W - R, H - B));
    s.push_str(&format!("<line x1=\"{L}\" y1=\"{T}\" x2=\"{L}\" y2=\"{}\" stroke=\"black\"/>\n", H - B));
    for i in 0..=4 {
        let y = ymax * i as f64 / 4.0;
        s.push_str(&format!(
            "<line x1=\"{L}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#ddd\"/><text x=\"{2}\" y=\"{3}\" text-anchor=\"end\">{4}</text>\n",
            py(y),
            W - R,
            L - 6.0,
            py(y) + 4.0,
            trim(y)
        ));
    }
    let mut ticks: Vec<f64> = if log2_x {
        series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).collect()
    } else {
        (0..=5).map(|i| x0 + (x1 - x0) * i as f64 / 5.0).map(|x| (x * 10.0).round() / 10.0).collect()
    };
    ticks.sort_by(f64::total_cmp);
    ticks.dedup();
    for x in ticks {
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            px(x),
            H - B + 18.0,
            trim(x)
        ));
    }
    s.push_str(&format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{x_label}</text>\n",
        (L + W - R) / 2.0,
        H - 18.0
    ));
    s.push_str(&format!(
        "<text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{y_label}</text>\n",
        (T + H - B) / 2.0
    ));
    for (i, ser) in series.iter().enumerate() {
        let c = COLORS[i % COLORS.len()];
        let pts: Vec<String> = ser.points.iter().map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y))).collect();
        s.push_str(&format!(
            "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\n",
            pts.join(" ")
        ));
        for &(x, y) in &ser.points {
            s.push_str(&format!("<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{c}\"/>\n", px(x), py(y)));
        }
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"3\" fill=\"{c}\"/><text x=\"{}\" y=\"{}\">{}</text>\n",
            L + 10.0,
            T + 8.0 + 16.0 * i as f64,
            L + 28.0,
            T + 12.0 + 16.0 * i as f64,
            ser.label
        ));
    }
    s.push_str("</svg>\n");
    s
}

/// Horizontal bars (label, value) on a linear axis, with an optional vertical limit line (label, value).
pub fn bar_chart(title: &str, unit: &str, bars: &[(String, f64)], limit: Option<(&str, f64)>) -> String {
    let esc = |t: &str| t.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let (left, right, top, row) = (300.0, 40.0, 40.0, 26.0);
    let w = 820.0;
    let h = top + row * bars.len() as f64 + 50.0;
    let max = bars.iter().map(|b| b.1).chain(limit.map(|l| l.1)).fold(0.0f64, f64::max);
    let max = nice_max(max);
    let x = |v: f64| left + (w - left - right) * v / max;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">{}</text>\n",
        w / 2.0,
        esc(title)
    );
    for (i, (label, v)) in bars.iter().enumerate() {
        let y = top + row * i as f64;
        s.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>\n<rect x=\"{left}\" y=\"{}\" width=\"{:.1}\" height=\"{}\" fill=\"#4878d0\"/>\n<text x=\"{:.1}\" y=\"{}\">{}</text>\n",
            left - 6.0,
            y + row * 0.65,
            esc(label),
            y + 3.0,
            (x(*v) - left).max(0.5),
            row - 6.0,
            x(*v) + 4.0,
            y + row * 0.65,
            trim(*v)
        ));
    }
    let axis_y = top + row * bars.len() as f64 + 4.0;
    s.push_str(&format!(
        "<line x1=\"{left}\" y1=\"{axis_y}\" x2=\"{}\" y2=\"{axis_y}\" stroke=\"black\"/>\n<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{} {}</text>\n",
        w - right,
        w - right,
        axis_y + 18.0,
        trim(max),
        esc(unit)
    ));
    if let Some((label, v)) = limit {
        s.push_str(&format!(
            "<line x1=\"{0:.1}\" y1=\"{top}\" x2=\"{0:.1}\" y2=\"{axis_y}\" stroke=\"#c00\" stroke-dasharray=\"4 3\"/>\n<text x=\"{0:.1}\" y=\"{1}\" fill=\"#c00\" text-anchor=\"middle\">{2}</text>\n",
            x(v),
            top - 4.0,
            esc(label)
        ));
    }
    s.push_str("</svg>\n");
    s
}

fn trim(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_contains_every_point_and_label() {
        let s = line_chart_log2x(
            "t",
            "capacity",
            "seconds",
            &[Series { label: "prove".into(), points: vec![(1.0, 2.0), (4.0, 7.5), (16.0, 30.0)] }],
        );
        assert!(s.starts_with("<svg"));
        assert_eq!(s.matches("<circle").count(), 3);
        assert!(s.contains(">prove<"));
        assert!(s.contains(">16<"));
    }

    #[test]
    fn bar_chart_has_every_bar_and_the_limit() {
        let s = bar_chart("gas", "gas", &[("a".into(), 10.0), ("b<c".into(), 30.0)], Some(("cap", 40.0)));
        assert_eq!(s.matches("<rect").count(), 3); // background + 2 bars
        assert!(s.contains(">b&lt;c<"));
        assert!(s.contains(">cap<"));
    }
}
