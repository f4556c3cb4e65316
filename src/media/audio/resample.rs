//! Streaming resampling with rubato's FFT resampler, and the checks that keep a pair of rates
//! affordable. Input is pushed in blocks of any size and output handed on as it is made; the
//! result equals resampling the whole clip at once (`Resampler::process_all`: start-up delay
//! trimmed, `ceil(ratio * input)` frames), while only about one resampler chunk of input is
//! held. Must not know about files, containers, output formats or MCP.

use super::{AudioError, MAX_RESAMPLE_BLOCK, MAX_RESAMPLE_RATIO, MAX_SAMPLE_RATE, MIN_SAMPLE_RATE};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Most samples a resampler may hold (its input and output buffers, all channels): 1 Mi
/// samples, 4 MiB. Only many channels resampled by a large ratio come near it.
pub const MAX_RESAMPLER_SAMPLES: usize = 1024 * 1024;

/// Input frames per resampler call (rubato rounds it up to a multiple of the pair's block).
const CHUNK_FRAMES: usize = 1024;

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Refuses an output rate outside [`MIN_SAMPLE_RATE`]..=[`MAX_SAMPLE_RATE`] and a pair of rates
/// whose ratio exceeds [`MAX_RESAMPLE_RATIO`] or whose block exceeds [`MAX_RESAMPLE_BLOCK`].
/// Equal rates always pass (nothing is resampled).
pub fn check_rates(from: u32, to: u32) -> Result<(), AudioError> {
    if from == to {
        return Ok(());
    }
    if !(MIN_SAMPLE_RATE..=MAX_SAMPLE_RATE).contains(&to) {
        return Err(AudioError::BadSampleRate(to));
    }
    let (hi, lo) = (u64::from(from.max(to)), u64::from(from.min(to)));
    if lo == 0 || hi > lo * u64::from(MAX_RESAMPLE_RATIO) {
        return Err(AudioError::ResampleRatio { from, to });
    }
    let g = gcd(hi, lo);
    let block = hi / g;
    if block > u64::from(MAX_RESAMPLE_BLOCK) {
        return Err(AudioError::ResampleBlock { from, to, block });
    }
    Ok(())
}

struct State {
    r: Fft<f32>,
    /// Interleaved input not yet resampled (less than one chunk between pushes).
    fifo: Vec<f32>,
    /// Output of one call.
    out: Vec<f32>,
    /// Output frames still to drop (the resampler's delay).
    to_trim: usize,
}

/// A resampler fed block by block. With equal rates it passes samples through.
pub struct StreamResampler {
    channels: usize,
    ratio: f64,
    state: Option<State>,
    /// Input frames pushed so far.
    pushed: usize,
    /// Output frames handed on so far.
    emitted: usize,
    /// Output frames handed on beyond `ceil(ratio * pushed)`: the delay, when a stream is
    /// joined mid-way and its delay is not trimmed ([`StreamResampler::aligned`]).
    extra: usize,
}

/// Where a resampler joining a stream mid-way starts ([`StreamResampler::aligned`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Alignment {
    /// The input frame (of the whole stream) to push first.
    pub input_frame: u64,
    /// The index, on the whole stream's output, of the first frame handed on.
    pub output_frame: u64,
}

/// Input and output frames of one FFT unit of the resampler `StreamResampler::new` makes, as
/// rubato 5's `Fft::new` sizes it.
fn fft_unit(from: u32, to: u32) -> (u64, u64) {
    let g = gcd(u64::from(from), u64::from(to));
    let (block_in, block_out) = (u64::from(from) / g, u64::from(to) / g);
    let sub_chunks = (CHUNK_FRAMES / 256).max(1) as u64;
    let units = (CHUNK_FRAMES as u64 / sub_chunks).div_ceil(block_in).max(1);
    (units * block_in, units * block_out)
}

fn rerr(e: impl std::fmt::Display) -> AudioError {
    AudioError::Resample(e.to_string())
}

impl StreamResampler {
    pub fn new(from: u32, to: u32, channels: usize) -> Result<Self, AudioError> {
        check_rates(from, to)?;
        let channels = channels.max(1);
        let state = if from == to {
            None
        } else {
            let r = Fft::<f32>::new(
                from as usize,
                to as usize,
                CHUNK_FRAMES,
                channels,
                FixedSync::Input,
            )
            .map_err(rerr)?;
            let fifo = r.input_frames_max() * channels * 2;
            let out = r.output_frames_max() * channels;
            if fifo + out > MAX_RESAMPLER_SAMPLES {
                return Err(AudioError::ResampleBuffer {
                    from,
                    to,
                    channels,
                    samples: fifo + out,
                });
            }
            Some(State {
                fifo: Vec::with_capacity(fifo),
                out: vec![0.0; out],
                to_trim: r.output_delay(),
                r,
            })
        };
        Ok(StreamResampler {
            channels,
            ratio: f64::from(to) / f64::from(from),
            state,
            pushed: 0,
            emitted: 0,
            extra: 0,
        })
    }

