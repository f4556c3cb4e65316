//! Storyboards: frames composed into one grid image, each cell labelled with its timestamp
//! (the public-domain 8x8 bitmap font of `font8x8`, scaled 1-3x, on a dark box), planned to
//! fit the model's image budget and encoded through the image pipeline; and the parallel
//! frame gathering a storyboard needs (targets split across `ctx.threads` decoders, each
//! seeking to the keyframe before its targets). Must not know about the decoders' insides
//! (it calls [`super::frames_at`]), the tools, JSON or the cache.

use super::{Frame, FrameHint, VideoCtx, VideoError, VideoInfo};
use crate::media::image::{
    Encoded, ImageError, MODEL_LONG_EDGE, MODEL_MAX_BYTES, OutputFormat, TransformSpec, pipeline,
};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::{DynamicImage, Rgb, RgbImage};
use std::path::Path;

/// Pixels between cells (and no border around the grid).
pub const GAP: u32 = 2;
/// The gaps and the letterbox bars.
pub const BACKGROUND: Rgb<u8> = Rgb([16, 16, 16]);
/// The label's glyphs.
pub const TEXT: Rgb<u8> = Rgb([255, 255, 255]);
/// Largest side of a composed canvas, whatever is asked (the encoder's budget shrinks it
/// further): bounds the allocation of [`compose`].
pub const MAX_CANVAS_EDGE: u32 = 8192;
/// Glyph side of the font, in pixels at scale 1.
const GLYPH: u32 = 8;
/// The label box keeps this fraction (in 256ths) of the picture under it.
const BOX_KEEP: u16 = 64;

/// A storyboard's layout: `columns` x `rows` cells of `cell` pixels, [`GAP`] between them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Grid {
    pub columns: u32,
    pub rows: u32,
    pub cell: (u32, u32),
}

impl Grid {
    /// The canvas size: cells plus the gaps between them.
    pub fn size(&self) -> (u32, u32) {
        (
            span(self.columns, self.cell.0),
            span(self.rows, self.cell.1),
        )
    }
}

/// `n` cells of `side` pixels with [`GAP`] between them (saturating).
fn span(n: u32, side: u32) -> u32 {
    n.saturating_mul(side)
        .saturating_add(n.saturating_sub(1).saturating_mul(GAP))
}

/// The largest cell of the aspect of `display` that fits `n` times (with gaps) across
/// `avail` pixels one way and `m` times across `avail` the other, never larger than
/// `display` itself; at least 1x1.
fn fit_cell(display: (u32, u32), (across, down): (u32, u32), avail: u32) -> (u32, u32) {
    let (dw, dh) = (u64::from(display.0.max(1)), u64::from(display.1.max(1)));
    let room = |n: u32| -> u64 {
        let gaps = u64::from(n.saturating_sub(1)) * u64::from(GAP);
        (u64::from(avail).saturating_sub(gaps) / u64::from(n.max(1))).max(1)
    };
    let (bw, bh) = (room(across).min(dw), room(down).min(dh));
    // Aspect kept: the width-limited or the height-limited size, whichever fits.
    let (w, h) = if dw * bh > dh * bw {
        (bw, (dh * bw + dw / 2) / dw)
    } else {
        ((dw * bh + dh / 2) / dh, bh)
    };
    let c = |v: u64| u32::try_from(v.max(1)).unwrap_or(u32::MAX);
    (c(w), c(h))
}

/// Chooses the layout of a storyboard of `count` frames of a video displayed at `display`
/// pixels, its canvas within `long_edge` pixels a side: `columns` when given (clamped to
/// 1..=count), otherwise the column count (at most 64) giving the largest cells among the
/// grids that fit (cells are at least 1x1, so thousands of frames may not; ties: fewer empty
/// cells, then the squarer canvas). The image encoder may still shrink the canvas to meet the byte
/// budget ([`render`]). `count` 0 plans one empty cell.
pub fn plan(display: (u32, u32), count: u32, columns: Option<u32>, long_edge: u32) -> Grid {
    let count = count.max(1);
    let long_edge = long_edge.clamp(1, MAX_CANVAS_EDGE);
    let layout = |c: u32| {
        let rows = count.div_ceil(c);
        Grid {
            columns: c,
            rows,
            cell: fit_cell(display, (c, rows), long_edge),
        }
    };
    if let Some(c) = columns {
        return layout(c.clamp(1, count));
    }
    let key = |g: &Grid| {
        let area = u64::from(g.cell.0) * u64::from(g.cell.1);
        let empty = (u64::from(g.columns) * u64::from(g.rows)).saturating_sub(u64::from(count));
        let (w, h) = g.size();
        let fits = w <= long_edge && h <= long_edge;
        (
            fits,
            area,
            std::cmp::Reverse(empty),
            std::cmp::Reverse(w.abs_diff(h)),
        )
    };
    (1..=count.min(64))
        .map(layout)
        .max_by_key(key)
        .unwrap_or_else(|| layout(1))
}

