//! Plots for the sweep, with `plotters` (PNG and SVG): accuracy against token fraction.

use std::path::Path;

use plotters::prelude::*;

static FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn register_font() {
    // Registering twice is harmless; the bitmap backend needs a font for text.
    let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
}

/// One measured setting on the accuracy-against-tokens plot.
#[derive(Debug, Clone, PartialEq)]
pub struct FrontierPoint {
    /// The legend entry it belongs to (points of one series share a colour), e.g. `cons@N`.
    pub series: String,
    /// Tokens generated as a fraction of cons@N's.
    pub token_fraction: f64,
    /// Accuracy over problems.
    pub accuracy: f64,
    /// The upper end of the accuracy's 95% interval (it sets the plot's height).
    pub accuracy_ci_high: f64,
}

/// Writes `frontier.png` and `frontier.svg` in `dir`: one point per setting, coloured by series,
/// and the cons@k curve.
pub fn frontier(dir: &Path, rows: &[FrontierPoint], curve: &[(f64, f64)]) -> Result<(), String> {
    register_font();
    let png = dir.join("frontier.png");
    let svg = dir.join("frontier.svg");
    draw(BitMapBackend::new(&png, (900, 600)).into_drawing_area(), rows, curve)?;
    draw(SVGBackend::new(&svg, (900, 600)).into_drawing_area(), rows, curve)
}

fn draw<DB: DrawingBackend>(area: DrawingArea<DB, plotters::coord::Shift>, rows: &[FrontierPoint], curve: &[(f64, f64)]) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    area.fill(&WHITE).map_err(e)?;
    let y_max = rows.iter().map(|r| r.accuracy_ci_high).chain(curve.iter().map(|c| c.1)).fold(0.1f64, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(&area)
        .caption("Accuracy vs. tokens (fraction of cons@N)", ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0f64..1.05f64, 0.0f64..y_max)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("tokens / cons@N tokens")
        .y_desc("accuracy")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    chart
        .draw_series(LineSeries::new(curve.iter().copied(), BLACK.stroke_width(2)))
        .map_err(e)?
        .label("cons@k (sampling fewer traces)")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    let palette = [&RED, &BLUE, &GREEN, &MAGENTA, &CYAN, &BLACK];
    let mut judges: Vec<String> = rows.iter().map(|r| r.series.clone()).collect();
    judges.dedup();
    let mut seen: Vec<String> = Vec::new();
    for j in judges {
        if seen.contains(&j) {
            continue;
        }
        seen.push(j.clone());
        let color = *palette[(seen.len() - 1) % palette.len()];
        let points: Vec<(f64, f64)> = rows.iter().filter(|r| r.series == j).map(|r| (r.token_fraction, r.accuracy)).collect();
        chart
            .draw_series(points.into_iter().map(|p| Circle::new(p, 5, color.filled())))
            .map_err(e)?
            .label(j)
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    area.present().map_err(e)
}

/// One ROC curve: its legend label and (false-positive rate, true-positive rate) points.
pub struct RocCurve {
    /// Legend text, e.g. `model (AUROC 0.61)`.
    pub label: String,
    /// Points from (0, 0) to (1, 1).
    pub points: Vec<(f64, f64)>,
}

/// Writes `roc.png` and `roc.svg` in `dir`: the judges' ROC curves, the chance diagonal, and the
/// operating point the issue asks about (FNR = 0.2, i.e. TPR = 0.8) as a horizontal guide.
pub fn roc(dir: &Path, title: &str, curves: &[RocCurve]) -> Result<(), String> {
    register_font();
    let png = dir.join("roc.png");
    let svg = dir.join("roc.svg");
    draw_roc(BitMapBackend::new(&png, (700, 650)).into_drawing_area(), title, curves)?;
    draw_roc(SVGBackend::new(&svg, (700, 650)).into_drawing_area(), title, curves)
}

fn draw_roc<DB: DrawingBackend>(area: DrawingArea<DB, plotters::coord::Shift>, title: &str, curves: &[RocCurve]) -> Result<(), String>
where
    DB::ErrorType: 'static,
{
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    area.fill(&WHITE).map_err(e)?;
    let mut chart = ChartBuilder::on(&area)
        .caption(title, ("sans-serif", 20))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0f64..1.0f64, 0.0f64..1.0f64)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("false-positive rate (different answers judged same)")
        .y_desc("true-positive rate")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    let grey = RGBColor(150, 150, 150);
    chart.draw_series(LineSeries::new(vec![(0.0, 0.0), (1.0, 1.0)], grey.stroke_width(1))).map_err(e)?.label("chance").legend(
        move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey),
    );
    chart
        .draw_series(LineSeries::new(vec![(0.0, 0.8), (1.0, 0.8)], grey.mix(0.6).stroke_width(1)))
        .map_err(e)?
        .label("FNR = 0.2")
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.mix(0.6)));
    let palette = [&RED, &BLUE, &GREEN, &MAGENTA, &CYAN, &BLACK];
    for (i, c) in curves.iter().enumerate() {
        let color = *palette[i % palette.len()];
        chart
            .draw_series(LineSeries::new(c.points.iter().copied(), color.stroke_width(2)))
            .map_err(e)?
            .label(c.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    area.present().map_err(e)
}