    /// A resampler that joins a stream so that its output from `target` on (an index on the
    /// whole stream's output, as a resampler fed from frame 0 numbers it) is identical, sample
    /// for sample, to what that resampler makes: it starts on a boundary of the whole stream's
    /// resampler chunks, `preroll_chunks` chunks before the one that makes `target`, and
    /// hands on everything from there (the caller drops what precedes `target`). The FFT
    /// resampler's state after a chunk depends only on the last chunks it read, so once the
    /// pre-roll is through, both compute the same thing on the same numbers. With equal rates
    /// the input frame is `target` itself.
    pub fn aligned(
        from: u32,
        to: u32,
        channels: usize,
        target: u64,
        preroll_chunks: u64,
    ) -> Result<(Self, Alignment), AudioError> {
        let mut r = Self::new(from, to, channels)?;
        let Some(st) = r.state.as_mut() else {
            return Ok((
                r,
                Alignment {
                    input_frame: target,
                    output_frame: target,
                },
            ));
        };
        // The FFT unit: input N and output M frames, processed in turn from the stream's
        // start whatever the calls' sizes (rubato's `Fft::new`: sub-chunks of about
        // CHUNK_FRAMES / 4 frames rounded up to the pair's block; the test below checks it).
        let (n, m) = fft_unit(from, to);
        let delay = st.r.output_delay() as u64;
        let chunk = ((target + delay) / m.max(1)).saturating_sub(preroll_chunks);
        if chunk == 0 || chunk * m < delay {
            // From the start: this is the whole stream's resampler.
            return Ok((
                r,
                Alignment {
                    input_frame: 0,
                    output_frame: 0,
                },
            ));
        }
        // Nothing trimmed: raw output k of chunk `chunk` on is output chunk * M - delay + k.
        st.to_trim = 0;
        r.extra = delay as usize;
        Ok((
            r,
            Alignment {
                input_frame: chunk * n,
                output_frame: chunk * m - delay,
            },
        ))
    }

    /// Samples this resampler holds (capacity of its input and output buffers).
    pub fn buffered_samples(&self) -> usize {
        self.state
            .as_ref()
            .map_or(0, |s| s.fifo.capacity() + s.out.capacity())
    }

    /// Resamples interleaved `input`, handing finished output to `emit`.
    pub fn push(
        &mut self,
        input: &[f32],
        emit: &mut dyn FnMut(&[f32]) -> Result<(), AudioError>,
    ) -> Result<(), AudioError> {
        let ch = self.channels;
        self.pushed += input.len() / ch;
        let Some(st) = self.state.as_mut() else {
            self.emitted += input.len() / ch;
            return emit(input);
        };
        st.fifo.extend_from_slice(input);
        // As process_all does: whole chunks while more than one chunk is left. The consumed
        // front is dropped once per push (one move of less than a chunk), not per chunk.
        let mut pos = 0;
        while st.fifo.len() / ch - pos > st.r.input_frames_next() {
            let (used, made) = Self::process(st, ch, pos, None)?;
            pos += used;
            Self::hand_on(st, ch, made, None, &mut self.emitted, emit)?;
        }
        st.fifo.drain(..(pos * ch).min(st.fifo.len()));
        Ok(())
    }

    /// Flushes the rest: `ceil(ratio * input)` frames in all.
    pub fn finish(
        mut self,
        emit: &mut dyn FnMut(&[f32]) -> Result<(), AudioError>,
    ) -> Result<(), AudioError> {
        let ch = self.channels;
        let Some(st) = self.state.as_mut() else {
            return Ok(());
        };
        let expected = (self.ratio * self.pushed as f64).ceil() as usize + self.extra;
        let left = st.fifo.len() / ch;
        if left > 0 {
            let (_, made) = Self::process(st, ch, 0, Some(left))?;
            st.fifo.clear();
            Self::hand_on(st, ch, made, Some(expected), &mut self.emitted, emit)?;
        }
        while self.emitted < expected {
            let (_, made) = Self::process(st, ch, 0, Some(0))?;
            if made == 0 {
                return Err(AudioError::Resample("the resampler made no output".into()));
            }
            Self::hand_on(st, ch, made, Some(expected), &mut self.emitted, emit)?;
        }
        Ok(())
    }

    /// One resampler call on the fifo from frame `pos` on.
    fn process(
        st: &mut State,
        ch: usize,
        pos: usize,
        partial: Option<usize>,
    ) -> Result<(usize, usize), AudioError> {
        let frames = (st.fifo.len() / ch).saturating_sub(pos);
        let fifo = st
            .fifo
            .get(pos * ch..(pos + frames) * ch)
            .unwrap_or_default();
        let input = InterleavedSlice::new(fifo, ch, frames).map_err(rerr)?;
        let out_frames = st.out.len() / ch;
        let mut output =
            InterleavedSlice::new_mut(st.out.as_mut_slice(), ch, out_frames).map_err(rerr)?;
        let indexing = Indexing {
            partial_len: partial,
            ..Default::default()
        };
        st.r.process_into_buffer(&input, &mut output, Some(&indexing))
            .map_err(rerr)
    }

