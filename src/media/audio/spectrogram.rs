//! Spectrogram rendering: a PNG a vision model can read to "see" audio.
//!
//! Short-time FFT (Hann window of 2048 samples, real FFT via `realfft`) of the mono mix; one
//! image column per time step, rows spanning 0 Hz (bottom) to `max_hz` (top) on a linear
//! scale; magnitude in dB relative to full scale mapped from `floor_db`..0 dB onto the colour
//! map below. Faint grey tick lines mark every second (vertical) and every kHz (horizontal).
//!
//! Colour map (documented, piecewise linear through these points, low to high energy):
//! black (0,0,0) -> deep purple (60,15,110) -> magenta (180,40,120) -> orange (250,140,40)
//! -> pale yellow (255,250,200).

use super::AudioError;
use bytes::Bytes;
use realfft::RealFftPlanner;

/// FFT window length in samples.
pub const WINDOW: usize = 2048;
/// Largest image side, pixels.
pub const MAX_SIDE: u32 = 4096;

const STOPS: [(f32, [f32; 3]); 5] = [
    (0.0, [0.0, 0.0, 0.0]),
    (0.25, [60.0, 15.0, 110.0]),
    (0.5, [180.0, 40.0, 120.0]),
    (0.75, [250.0, 140.0, 40.0]),
    (1.0, [255.0, 250.0, 200.0]),
];

/// Colour of a value in 0..=1.
pub fn colour(v: f32) -> [u8; 3] {
    let v = v.clamp(0.0, 1.0);
    for w in STOPS.windows(2) {
        let [(a, ca), (b, cb)] = w else { continue };
        if v <= *b {
            let t = (v - a) / (b - a);
            let mut out = [0u8; 3];
            for ((o, x), y) in out.iter_mut().zip(ca).zip(cb) {
                *o = (x + (y - x) * t).round() as u8;
            }
            return out;
        }
    }
    [255, 250, 200]
}

/// Settings of one spectrogram.
#[derive(Clone, Debug)]
pub struct SpectrogramSpec {
    pub width: u32,
    pub height: u32,
    /// Highest frequency shown (clamped to Nyquist).
    pub max_hz: f32,
    /// Energy shown as black, dBFS (e.g. -90).
    pub floor_db: f32,
}

/// Renders mono `samples` at `rate`; returns PNG bytes and the frequency shown at the top.
pub fn render(
    samples: &[f32],
    rate: u32,
    spec: &SpectrogramSpec,
) -> Result<(Bytes, f32), AudioError> {
    let (w, h) = (
        spec.width.clamp(16, MAX_SIDE),
        spec.height.clamp(16, MAX_SIDE),
    );
    let nyquist = rate as f32 / 2.0;
    let max_hz = spec.max_hz.clamp(100.0, nyquist);
    let mut planner = RealFftPlanner::<f32>::new();
    let fft = planner.plan_fft_forward(WINDOW);
    let window: Vec<f32> = (0..WINDOW)
        .map(|i| 0.5 - 0.5 * (2.0 * std::f32::consts::PI * i as f32 / WINDOW as f32).cos())
        .collect();
    let norm = window.iter().sum::<f32>() / 2.0;
    let mut input = fft.make_input_vec();
    let mut output = fft.make_output_vec();
    let mut img = image::RgbImage::new(w, h);
    let bins = WINDOW / 2 + 1;
    for x in 0..w {
        // Window centred on this column's time.
        let centre = (x as f64 + 0.5) / f64::from(w) * samples.len() as f64;
        let start = centre as i64 - (WINDOW / 2) as i64;
        for (i, v) in input.iter_mut().enumerate() {
            let idx = start + i as i64;
            *v = usize::try_from(idx)
                .ok()
                .and_then(|j| samples.get(j))
                .map_or(0.0, |s| s * window.get(i).copied().unwrap_or(0.0));
        }
        fft.process(&mut input, &mut output)
            .map_err(|e| AudioError::Spectrogram(format!("fft: {e}")))?;
        for y in 0..h {
            // Row 0 is the top (max_hz).
            let lo = (f32::from(h as u16 - 1 - y as u16) / h as f32 * max_hz / nyquist
                * (bins - 1) as f32) as usize;
            let hi = ((f32::from(h as u16 - y as u16) / h as f32 * max_hz / nyquist
                * (bins - 1) as f32) as usize)
                .max(lo + 1)
                .min(bins);
            let mag = output
                .get(lo..hi)
                .unwrap_or_default()
                .iter()
                .map(|c| c.norm())
                .fold(0.0f32, f32::max)
                / norm;
            let db = 20.0 * mag.max(1e-9).log10();
            let v = (db - spec.floor_db) / -spec.floor_db;
            img.put_pixel(x, y, image::Rgb(colour(v)));
        }
    }
    // Ticks: every second along time, every kHz along frequency.
    let seconds = samples.len() as f32 / rate as f32;
    let grey = image::Rgb([128, 128, 128]);
    for s in 1..(seconds.ceil() as u32) {
        let x = (s as f32 / seconds * w as f32) as u32;
        if x < w {
            for y in (0..h).step_by(4) {
                img.put_pixel(x, y, grey);
            }
        }
    }
    for k in 1..((max_hz / 1000.0).ceil() as u32) {
        let y = h - 1 - (k as f32 * 1000.0 / max_hz * h as f32) as u32;
        if y < h {
            for x in (0..w).step_by(4) {
                img.put_pixel(x, y, grey);
            }
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| AudioError::Spectrogram(format!("png: {e}")))?;
    Ok((Bytes::from(png), max_hz))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tone_lights_up_its_row() {
        let rate = 16000;
        let tone: Vec<f32> = (0..rate * 2)
            .map(|i| (2.0 * std::f32::consts::PI * 2000.0 * i as f32 / rate as f32).sin() * 0.5)
            .collect();
        let spec = SpectrogramSpec {
            width: 100,
            height: 80,
            max_hz: 8000.0,
            floor_db: -90.0,
        };
        let (png, top) = render(&tone, rate, &spec).unwrap();
        assert_eq!(top, 8000.0);
        let img = image::load_from_memory(&png).unwrap().to_rgb8();
        // 2 kHz of 8 kHz is a quarter of the height from the bottom: row 60 of 80.
        let bright = |y: u32| {
            img.get_pixel(50, y)
                .0
                .iter()
                .map(|&c| u32::from(c))
                .sum::<u32>()
        };
        let row = (0..80).max_by_key(|&y| bright(y)).unwrap();
        assert!((58..=61).contains(&row), "brightest row {row}");
        assert!(bright(10) < bright(row) / 3);
        assert_eq!(colour(0.0), [0, 0, 0]);
        assert_eq!(colour(1.0), [255, 250, 200]);
    }
}
