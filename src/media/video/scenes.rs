//! Scene changes: a cheap difference between consecutive small frames from a scan
//! ([`super::scan`], [`SCAN_BOX`] frames a few times a second), thresholded and thinned.
//! Must not know about decoding or the tools.
//!
//! The score of a pair of samples: their difference `d` is the mean of the colour histogram
//! distance (total variation between soft-binned 16-bin histograms of R, G and B, averaged
//! over the channels, 0..1) and the mean absolute pixel
//! difference (over R, G and B, scaled by [`PIXEL_GAIN`] and capped at 1); the score is how
//! far `d` stands above the larger of its neighbours' (the pair before and the pair after;
//! ffmpeg's `scene` score compares with the pair before only): a cut is an isolated step,
//! while a fade or steady motion changes each pair about as much as its neighbours, and
//! noise changes little.
//! Scores are in 0..1; a cut between unrelated shots scores 0.5 and above.

use super::{Frame, VideoCtx, VideoError, VideoInfo, VideoInput};
use image::RgbImage;

/// The box scan frames fit in (aspect kept: 64x36 for 16:9).
pub const SCAN_BOX: (u32, u32) = (64, 64);
/// Default score above which a pair is a cut.
pub const DEFAULT_THRESHOLD: f64 = 0.3;
/// Default most scenes returned (the highest scores).
pub const DEFAULT_MAX: usize = 100;
/// Default seconds between samples: 4 a second.
pub const DEFAULT_INTERVAL: f64 = 0.25;
/// Default least seconds between two cuts (the higher score wins).
pub const DEFAULT_MIN_GAP: f64 = 1.0;
/// Most samples one detection takes by default: longer videos are sampled less often
/// (see [`interval_for`]).
pub const MAX_SAMPLES: f64 = 2400.0;
/// A mean absolute difference of 1/`PIXEL_GAIN` of full range counts as complete change.
pub const PIXEL_GAIN: f64 = 2.0;
/// Histogram bins per channel.
const BINS: usize = 16;

/// A cut: `time` is the presentation time of the first sample after it (the cut lies within
/// one sample interval before it), `score` its strength (0..1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scene {
    pub time: f64,
    pub score: f64,
}

/// What counts as a cut and how many are reported.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Options {
    /// Score above which a pair is a cut, in 0..=1.
    pub threshold: f64,
    /// Most cuts reported (the highest scores, then in time order).
    pub max: usize,
    /// Least seconds between two reported cuts.
    pub min_gap: f64,
    /// Seconds between samples (`None`: [`interval_for`] the duration).
    pub interval: Option<f64>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threshold: DEFAULT_THRESHOLD,
            max: DEFAULT_MAX,
            min_gap: DEFAULT_MIN_GAP,
            interval: None,
        }
    }
}

/// The sample interval for a video of `duration` seconds: [`DEFAULT_INTERVAL`], or longer so
/// that at most [`MAX_SAMPLES`] samples are taken.
pub fn interval_for(duration: f64) -> f64 {
    if duration.is_finite() && duration > 0.0 {
        DEFAULT_INTERVAL.max(duration / MAX_SAMPLES)
    } else {
        DEFAULT_INTERVAL
    }
}

/// What a sample is reduced to.
struct Features {
    /// Normalised colour histogram.
    hist: [[f64; BINS]; 3],
    /// The pixels (for the absolute difference).
    pixels: RgbImage,
}

fn features(img: &RgbImage) -> Features {
    // Soft binning: a value between two bin centres is shared between them in proportion,
    // so the histogram moves smoothly as values do (a dissolve does not flip whole bins).
    let mut hist = [[0.0f64; BINS]; 3];
    let width = 256.0 / BINS as f64;
    for p in img.pixels() {
        for (h, &c) in hist.iter_mut().zip(&p.0) {
            let pos = (f64::from(c) / width - 0.5).clamp(0.0, (BINS - 1) as f64);
            // Within 0..BINS-1 by the clamp: the cast is exact.
            let lo = pos.floor() as usize;
            let frac = pos - pos.floor();
            if let Some(b) = h.get_mut(lo) {
                *b += 1.0 - frac;
            }
            if let Some(b) = h.get_mut(lo + 1) {
                *b += frac;
            }
        }
    }
    let total = f64::from(img.width()) * f64::from(img.height());
    if total > 0.0 {
        for b in hist.iter_mut().flatten() {
            *b /= total;
        }
    }
    Features {
        hist,
        pixels: img.clone(),
    }
}