    /// Hands on `made` frames of `st.out`, first dropping the delay still to trim and stopping
    /// at `cap` frames in all.
    fn hand_on(
        st: &mut State,
        ch: usize,
        made: usize,
        cap: Option<usize>,
        emitted: &mut usize,
        emit: &mut dyn FnMut(&[f32]) -> Result<(), AudioError>,
    ) -> Result<(), AudioError> {
        let drop = st.to_trim.min(made);
        st.to_trim -= drop;
        let mut frames = made - drop;
        if let Some(cap) = cap {
            frames = frames.min(cap.saturating_sub(*emitted));
        }
        let Some(out) = st.out.get(drop * ch..(drop + frames) * ch) else {
            return Err(AudioError::Resample("output longer than its buffer".into()));
        };
        *emitted += frames;
        if out.is_empty() {
            return Ok(());
        }
        emit(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn whole(samples: &[f32], ch: usize, from: u32, to: u32) -> Vec<f32> {
        let mut r = Fft::<f32>::new(
            from as usize,
            to as usize,
            CHUNK_FRAMES,
            ch,
            FixedSync::Input,
        )
        .unwrap();
        let frames = samples.len() / ch;
        let input = InterleavedSlice::new(samples, ch, frames).unwrap();
        r.process_all(&input, frames, None).unwrap().take_data()
    }

    /// Everything `r` hands on for `input` pushed in pieces of `block` frames, then finished.
    fn stream(mut r: StreamResampler, input: &[f32], ch: usize, block: usize) -> Vec<f32> {
        let mut got = vec![];
        for piece in input.chunks(block * ch) {
            r.push(piece, &mut |o| {
                got.extend_from_slice(o);
                Ok(())
            })
            .unwrap();
        }
        r.finish(&mut |o| {
            got.extend_from_slice(o);
            Ok(())
        })
        .unwrap();
        got
    }

    #[test]
    fn blockwise_equals_whole_clip() {
        let ch = 2;
        let input: Vec<f32> = (0..44_100 * ch + 37)
            .map(|i| ((i as f32) * 0.013).sin() * 0.5)
            .collect();
        let input = &input[..input.len() / ch * ch];
        for (from, to) in [(44_100, 16_000), (16_000, 48_000), (48_000, 44_100)] {
            let expect = whole(input, ch, from, to);
            for block in [1usize, 100, 1023, 1024, 1025, 5000, 100_000] {
                let r = StreamResampler::new(from, to, ch).unwrap();
                let got = stream(r, input, ch, block);
                assert_eq!(got, expect, "{from} -> {to}, blocks of {block}");
            }
        }
    }

    #[test]
    fn a_stream_joined_mid_way_is_sample_exact_from_its_target_on() {
        let ch = 2;
        let input: Vec<f32> = (0..3 * 44_100 * ch)
            .map(|i| ((i as f32) * 0.0071).sin() * 0.4 + ((i as f32) * 0.113).cos() * 0.1)
            .collect();
        for (from, to) in [
            (44_100, 16_000),
            (16_000, 48_000),
            (48_000, 44_100),
            (22_050, 22_050),
        ] {
            let expect = whole(&input, ch, from, to);
            let expect = if from == to { input.clone() } else { expect };
            for target in [0u64, 1, 777, 1024, 5000, 16_001, 40_000] {
                let (r, at) = StreamResampler::aligned(from, to, ch, target, 2).unwrap();
                assert!(
                    at.output_frame <= target,
                    "{from}->{to} at {target}: {at:?}"
                );
                let start = (at.input_frame as usize * ch).min(input.len());
                let got = stream(r, &input[start..], ch, 3000);
                let skip = (target - at.output_frame) as usize * ch;
                let from_target = &expect[(target as usize * ch).min(expect.len())..];
                let got = got.get(skip..).unwrap_or_default();
                let first_diff = got.iter().zip(from_target).position(|(a, b)| a != b);
                assert!(
                    got.len() == from_target.len() && first_diff.is_none(),
                    "{from} -> {to} from output frame {target} (joined at input {}, output {}): lengths {} vs {}, first difference at sample {first_diff:?}",
                    at.input_frame,
                    at.output_frame,
                    got.len(),
                    from_target.len()
                );
            }
        }
    }

    #[test]
    fn costly_rate_pairs_are_refused_by_name() {
        assert!(check_rates(44_100, 16_000).is_ok());
        assert!(check_rates(1_000, 8_000).is_ok());
        assert!(check_rates(768_000, 8_000).is_ok());
        assert!(check_rates(1, 1).is_ok());
        assert!(matches!(
            check_rates(1, 16_000),
            Err(AudioError::ResampleRatio {
                from: 1,
                to: 16_000
            })
        ));
        assert!(matches!(
            check_rates(1_000, 384_000),
            Err(AudioError::ResampleRatio { .. })
        ));
        assert!(matches!(
            check_rates(1_001, 48_000),
            Err(AudioError::ResampleBlock { block: 48_000, .. })
        ));
        assert!(matches!(
            check_rates(44_100, 400_000),
            Err(AudioError::BadSampleRate(400_000))
        ));
        let msg = check_rates(1, 384_000).unwrap_err().to_string();
        assert!(msg.contains(&MAX_RESAMPLE_RATIO.to_string()), "{msg}");
    }
}
