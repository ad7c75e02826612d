//! Figures for the pages, drawn with plotters into SVG strings.
//!
//! `lines`: one or more series of (x, mean, CI half-width) drawn as a line
//! with error bars; `boundary`: a 2-D decision surface as coloured cells with
//! the training points on top.

use plotters::prelude::*;

/// A series of points `(x, mean, ci)`.
pub struct Series {
    /// Legend label.
    pub name: String,
    /// Points.
    pub points: Vec<(f64, f64, f64)>,
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// Axis options.
pub struct Axes<'a> {
    /// Title.
    pub title: &'a str,
    /// X label.
    pub x: &'a str,
    /// Y label.
    pub y: &'a str,
    /// Log-scale x.
    pub log_x: bool,
    /// Log-scale y.
    pub log_y: bool,
}

fn range(vals: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    if log {
        return (lo / 1.2, hi * 1.2);
    }
    let pad = ((hi - lo) * 0.08).max(1e-9);
    (lo - pad, hi + pad)
}

/// A compact tick label: integers without decimals, others with up to 3 significant digits.
fn num(v: f64) -> String {
    if v == v.round() && v.abs() < 1e7 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{v:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    }
}

/// Line chart with error bars.
pub fn lines(ax: &Axes, series: &[Series]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (560, 340)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let (x0, x1) = range(
            series.iter().flat_map(|s| s.points.iter().map(|p| p.0)),
            ax.log_x,
        );
        let (y0, y1) = range(
            series
                .iter()
                .flat_map(|s| s.points.iter().flat_map(|p| [p.1 - p.2, p.1 + p.2])),
            ax.log_y,
        );
        let mut b = ChartBuilder::on(&root);
        b.caption(ax.title, ("sans-serif", 16))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(56);
        macro_rules! draw {
            ($chart:expr) => {{
                let mut c = $chart;
                let _ = c
                    .configure_mesh()
                    .x_desc(ax.x)
                    .y_desc(ax.y)
                    .x_labels(7)
                    .y_labels(7)
                    .x_label_formatter(&|v: &f64| num(*v))
                    .y_label_formatter(&|v: &f64| num(*v))
                    .light_line_style(RGBColor(235, 235, 235))
                    .draw();
                for (i, s) in series.iter().enumerate() {
                    let col = COLORS[i % COLORS.len()];
                    let pts: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0, p.1)).collect();
                    if let Ok(a) = c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)))
                    {
                        a.label(s.name.clone()).legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 16, y)], col.stroke_width(2))
                        });
                    }
                    let _ = c.draw_series(pts.iter().map(|&p| Circle::new(p, 3, col.filled())));
                    let _ = c.draw_series(s.points.iter().filter(|p| p.2 > 0.0).map(|p| {
                        PathElement::new(
                            vec![(p.0, p.1 - p.2), (p.0, p.1 + p.2)],
                            col.stroke_width(1),
                        )
                    }));
                }
                if series.len() > 1 {
                    let _ = c
                        .configure_series_labels()
                        .background_style(WHITE.mix(0.85))
                        .border_style(BLACK.mix(0.3))
                        .position(SeriesLabelPosition::UpperRight)
                        .draw();
                }
            }};
        }
        match (ax.log_x, ax.log_y) {
            (false, false) => {
                if let Ok(c) = b.build_cartesian_2d(x0..x1, y0..y1) {
                    draw!(c)
                }
            }
            (true, false) => {
                if let Ok(c) = b.build_cartesian_2d((x0..x1).log_scale(), y0..y1) {
                    draw!(c)
                }
            }
            (false, true) => {
                if let Ok(c) = b.build_cartesian_2d(x0..x1, (y0..y1).log_scale()) {
                    draw!(c)
                }
            }
            (true, true) => {
                if let Ok(c) = b.build_cartesian_2d((x0..x1).log_scale(), (y0..y1).log_scale()) {
                    draw!(c)
                }
            }
        }
        let _ = root.present();
    }
    svg
}

/// A decision surface: `cells` is a `g × g` grid of P(class 1) over
/// `[lo, hi]²`; `points` are (x, y, class). The surface is one embedded PNG
/// (g × g pixels, scaled up without smoothing) rather than g² SVG
/// rectangles, which kept the report at megabytes.
pub fn boundary(
    title: &str,
    lo: f64,
    hi: f64,
    cells: &[f64],
    g: usize,
    points: &[(f64, f64, u32)],
) -> String {
    let mut svg = String::new();
    let mut area = None;
    {
        let root = SVGBackend::with_string(&mut svg, (300, 320)).into_drawing_area();
        let _ = root.fill(&WHITE);
        if let Ok(mut c) = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 14))
            .margin(8)
            .x_label_area_size(20)
            .y_label_area_size(28)
            .build_cartesian_2d(lo..hi, lo..hi)
        {
            let _ = c.configure_mesh().disable_mesh().draw();
            area = Some(c.plotting_area().get_pixel_range());
            let _ = c.draw_series(points.iter().map(|&(x, y, l)| {
                Circle::new(
                    (x, y),
                    2,
                    if l == 1 {
                        RGBColor(31, 80, 180).filled()
                    } else {
                        RGBColor(200, 40, 40).filled()
                    },
                )
            }));
        }
        let _ = root.present();
    }
    let (Some((xs, ys)), Some(png)) = (area, surface_png(cells, g)) else {
        return svg;
    };
    // Under the points and axes: right after the background fill.
    let image = format!(
        r#"<image x="{}" y="{}" width="{}" height="{}" preserveAspectRatio="none" style="image-rendering:pixelated" href="data:image/png;base64,{png}"/>"#,
        xs.start,
        ys.start,
        xs.end - xs.start,
        ys.end - ys.start
    );
    match svg.find("/>") {
        Some(at) => svg.insert_str(at + 2, &image),
        None => return svg,
    }
    svg
}

/// The colour of P(class 1) = p: red-ish through pale to blue-ish.
fn shade(p: f64) -> [u8; 3] {
    let p = p.clamp(0.0, 1.0);
    [
        (255.0 - 80.0 * p) as u8,
        (235.0 - 60.0 * (p - 0.5).abs() * 2.0) as u8,
        (175.0 + 80.0 * p) as u8,
    ]
}

/// The grid as a base64 PNG, row 0 at the top (y = hi).
fn surface_png(cells: &[f64], g: usize) -> Option<String> {
    use base64::Engine;
    if g == 0 || cells.len() < g * g {
        return None;
    }
    let mut rgb = Vec::with_capacity(3 * g * g);
    for row in (0..g).rev() {
        for col in 0..g {
            rgb.extend_from_slice(&shade(cells[row * g + col]));
        }
    }
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, g as u32, g as u32);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut w = enc.write_header().ok()?;
        w.write_image_data(&rgb).ok()?;
    }
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}
