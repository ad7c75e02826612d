//! Figures for the pages, drawn with plotters into SVG strings.
//!
//! `lines`: one or more series of (x, mean, CI half-width) drawn as a line
//! with error bars, its axes, ticks and legend by the rules of
//! [`super::axis`] (proportions within their bounds, ticks that differ, the
//! legend below the plot); `boundary`: a 2-D decision surface as coloured
//! cells with the training points on top.

use plotters::prelude::*;

use super::axis::{decimals, legend_layout, log_tick, log_ticks, proportion, range, tick};

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

/// Height of the plot itself, above the legend.
const PLOT_H: u32 = 340;
/// Figure width.
const WIDTH: u32 = 560;
/// Height of one legend row.
const ROW_H: u32 = 18;

/// Line chart with error bars.
pub fn lines(ax: &Axes, series: &[Series]) -> String {
    let names: Vec<String> = if series.len() > 1 {
        series.iter().map(|s| s.name.clone()).collect()
    } else {
        Vec::new()
    };
    let (slots, rows) = legend_layout(&names, WIDTH);
    let legend_h = if rows == 0 { 0 } else { rows * ROW_H + 8 };
    let mut svg = String::new();
    {
        let root =
            SVGBackend::with_string(&mut svg, (WIDTH, PLOT_H + legend_h)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let (top, bottom) = root.split_vertically(PLOT_H);
        let (x0, x1) = range(
            series.iter().flat_map(|s| s.points.iter().map(|p| p.0)),
            ax.log_x,
            proportion(ax.x),
        );
        let (y0, y1) = range(
            series
                .iter()
                .flat_map(|s| s.points.iter().flat_map(|p| [p.1 - p.2, p.1 + p.2])),
            ax.log_y,
            proportion(ax.y),
        );
        let (dx, dy) = (decimals(x0, x1, ax.log_x), decimals(y0, y1, ax.log_y));
        let (ylo, yhi) = (y0, y1);
        let mut b = ChartBuilder::on(&top);
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
                    .x_label_formatter(&|v: &f64| {
                        if ax.log_x {
                            log_tick(*v)
                        } else {
                            tick(*v, dx)
                        }
                    })
                    .y_label_formatter(&|v: &f64| {
                        if ax.log_y {
                            log_tick(*v)
                        } else {
                            tick(*v, dy)
                        }
                    })
                    .light_line_style(RGBColor(235, 235, 235))
                    .draw();
                for (i, s) in series.iter().enumerate() {
                    let col = COLORS[i % COLORS.len()];
                    let pts: Vec<(f64, f64)> = s.points.iter().map(|p| (p.0, p.1)).collect();
                    let _ = c.draw_series(LineSeries::new(pts.clone(), col.stroke_width(2)));
                    let _ = c.draw_series(pts.iter().map(|&p| Circle::new(p, 3, col.filled())));
                    // Error bars, cut at the axis (a proportion's bound).
                    let _ = c.draw_series(s.points.iter().filter(|p| p.2 > 0.0).map(|p| {
                        PathElement::new(
                            vec![(p.0, (p.1 - p.2).max(ylo)), (p.0, (p.1 + p.2).min(yhi))],
                            col.stroke_width(1),
                        )
                    }));
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
                let xs = (x0..x1).log_scale().with_key_points(log_ticks(x0, x1));
                if let Ok(c) = b.build_cartesian_2d(xs, y0..y1) {
                    draw!(c)
                }
            }
            (false, true) => {
                let ys = (y0..y1).log_scale().with_key_points(log_ticks(y0, y1));
                if let Ok(c) = b.build_cartesian_2d(x0..x1, ys) {
                    draw!(c)
                }
            }
            (true, true) => {
                let xs = (x0..x1).log_scale().with_key_points(log_ticks(x0, x1));
                let ys = (y0..y1).log_scale().with_key_points(log_ticks(y0, y1));
                if let Ok(c) = b.build_cartesian_2d(xs, ys) {
                    draw!(c)
                }
            }
        }
        // The legend: below the plot, never over the data.
        for (i, ((row, x), name)) in slots.iter().zip(&names).enumerate() {
            let col = COLORS[i % COLORS.len()];
            let (x, y) = (*x as i32, (row * ROW_H + ROW_H / 2 + 4) as i32);
            let _ = bottom.draw(&PathElement::new(
                vec![(x, y), (x + 20, y)],
                col.stroke_width(2),
            ));
            let _ = bottom.draw(&Circle::new((x + 10, y), 3, col.filled()));
            let _ = bottom.draw(&Text::new(
                name.clone(),
                (x + 26, y - 7),
                ("sans-serif", 12),
            ));
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