/// The difference `d` of two samples, in 0..1 (see the module doc). Samples of different
/// sizes (a resolution change mid-stream) compare by histogram only.
fn difference(a: &Features, b: &Features) -> f64 {
    let hist: f64 = a
        .hist
        .iter()
        .flatten()
        .zip(b.hist.iter().flatten())
        .map(|(x, y)| (x - y).abs())
        .sum::<f64>()
        / 6.0;
    if a.pixels.dimensions() != b.pixels.dimensions() || a.pixels.is_empty() {
        return hist.clamp(0.0, 1.0);
    }
    let sum: u64 = a
        .pixels
        .as_raw()
        .iter()
        .zip(b.pixels.as_raw())
        .map(|(&x, &y)| u64::from(x.abs_diff(y)))
        .sum();
    let mad = sum as f64 / (a.pixels.as_raw().len() as f64 * 255.0);
    ((hist + (mad * PIXEL_GAIN).min(1.0)) / 2.0).clamp(0.0, 1.0)
}

/// Scores consecutive samples as they come (see the module doc).
#[derive(Default)]
pub struct Detector {
    prev: Option<Features>,
    /// (time of the later sample, difference `d`) for each pair.
    diffs: Vec<(f64, f64)>,
}

impl Detector {
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the next sample (in time order).
    pub fn push(&mut self, frame: &Frame) {
        let f = features(&frame.image);
        if let Some(prev) = &self.prev {
            self.diffs.push((frame.pts, difference(prev, &f)));
        }
        self.prev = Some(f);
    }

    /// Every pair's (time of its later sample, score): how far its difference stands above
    /// its neighbours' (the larger of the pair before and the pair after), 0 when it does
    /// not.
    pub fn scores(&self) -> Vec<(f64, f64)> {
        let d = |i: Option<usize>| i.and_then(|i| self.diffs.get(i)).map_or(0.0, |p| p.1);
        (0..self.diffs.len())
            .filter_map(|i| {
                let &(t, here) = self.diffs.get(i)?;
                let around = d(i.checked_sub(1)).max(d(Some(i + 1)));
                Some((t, (here - around).clamp(0.0, 1.0)))
            })
            .collect()
    }

    /// The cuts: pairs scoring above `opts.threshold`, thinned (the highest score first; a
    /// cut within `opts.min_gap` seconds of a kept one is dropped) and capped at `opts.max`,
    /// in time order.
    pub fn cuts(&self, opts: &Options) -> Vec<Scene> {
        thin(&self.scores(), opts)
    }
}

/// See [`Detector::cuts`].
pub fn thin(scores: &[(f64, f64)], opts: &Options) -> Vec<Scene> {
    let mut candidates: Vec<Scene> = scores
        .iter()
        .filter(|&&(_, s)| s > opts.threshold)
        .map(|&(time, score)| Scene { time, score })
        .collect();
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.time.total_cmp(&b.time)));
    let mut kept: Vec<Scene> = Vec::new();
    for c in candidates {
        if kept.len() >= opts.max {
            break;
        }
        if kept.iter().all(|k| (k.time - c.time).abs() >= opts.min_gap) {
            kept.push(c);
        }
    }
    kept.sort_by(|a, b| a.time.total_cmp(&b.time));
    kept
}

/// Checks a request's options (threshold within 0..=1, max at least 1, a positive finite
/// interval and a non-negative gap).
pub fn validate(opts: &Options) -> Result<(), VideoError> {
    let bad = |m: String| Err(VideoError::InvalidRequest(m));
    if !(0.0..=1.0).contains(&opts.threshold) {
        return bad(format!(
            "threshold must be within 0..1 (got {})",
            opts.threshold
        ));
    }
    if opts.max == 0 {
        return bad("max must be at least 1".into());
    }
    if !(opts.min_gap.is_finite() && opts.min_gap >= 0.0) {
        return bad(format!("min_gap must be >= 0 (got {})", opts.min_gap));
    }
    if let Some(i) = opts.interval
        && !(i.is_finite() && i > 0.0)
    {
        return bad(format!("the sample interval must be > 0 (got {i})"));
    }
    Ok(())
}