/// Evenly spread times for `count` frames over `[start, end)`: the middle of each of `count`
/// equal parts (never the very first frame, often black, nor the very end).
pub fn even_times(start: f64, end: f64, count: u32) -> Vec<f64> {
    let len = (end - start).max(0.0);
    (0..count)
        .map(|i| start + (f64::from(i) + 0.5) * len / f64::from(count))
        .collect()
}

/// A timestamp as the label shows it: `m:ss.s`, or `h:mm:ss.s` when `hours`. Negative or
/// non-finite times show as 0.
pub fn format_time(t: f64, hours: bool) -> String {
    let tenths = if t.is_finite() && t > 0.0 {
        // Bounded by the clamp; the cast is exact.
        (t * 10.0).round().min(1e15) as u64
    } else {
        0
    };
    let (s, d) = (tenths / 10 % 60, tenths % 10);
    if hours {
        format!("{}:{:02}:{s:02}.{d}", tenths / 36_000, tenths / 600 % 60)
    } else {
        format!("{}:{s:02}.{d}", tenths / 600)
    }
}

/// Whether a set of labels needs the hours field (some time rounds to an hour or more).
fn needs_hours(frames: &[Frame]) -> bool {
    frames.iter().any(|f| f.pts.is_finite() && f.pts >= 3599.95)
}

/// The glyph scale for a label in a cell: 1 up to 3 with the cell's height, lowered until
/// the label fits the cell's width (1 at least; what overflows is clipped).
fn glyph_scale(cell: (u32, u32), chars: u32) -> u32 {
    let mut scale = (cell.1 / 90).clamp(1, 3);
    while scale > 1 && label_box(scale, chars).0 > cell.0 {
        scale -= 1;
    }
    scale
}

/// Width and height of the dark box holding `chars` glyphs at `scale`.
fn label_box(scale: u32, chars: u32) -> (u32, u32) {
    let pad = 2 * scale;
    (
        chars.saturating_mul(GLYPH * scale).saturating_add(2 * pad),
        GLYPH * scale + 2 * pad,
    )
}

/// Draws `text` at the bottom-left of the rectangle `(x, y, w, h)` of `canvas`: a dark box
/// (the picture under it kept at a quarter of its brightness), then the glyphs. Clipped to
/// the rectangle.
fn draw_label(canvas: &mut RgbImage, (x, y, w, h): (u32, u32, u32, u32), text: &str) {
    let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
    let scale = glyph_scale((w, h), chars);
    let (bw, bh) = label_box(scale, chars);
    let (bw, bh) = (bw.min(w), bh.min(h));
    let top = y + (h - bh);
    for py in top..top + bh {
        for px in x..x + bw {
            if let Some(p) = canvas.get_pixel_mut_checked(px, py) {
                for c in &mut p.0 {
                    *c = (u16::from(*c) * BOX_KEEP / 256) as u8;
                }
            }
        }
    }
    let pad = 2 * scale;
    let (right, bottom) = (x + bw, top + bh);
    for (i, ch) in text.chars().enumerate() {
        let glyph = font8x8::legacy::BASIC_LEGACY
            .get(ch as usize)
            .copied()
            .unwrap_or([0; 8]);
        let gx = x + pad + u32::try_from(i).unwrap_or(u32::MAX / 2) * GLYPH * scale;
        for (row, bits) in (0u32..).zip(glyph) {
            for col in 0..GLYPH {
                if bits >> col & 1 == 0 {
                    continue;
                }
                let (px0, py0) = (gx + col * scale, top + pad + row * scale);
                for py in py0..(py0 + scale).min(bottom) {
                    for px in px0..(px0 + scale).min(right) {
                        if let Some(p) = canvas.get_pixel_mut_checked(px, py) {
                            *p = TEXT;
                        }
                    }
                }
            }
        }
    }
}

