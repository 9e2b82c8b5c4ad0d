//! The run's chart, as SVG: per workload, the p50 ratio of its second arm over its first,
//! the second arm as a multiple of its floor, and the throughput ratio; a line at 1×.

use plotters::prelude::*;

use super::report::Report;

const COLOURS: [RGBColor; 3] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
];

/// The chart as an SVG document.
pub fn to_svg(report: &Report) -> anyhow::Result<String> {
    let series: [(&str, Vec<Option<f64>>); 3] = [
        (
            "p50 latency ratio (second arm / first)",
            report
                .workloads
                .iter()
                .map(|w| Some(w.latency_ratio().value))
                .collect(),
        ),
        (
            "migrated p50 / floor",
            report.workloads.iter().map(|w| w.over_floor()).collect(),
        ),
        (
            "throughput ratio (second arm / first)",
            report
                .workloads
                .iter()
                .map(|w| Some(w.throughput_ratio().value))
                .collect(),
        ),
    ];
    let ids: Vec<&str> = report.workloads.iter().map(|w| w.id).collect();
    let top = series
        .iter()
        .flat_map(|(_, values)| values.iter().flatten())
        .fold(1.0_f64, |a, b| a.max(*b));
    // The N+1 variant dwarfs the rest; a log scale keeps every bar readable.
    let (low, high) = (0.1_f64, (top * 1.5).max(2.0));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 480)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = ids.len() as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "kit bench: ratios and floors (1× = par)",
                ("sans-serif", 20),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(-0.5..n - 0.5, (low..high).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(ids.len())
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 0.01 && i >= 0.0 {
                    ids.get(i as usize).copied().unwrap_or("").to_owned()
                } else {
                    String::new()
                }
            })
            .y_desc("×")
            .draw()?;
        let width = 0.8 / series.len() as f64;
        for (s, (name, values)) in series.iter().enumerate() {
            let colour = COLOURS[s % COLOURS.len()];
            let bars = values.iter().enumerate().filter_map(|(i, v)| {
                let x0 = i as f64 - 0.4 + s as f64 * width;
                v.map(|v| Rectangle::new([(x0, low), (x0 + width, v.max(low))], colour.filled()))
            });
            chart.draw_series(bars)?.label(*name).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 10, y + 5)], colour.filled())
            });
        }
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(-0.5, 1.0), (n - 0.5, 1.0)],
            BLACK.stroke_width(1),
        )))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}