/// The cuts of a video's first picture track over `range` (seconds; `None`: the whole
/// video, which must then have a known duration), sampled by [`super::scan`].
/// `on_progress(done, total)` hears the seconds of the range scanned so far, after each frame.
#[allow(clippy::too_many_arguments)]
pub fn detect(
    input: &VideoInput,
    info: &VideoInfo,
    range: Option<(f64, f64)>,
    opts: &Options,
    ctx: &VideoCtx,
    cancelled: &dyn Fn() -> bool,
    on_progress: &mut dyn FnMut(f64, f64),
) -> Result<Vec<Scene>, VideoError> {
    validate(opts)?;
    let range = match range {
        Some(r) => r,
        None => {
            let d = info
                .duration
                .or_else(|| info.video.first().and_then(|t| t.duration))
                .ok_or_else(|| VideoError::Unsupported("the video's duration is unknown".into()))?;
            (0.0, d)
        }
    };
    if !(range.0.is_finite() && range.1.is_finite() && range.0 >= 0.0 && range.1 > range.0) {
        return Err(VideoError::InvalidRequest(format!(
            "the range must be start < end within the video (got {} to {})",
            range.0, range.1
        )));
    }
    let interval = opts
        .interval
        .unwrap_or_else(|| interval_for(range.1 - range.0));
    let mut det = Detector::new();
    super::scan(
        input,
        info,
        range,
        interval,
        SCAN_BOX,
        ctx,
        cancelled,
        &mut |_, f| {
            let done = (f.pts - range.0).clamp(0.0, range.1 - range.0);
            det.push(&f);
            on_progress(done, range.1 - range.0);
            Ok(())
        },
    )?;
    Ok(det.cuts(opts))
}

#[cfg(test)]
#[allow(clippy::indexing_slicing, clippy::unwrap_used)]
mod tests {
    use super::*;
    use image::Rgb;

    /// A textured picture: a diagonal gradient with stripes, in a colour scheme per `kind`.
    fn picture(kind: u32) -> RgbImage {
        RgbImage::from_fn(64, 36, |x, y| {
            let v = ((x * 4 + y * 3) % 256) as u8;
            let stripe = if (x / 8 + y / 6 + kind).is_multiple_of(2) {
                60
            } else {
                0
            };
            match kind % 3 {
                0 => Rgb([v, v / 2 + stripe, 40]),
                1 => Rgb([255 - v, 30 + stripe, v / 3]),
                _ => Rgb([stripe * 2, 255 - v, v]),
            }
        })
    }

    fn blend(a: &RgbImage, b: &RgbImage, t: f64) -> RgbImage {
        RgbImage::from_fn(a.width(), a.height(), |x, y| {
            let (p, q) = (a.get_pixel(x, y).0, b.get_pixel(x, y).0);
            Rgb(std::array::from_fn(|i| {
                (f64::from(p[i]) * (1.0 - t) + f64::from(q[i]) * t).round() as u8
            }))
        })
    }

    /// Adds uniform noise of +-`amp` from a fixed seed.
    fn noisy(img: &RgbImage, amp: i32, seed: &mut u32) -> RgbImage {
        let mut out = img.clone();
        for p in out.pixels_mut() {
            for c in &mut p.0 {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 17;
                *seed ^= *seed << 5;
                let n = (*seed % (2 * amp as u32 + 1)) as i32 - amp;
                *c = (i32::from(*c) + n).clamp(0, 255) as u8;
            }
        }
        out
    }

    fn run(images: &[RgbImage], interval: f64) -> Detector {
        let mut det = Detector::new();
        for (i, img) in images.iter().enumerate() {
            det.push(&Frame {
                pts: i as f64 * interval,
                image: img.clone(),
            });
        }
        det
    }