/// `img` resized to fit `cell` (aspect kept; not enlarged past the cell), or `None` when it
/// cannot be (an empty image).
fn fit_into(img: &RgbImage, cell: (u32, u32)) -> Option<RgbImage> {
    let (fw, fh) = (u64::from(img.width()), u64::from(img.height()));
    if fw == 0 || fh == 0 {
        return None;
    }
    let (cw, ch) = (u64::from(cell.0), u64::from(cell.1));
    let (w, h) = if fw * ch > fh * cw {
        (cw, ((fh * cw + fw / 2) / fw).max(1))
    } else {
        (((fw * ch + fh / 2) / fh).max(1), ch)
    };
    let (w, h) = (u32::try_from(w).ok()?, u32::try_from(h).ok()?);
    if (w, h) == img.dimensions() {
        return Some(img.clone());
    }
    let mut out = RgbImage::new(w, h);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new().resize(img, &mut out, &options).ok()?;
    Some(out)
}

/// Composes `frames` into a grid of `columns` columns of cells of `cell` pixels (frames
/// resized to fit, aspect kept, centred on [`BACKGROUND`]), [`GAP`] pixels apart, in order,
/// each labelled with its timestamp when `label` (see [`format_time`]). The cells shrink
/// (aspect kept) when the canvas would exceed [`MAX_CANVAS_EDGE`]. No frames: one empty
/// cell. Never panics.
pub fn compose(frames: &[Frame], columns: u32, cell: (u32, u32), label: bool) -> RgbImage {
    let n = u32::try_from(frames.len()).unwrap_or(u32::MAX);
    let columns = columns.clamp(1, n.max(1));
    let rows = n.div_ceil(columns).max(1);
    let cell = fit_cell(
        (cell.0.max(1), cell.1.max(1)),
        (columns, rows),
        MAX_CANVAS_EDGE,
    );
    let grid = Grid {
        columns,
        rows,
        cell,
    };
    let (w, h) = grid.size();
    let mut canvas = RgbImage::from_pixel(w, h, BACKGROUND);
    let hours = needs_hours(frames);
    for (i, frame) in (0u32..).zip(frames) {
        let (col, row) = (i % columns, i / columns);
        let x = col * (cell.0 + GAP);
        let y = row * (cell.1 + GAP);
        if let Some(small) = fit_into(&frame.image, cell) {
            let ox = x + (cell.0 - small.width()) / 2;
            let oy = y + (cell.1 - small.height()) / 2;
            image::imageops::replace(&mut canvas, &small, i64::from(ox), i64::from(oy));
        }
        if label {
            draw_label(
                &mut canvas,
                (x, y, cell.0, cell.1),
                &format_time(frame.pts, hours),
            );
        }
    }
    canvas
}

/// How an image-pipeline failure reads as a video error: a composed canvas is ours, so all
/// but cancellation and a bad request (quality) are our bugs.
fn from_image(e: ImageError) -> VideoError {
    match e {
        ImageError::Cancelled => VideoError::Cancelled,
        ImageError::InvalidRequest(m) => VideoError::InvalidRequest(m),
        ImageError::Io(e) => VideoError::Io(e),
        other => VideoError::Internal(format!("storyboard encoding: {other}")),
    }
}

/// Encodes a composed canvas within the model's image budget: long edge at most
/// [`MODEL_LONG_EDGE`], at most [`MODEL_MAX_BYTES`] (quality stepped down, then size, by the
/// image encoder). `format` defaults to JPEG.
pub fn encode(
    canvas: RgbImage,
    format: Option<OutputFormat>,
    quality: Option<u8>,
    cancelled: &dyn Fn() -> bool,
) -> Result<Encoded, VideoError> {
    let source = canvas.dimensions();
    let spec = TransformSpec {
        max_width: Some(MODEL_LONG_EDGE),
        max_height: Some(MODEL_LONG_EDGE),
        format: Some(format.unwrap_or(OutputFormat::Jpeg)),
        quality,
        max_bytes: Some(MODEL_MAX_BYTES),
        ..TransformSpec::default()
    };
    pipeline::render_decoded(&DynamicImage::ImageRgb8(canvas), source, &spec, cancelled)
        .map_err(from_image)
}

