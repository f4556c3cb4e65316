//! The SVG chart of a peer benchmark run (plotters, SVG backend): grouped bars, one group per
//! case, one colour per server; reads in MiB/s on top, `tools/list` requests/s below. It draws
//! rows it is given and knows nothing of how they were measured.

use crate::Row;
use plotters::prelude::*;
use std::path::Path;

type Key = (String, Option<u32>, usize);

/// A bar group: transport (tools/list: parsed or raw, both over HTTP), size, connections.
fn key_of(r: &Row) -> Key {
    let first = match r.case.as_str() {
        "tools/list" => "parsed".to_string(),
        "tools/list raw" => "raw".to_string(),
        _ => r.transport.clone(),
    };
    (first, r.size_mib, r.conns)
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    rows: &[&Row],
    servers: &[String],
    title: &str,
    value: fn(&Row) -> Option<f64>,
    label: fn(&Key) -> String,
) -> anyhow::Result<()> {
    let mut keys: Vec<Key> = vec![];
    for r in rows {
        let k = key_of(r);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let top = rows.iter().filter_map(|r| value(r)).fold(1.0f64, f64::max) * 1.4; // room for the legend
    let n = keys.len().max(1) as f64;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n, 0f64..top)?;
    let names: Vec<String> = keys.iter().map(label).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .x_labels(keys.len() * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor();
            if ((x - i) - 0.5).abs() < 0.01 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .draw()?;
    let w = 0.8 / servers.len().max(1) as f64;
    for (si, server) in servers.iter().enumerate() {
        let color = Palette99::pick(si).mix(0.9);
        let bars: Vec<Rectangle<(f64, f64)>> = keys
            .iter()
            .enumerate()
            .filter_map(|(ki, k)| {
                let r = rows
                    .iter()
                    .find(|r| &r.server == server && key_of(r) == *k)?;
                let v = value(r)?;
                let x0 = ki as f64 + 0.1 + si as f64 * w;
                Some(Rectangle::new(
                    [(x0, 0.0), (x0 + w * 0.9, v)],
                    color.filled(),
                ))
            })
            .collect();
        chart
            .draw_series(bars)?
            .label(server.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperRight)
        .draw()?;
    Ok(())
}

pub fn draw(rows: &[Row], path: &Path, title: &str) -> anyhow::Result<()> {
    let ok: Vec<&Row> = rows.iter().filter(|r| r.error.is_none()).collect();
    let mut servers: Vec<String> = vec![];
    for r in &ok {
        if !servers.contains(&r.server) {
            servers.push(r.server.clone());
        }
    }
    let root = SVGBackend::new(path, (1100, 800)).into_drawing_area();
    root.fill(&WHITE)?;
    let root = root.titled(title, ("sans-serif", 22))?;
    let (a, b) = root.split_vertically(480);
    let reads: Vec<&Row> = ok.iter().copied().filter(|r| r.case == "read").collect();
    let lists: Vec<&Row> = ok
        .iter()
        .copied()
        .filter(|r| r.case.starts_with("tools/list"))
        .collect();
    panel(
        &a,
        &reads,
        &servers,
        "whole-file reads, MiB/s of file data (client parses JSON and decodes base64)",
        |r| r.mib_s,
        |k| format!("{} {} MiB x{}", k.0, k.1.unwrap_or(0), k.2),
    )?;
    panel(
        &b,
        &lists,
        &servers,
        "tools/list over HTTP, requests/s (keep-alive; parsed like a client / read raw like wrk)",
        |r| r.req_s,
        |k| format!("{} x{}", k.0, k.2),
    )?;
    root.present()?;
    Ok(())
}