    #[test]
    fn a_hard_cut_is_found_at_the_first_sample_after_it() {
        // 8 samples of one shot, then 8 of another: the cut is before sample 8 (t = 2.0 s).
        let (a, b) = (picture(0), picture(1));
        let mut images = vec![a.clone(); 8];
        images.extend(vec![b; 8]);
        let det = run(&images, 0.25);
        let cuts = det.cuts(&Options::default());
        assert_eq!(cuts.len(), 1, "{:?}", det.scores());
        assert_eq!(cuts[0].time, 2.0);
        assert!(cuts[0].score >= 0.5, "{cuts:?}");
        // Every other pair scores zero.
        let scores = det.scores();
        let others: Vec<_> = scores.iter().filter(|s| s.0 != 2.0).collect();
        assert!(others.iter().all(|s| s.1 == 0.0), "{others:?}");
    }

    #[test]
    fn noise_does_not_count_as_a_cut() {
        let mut seed = 0x9e37_79b9;
        let a = picture(2);
        let images: Vec<_> = (0..20).map(|_| noisy(&a, 24, &mut seed)).collect();
        let det = run(&images, 0.25);
        let max = det.scores().iter().map(|s| s.1).fold(0.0, f64::max);
        assert!(max < DEFAULT_THRESHOLD / 2.0, "noise scored {max}");
        assert!(det.cuts(&Options::default()).is_empty());
    }

    #[test]
    fn a_fade_is_not_a_cut_but_the_same_change_at_once_is() {
        // A cross-fade over 2 s and over 1 s (8 and 4 samples at 4/s) from one shot to
        // another, and fades to black as long: each step changes as much as its neighbours.
        let (a, b) = (picture(0), picture(1));
        let black = RgbImage::new(64, 36);
        for (target, steps) in [(&b, 8), (&black, 8), (&b, 4), (&black, 4)] {
            let mut images = vec![a.clone(); 4];
            images.extend((1..=steps).map(|k| blend(&a, target, f64::from(k) / f64::from(steps))));
            images.extend(vec![target.clone(); 4]);
            let det = run(&images, 0.25);
            assert!(
                det.cuts(&Options::default()).is_empty(),
                "{:?}",
                det.scores()
            );
        }
        // The same two shots cut directly: found.
        let det = run(&[a.clone(), a, black.clone(), black], 0.25);
        assert_eq!(det.cuts(&Options::default()).len(), 1, "{:?}", det.scores());
    }

    #[test]
    fn thinning_keeps_the_strongest_cut_within_the_gap_and_caps_the_count() {
        let scores = [(1.0, 0.5), (1.25, 0.9), (3.0, 0.4), (5.0, 0.2), (7.0, 0.8)];
        let opts = Options::default();
        let times: Vec<f64> = thin(&scores, &opts).iter().map(|s| s.time).collect();
        assert_eq!(times, vec![1.25, 3.0, 7.0]);
        let two = Options { max: 2, ..opts };
        let times: Vec<f64> = thin(&scores, &two).iter().map(|s| s.time).collect();
        assert_eq!(times, vec![1.25, 7.0]);
        let no_gap = Options {
            min_gap: 0.0,
            threshold: 0.1,
            ..opts
        };
        assert_eq!(thin(&scores, &no_gap).len(), 5);
    }

    #[test]
    fn odd_samples_do_not_panic() {
        let mut det = Detector::new();
        for (i, (w, h)) in [(0, 0), (1, 1), (64, 36), (36, 64), (0, 5), (64, 36)]
            .into_iter()
            .enumerate()
        {
            det.push(&Frame {
                pts: i as f64,
                image: RgbImage::new(w, h),
            });
        }
        assert_eq!(det.scores().len(), 5);
        assert!(det.scores().iter().all(|s| (0.0..=1.0).contains(&s.1)));
    }

    #[test]
    fn bad_options_are_refused() {
        for opts in [
            Options {
                threshold: 1.5,
                ..Options::default()
            },
            Options {
                threshold: f64::NAN,
                ..Options::default()
            },
            Options {
                max: 0,
                ..Options::default()
            },
            Options {
                interval: Some(0.0),
                ..Options::default()
            },
            Options {
                min_gap: -1.0,
                ..Options::default()
            },
        ] {
            assert!(
                matches!(validate(&opts), Err(VideoError::InvalidRequest(_))),
                "{opts:?}"
            );
        }
        assert!(validate(&Options::default()).is_ok());
        assert_eq!(interval_for(60.0), DEFAULT_INTERVAL);
        assert_eq!(interval_for(7200.0), 3.0);
    }
}