/// Plans, composes and encodes a storyboard of `frames` of a video displayed at `display`
/// pixels, within the model's budget.
pub fn render(
    frames: &[Frame],
    display: (u32, u32),
    columns: Option<u32>,
    label: bool,
    format: Option<OutputFormat>,
    cancelled: &dyn Fn() -> bool,
) -> Result<(Encoded, Grid), VideoError> {
    let n = u32::try_from(frames.len()).unwrap_or(u32::MAX);
    let grid = plan(display, n, columns, MODEL_LONG_EDGE);
    let canvas = compose(frames, grid.columns, grid.cell, label);
    if cancelled() {
        return Err(VideoError::Cancelled);
    }
    Ok((encode(canvas, format, None, cancelled)?, grid))
}

/// The frames shown at `times` (in the order of `times`), decoded by up to `ctx.threads`
/// workers at once (at least 1): the targets, sorted, are split into contiguous runs, one per
/// worker, each with its own decoder seeking to the keyframe before each of its targets. The
/// frame budget `ctx.limits.max_decoded_frames` is shared out among the workers. The first
/// failure is returned (the other workers stop at their next frame).
pub fn gather(
    path: &Path,
    info: &VideoInfo,
    times: &[f64],
    hint: FrameHint,
    ctx: &VideoCtx,
    cancelled: &(dyn Fn() -> bool + Sync),
) -> Result<Vec<Frame>, VideoError> {
    if times.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(t) = times.iter().find(|t| !t.is_finite()) {
        return Err(VideoError::InvalidRequest(format!(
            "a frame time must be a finite number of seconds (got {t})"
        )));
    }
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|&a, &b| {
        let (ta, tb) = (times.get(a), times.get(b));
        ta.partial_cmp(&tb).unwrap_or(std::cmp::Ordering::Equal)
    });
    let workers = ctx.threads.clamp(1, times.len());
    let per = order.len().div_ceil(workers);
    let mut worker_ctx = ctx.clone();
    let share = u64::try_from(workers).unwrap_or(1);
    worker_ctx.limits.max_decoded_frames = (ctx.limits.max_decoded_frames / share).max(1);
    let failed = std::sync::atomic::AtomicBool::new(false);
    let stop = || cancelled() || failed.load(std::sync::atomic::Ordering::Relaxed);
    let run = |run: &[usize]| -> Result<Vec<(usize, Frame)>, VideoError> {
        let ts: Vec<f64> = run.iter().filter_map(|&i| times.get(i).copied()).collect();
        let mut got = Vec::with_capacity(run.len());
        let r = super::frames_at(path, info, &ts, hint, &worker_ctx, &stop, &mut |k, f| {
            if let Some(&i) = run.get(k) {
                got.push((i, f));
            }
            Ok(())
        });
        if r.is_err() {
            failed.store(true, std::sync::atomic::Ordering::Relaxed);
        }
        r.map(|()| got)
    };
    let results: Vec<Result<Vec<(usize, Frame)>, VideoError>> = if workers == 1 {
        vec![run(&order)]
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = order
                .chunks(per.max(1))
                .map(|chunk| s.spawn(|| run(chunk)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(VideoError::Internal("a frame worker panicked".into()))
                    })
                })
                .collect()
        })
    };
    let mut slots: Vec<Option<Frame>> = vec![None; times.len()];
    let mut first_err = None;
    for r in results {
        match r {
            Ok(got) => {
                for (i, f) in got {
                    if let Some(slot) = slots.get_mut(i) {
                        *slot = Some(f);
                    }
                }
            }
            // A worker stopped because another failed reports Cancelled: keep the cause.
            Err(VideoError::Cancelled) if !cancelled() => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    if cancelled() {
        return Err(VideoError::Cancelled);
    }
    slots
        .into_iter()
        .zip(times)
        .map(|(f, t)| {
            f.ok_or_else(|| VideoError::Internal(format!("the decoder gave no frame for {t} s")))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;

    fn frame(pts: f64, w: u32, h: u32, colour: [u8; 3]) -> Frame {
        Frame {
            pts,
            image: RgbImage::from_pixel(w, h, Rgb(colour)),
        }
    }

    #[test]
    fn the_grid_fits_the_long_edge_with_the_videos_aspect() {
        // 16 frames of 1080p: the largest cells within 1568 px (3 columns of 6 rows win over
        // 4x4: 460x259 > 390x219), canvas within the bound, aspect within a pixel of 16:9.
        for (display, count) in [((1920, 1080), 16), ((1080, 1920), 16), ((640, 480), 9)] {
            let g = plan(display, count, None, 1568);
            let (w, h) = g.size();
            assert!(w <= 1568 && h <= 1568, "{display:?} {count}: {g:?}");
            assert!(g.columns * g.rows >= count);
            let want_h = f64::from(g.cell.0) * f64::from(display.1) / f64::from(display.0);
            assert!((f64::from(g.cell.1) - want_h).abs() <= 1.0, "{g:?}");
            // No other column count gives larger cells.
            for c in 1..=count {
                let other = plan(display, count, Some(c), 1568);
                assert!(
                    u64::from(other.cell.0) * u64::from(other.cell.1)
                        <= u64::from(g.cell.0) * u64::from(g.cell.1)
                );
            }
        }
        let g = plan((1920, 1080), 16, Some(4), 1568);
        assert_eq!(
            g,
            Grid {
                columns: 4,
                rows: 4,
                cell: (390, 219)
            }
        );
        assert_eq!(g.size(), (4 * 390 + 3 * GAP, 4 * 219 + 3 * GAP));
        // Columns are clamped to the count; cells never exceed the video itself.
        let g = plan((160, 90), 3, Some(10), 1568);
        assert_eq!((g.columns, g.rows, g.cell), (3, 1, (160, 90)));
    }

    #[test]
    fn odd_and_degenerate_plans_do_not_panic() {
        for display in [
            (0, 0),
            (1, 1),
            (1, 10_000),
            (10_000, 1),
            (u32::MAX, u32::MAX),
        ] {
            for count in [0, 1, 2, 7, 1000] {
                let g = plan(display, count, None, 1568);
                assert!(g.cell.0 >= 1 && g.cell.1 >= 1);
                let (w, h) = g.size();
                assert!(w <= 1568 && h <= 1568, "{display:?} {count}: {g:?}");
            }
        }
    }

    #[test]
    fn cells_hold_their_frames_letterboxed_in_order() {
        let frames = vec![
            frame(0.0, 320, 180, [200, 0, 0]),
            frame(1.0, 320, 180, [0, 200, 0]),
            // A portrait frame in a landscape cell: letterboxed, centred.
            frame(2.0, 90, 160, [0, 0, 200]),
        ];
        let img = compose(&frames, 2, (160, 90), false);
        assert_eq!(img.dimensions(), (2 * 160 + GAP, 2 * 90 + GAP));
        assert_eq!(img.get_pixel(80, 45).0, [200, 0, 0]);
        assert_eq!(img.get_pixel(160 + GAP + 80, 45).0, [0, 200, 0]);
        // The gap between cells.
        assert_eq!(*img.get_pixel(160, 45), BACKGROUND);
        // Third cell: 90x160 into 160x90 is 51x90 (rounded), centred: bars left and right.
        let (y0, x0) = (90 + GAP, 0);
        assert_eq!(img.get_pixel(x0 + 80, y0 + 45).0, [0, 0, 200]);
        assert_eq!(*img.get_pixel(x0 + 5, y0 + 45), BACKGROUND);
        assert_eq!(*img.get_pixel(x0 + 155, y0 + 45), BACKGROUND);
        // The fourth cell is empty.
        assert_eq!(*img.get_pixel(160 + GAP + 80, y0 + 45), BACKGROUND);
    }

    #[test]
    fn labels_draw_white_glyphs_on_a_dark_box() {
        let frames = vec![frame(83.44, 400, 225, [128, 128, 128])];
        let img = compose(&frames, 1, (400, 225), true);
        // Scale 2 for a 225 px cell: "1:23.4" is 6 glyphs of 16 px + 2 x 4 px of padding.
        assert_eq!(glyph_scale((400, 225), 6), 2);
        let (bw, bh) = label_box(2, 6);
        assert_eq!((bw, bh), (104, 24));
        let in_box = |x: u32, y: u32| x < bw && y >= 225 - bh;
        let (mut white, mut dark, mut outside_changed) = (0, 0, 0);
        for (x, y, p) in img.enumerate_pixels() {
            match (in_box(x, y), p.0) {
                (true, [255, 255, 255]) => white += 1,
                (true, [32, 32, 32]) => dark += 1,
                (true, other) => panic!("unexpected label pixel {other:?} at {x},{y}"),
                (false, [128, 128, 128]) => {}
                (false, _) => outside_changed += 1,
            }
        }
        assert_eq!(outside_changed, 0);
        // Glyph pixels present (each glyph of the font has 10-30 pixels at scale 1, x4 at
        // scale 2), and the box is mostly dark.
        assert!(white > 6 * 4 * 8, "{white} white pixels");
        assert!(dark > white, "{dark} dark pixels");
        // Without labels, nothing is drawn.
        let plain = compose(&frames, 1, (400, 225), false);
        assert!(plain.pixels().all(|p| p.0 == [128, 128, 128]));
    }

    #[test]
    fn labels_read_minutes_or_hours() {
        assert_eq!(format_time(0.0, false), "0:00.0");
        assert_eq!(format_time(83.44, false), "1:23.4");
        assert_eq!(format_time(59.96, false), "1:00.0");
        assert_eq!(format_time(3725.25, true), "1:02:05.3");
        assert_eq!(format_time(-1.0, false), "0:00.0");
        assert_eq!(format_time(f64::NAN, true), "0:00:00.0");
        assert!(!needs_hours(&[frame(3599.9, 1, 1, [0; 3])]));
        assert!(needs_hours(&[frame(3599.96, 1, 1, [0; 3])]));
    }

    #[test]
    fn glyphs_scale_with_the_cell_and_shrink_to_fit_its_width() {
        assert_eq!(glyph_scale((1000, 89), 6), 1);
        assert_eq!(glyph_scale((1000, 300), 6), 3);
        assert_eq!(glyph_scale((1000, 3000), 6), 3);
        // 3x needs 6*24+12 = 156 px; 2x needs 104 px.
        assert_eq!(glyph_scale((150, 300), 6), 2);
        assert_eq!(glyph_scale((20, 300), 6), 1);
    }

    #[test]
    fn no_panic_on_empty_tiny_or_odd_inputs() {
        let empty = compose(&[], 4, (100, 50), true);
        assert_eq!(empty.dimensions(), (100, 50));
        let one = compose(&[frame(1.0, 7, 3, [9, 9, 9])], 0, (0, 0), true);
        assert_eq!(one.dimensions(), (1, 1));
        let odd = vec![
            frame(f64::INFINITY, 0, 0, [1, 2, 3]),
            frame(-5.0, 1, 9999, [1, 2, 3]),
            frame(7200.0, 333, 1, [1, 2, 3]),
        ];
        let img = compose(&odd, 2, (17, 11), true);
        assert_eq!(img.dimensions(), (2 * 17 + GAP, 2 * 11 + GAP));
        // Absurd cells are bounded.
        let big = compose(&odd, 3, (u32::MAX, u32::MAX), false);
        assert!(big.width() <= MAX_CANVAS_EDGE && big.height() <= MAX_CANVAS_EDGE);
    }

    #[test]
    fn a_storyboard_encodes_within_the_model_budget() {
        // Noise is the worst case for JPEG: the encoder must step down to fit.
        let mut seed = 0x2545_f491_u32;
        let frames: Vec<Frame> = (0..16)
            .map(|i| {
                let img = RgbImage::from_fn(1920, 1080, |_, _| {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    let b = seed.to_le_bytes();
                    Rgb([b[0], b[1], b[2]])
                });
                Frame {
                    pts: f64::from(i) * 10.0,
                    image: img,
                }
            })
            .collect();
        let (enc, grid) = render(&frames, (1920, 1080), None, true, None, &|| false).unwrap();
        assert!(
            enc.bytes.len() as u64 <= MODEL_MAX_BYTES,
            "{}",
            enc.bytes.len()
        );
        assert!(enc.width.max(enc.height) <= MODEL_LONG_EDGE);
        assert_eq!(enc.format, OutputFormat::Jpeg);
        assert!(grid.columns * grid.rows >= 16);
        let back = image::load_from_memory(&enc.bytes).unwrap();
        assert_eq!((back.width(), back.height()), (enc.width, enc.height));
    }

    #[test]
    fn even_times_are_the_middles_of_equal_parts() {
        assert_eq!(even_times(0.0, 8.0, 4), vec![1.0, 3.0, 5.0, 7.0]);
        assert_eq!(even_times(10.0, 10.0, 2), vec![10.0, 10.0]);
        assert!(even_times(0.0, 1.0, 0).is_empty());
    }
}
