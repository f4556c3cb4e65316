//! Criterion benches of the audio hot path on the bundled samples (3 s, stereo, 44.1 kHz):
//! decode only, and decode + downmix + resample to 16 kHz + WAV (the `audio_transcode` chunk),
//! per source format. Throughput is in seconds of audio per second (x realtime = thrpt / 1).

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_media::media::audio::decode::Decoder;
use mcp_media::media::audio::segment::{Format, SegmentSpec, render};
use std::hint::black_box;
use std::path::PathBuf;

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("samples/audio")
        .join(name)
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("audio");
    g.sample_size(20);
    // Throughput in "bytes" = milliseconds of audio, so criterion's B/s reads as ms/s.
    g.throughput(Throughput::Bytes(3000));
    for name in ["tone.flac", "tone.mp3", "tone.m4a", "tone.ogg", "tone.opus"] {
        let path = sample(name);
        let ext = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
        g.bench_with_input(BenchmarkId::new("decode", name), &path, |b, p| {
            b.iter(|| {
                let mut d =
                    Decoder::open(Box::new(std::fs::File::open(p).unwrap()), ext.as_deref())
                        .unwrap();
                let mut out = Vec::new();
                while d.read(48_000, &mut out).unwrap() > 0 {}
                black_box(out.len())
            })
        });
        g.bench_with_input(BenchmarkId::new("to_16k_mono_wav", name), &path, |b, p| {
            let spec = SegmentSpec {
                start: 0.0,
                duration: Some(3.0),
                format: Format::Wav,
                rate: Some(16000),
                mono: true,
            };
            b.iter(|| {
                black_box(
                    render(
                        Box::new(std::fs::File::open(p).unwrap()),
                        ext.as_deref(),
                        &spec,
                        &|| false,
                    )
                    .unwrap()
                    .data
                    .len(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
