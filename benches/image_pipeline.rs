//! Criterion benches of the image hot path without decoding (decoding is the decode module's
//! bench): resize alone, fast_image_resize against `image::imageops::resize` (same filter
//! families) for 4000x3000 -> 1568x1176, on a photo-like RGB image and a PNG-like RGBA one;
//! JPEG encode, jpeg-encoder against image's JpegEncoder; PNG encode at the level we use
//! (Fast) and the default (Balanced); and our transform + encode for the model default.
//! Output sizes are printed once to stderr (criterion reports times only).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::codecs::png::{CompressionType, PngEncoder};
use image::{DynamicImage, ImageEncoder, Rgb, RgbImage, Rgba, RgbaImage, imageops};
use mcp_media::media::image::decode::DecodeOptions;
use mcp_media::media::image::{OutputFormat, TransformSpec, encode, ops, pipeline};
use std::hint::black_box;

const SRC: (u32, u32) = (4000, 3000);
const DST: (u32, u32) = (1568, 1176);

/// Photo-like: smooth gradients and deterministic noise.
fn photo() -> DynamicImage {
    let mut seed = 1u32;
    DynamicImage::ImageRgb8(RgbImage::from_fn(SRC.0, SRC.1, |x, y| {
        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        let n = (seed >> 28) as u8;
        Rgb([
            ((x * 255 / SRC.0) as u8).wrapping_add(n),
            ((y * 255 / SRC.1) as u8).wrapping_add(n),
            ((((x / 40) ^ (y / 40)) & 0x3f) as u8 * 3).wrapping_add(n),
        ])
    }))
}

/// PNG-like: flat shapes with transparency (a UI capture with rounded panels).
fn graphic() -> DynamicImage {
    DynamicImage::ImageRgba8(RgbaImage::from_fn(SRC.0, SRC.1, |x, y| {
        let (cx, cy) = (x % 500, y % 400);
        let inside = cx > 30 && cx < 470 && cy > 30 && cy < 370;
        let disc = (i64::from(cx) - 250).pow(2) + (i64::from(cy) - 200).pow(2) < 120 * 120;
        match (inside, disc) {
            (_, true) => Rgba([30, 120, 220, 255]),
            (true, false) => Rgba([250, 250, 250, 230]),
            _ => Rgba([0, 0, 0, 0]),
        }
    }))
}

fn fir(img: &DynamicImage, filter: FilterType) -> DynamicImage {
    let mut dst = DynamicImage::new(DST.0, DST.1, img.color());
    Resizer::new()
        .resize(
            img,
            &mut dst,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter)),
        )
        .unwrap();
    dst
}

fn png(img: &DynamicImage, level: CompressionType) -> Vec<u8> {
    let mut out = Vec::new();
    let rgba = img.to_rgba8();
    PngEncoder::new_with_quality(&mut out, level, image::codecs::png::FilterType::Adaptive)
        .write_image(
            rgba.as_raw(),
            rgba.width(),
            rgba.height(),
            image::ExtendedColorType::Rgba8,
        )
        .unwrap();
    out
}

fn jpeg_image_crate(img: &DynamicImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let rgb = img.to_rgb8();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, q)
        .write_image(
            rgb.as_raw(),
            rgb.width(),
            rgb.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn jpeg_nearest_chroma(img: &DynamicImage, q: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let rgb = img.to_rgb8();
    jpeg_encoder::Encoder::new(&mut out, q)
        .encode(
            rgb.as_raw(),
            rgb.width() as u16,
            rgb.height() as u16,
            jpeg_encoder::ColorType::Rgb,
        )
        .unwrap();
    out
}

fn bench(c: &mut Criterion) {
    let inputs = [("rgb_photo", photo()), ("rgba_graphic", graphic())];

    let mut g = c.benchmark_group("resize_4000x3000_to_1568x1176");
    for (name, img) in &inputs {
        // Ours: ops::resample, fast_image_resize Lanczos3.
        g.bench_with_input(BenchmarkId::new("fir_lanczos3_ops", name), img, |b, i| {
            let region = (0.0, 0.0, f64::from(SRC.0), f64::from(SRC.1));
            b.iter(|| black_box(ops::resample(i, region, DST).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("fir_catmullrom", name), img, |b, i| {
            b.iter(|| black_box(fir(i, FilterType::CatmullRom)))
        });
        for (fname, filter) in [
            ("imageops_lanczos3", imageops::FilterType::Lanczos3),
            ("imageops_catmullrom", imageops::FilterType::CatmullRom),
        ] {
            g.bench_with_input(BenchmarkId::new(fname, name), img, |b, i| {
                b.iter(|| black_box(i.resize_exact(DST.0, DST.1, filter)))
            });
        }
    }
    let opaque = DynamicImage::ImageRgba8(inputs[0].1.to_rgba8());
    g.bench_function("fir_lanczos3_ops/rgba_opaque_photo", |b| {
        let region = (0.0, 0.0, f64::from(SRC.0), f64::from(SRC.1));
        b.iter(|| black_box(ops::resample(&opaque, region, DST).unwrap()))
    });
    g.finish();

    let small: Vec<_> = inputs
        .iter()
        .map(|(n, i)| (*n, fir(i, FilterType::Lanczos3)))
        .collect();
    for (name, img) in &small {
        eprintln!(
            "[sizes] {name} 1568x1176: jpeg-encoder q85 (avg chroma) {} B, jpeg-encoder q85 (nearest) {} B, \
             image JpegEncoder q85 {} B, png fast {} B, png default {} B, webp lossless {} B",
            encode::encode_as(img, OutputFormat::Jpeg, 85, [255; 3])
                .unwrap()
                .len(),
            jpeg_nearest_chroma(img, 85).len(),
            jpeg_image_crate(img, 85).len(),
            encode::encode_as(img, OutputFormat::Png, 85, [255; 3])
                .unwrap()
                .len(),
            png(img, CompressionType::Default).len(),
            encode::encode_as(img, OutputFormat::Webp, 85, [255; 3])
                .unwrap()
                .len(),
        );
    }

    let mut g = c.benchmark_group("encode_1568x1176");
    for (name, img) in &small {
        g.bench_with_input(
            BenchmarkId::new("jpeg_encoder_q85_ours", name),
            img,
            |b, i| {
                b.iter(|| {
                    black_box(encode::encode_as(i, OutputFormat::Jpeg, 85, [255; 3]).unwrap())
                })
            },
        );
        g.bench_with_input(
            BenchmarkId::new("jpeg_encoder_q85_nearest", name),
            img,
            |b, i| b.iter(|| black_box(jpeg_nearest_chroma(i, 85))),
        );
        g.bench_with_input(BenchmarkId::new("image_jpeg_q85", name), img, |b, i| {
            b.iter(|| black_box(jpeg_image_crate(i, 85)))
        });
        g.bench_with_input(BenchmarkId::new("png_fast_ours", name), img, |b, i| {
            b.iter(|| black_box(encode::encode_as(i, OutputFormat::Png, 85, [255; 3]).unwrap()))
        });
        g.bench_with_input(BenchmarkId::new("png_default", name), img, |b, i| {
            b.iter(|| black_box(png(i, CompressionType::Default)))
        });
    }
    g.finish();

    // The whole pipeline on a 12 MP JPEG (decode with the DCT size hint, resize, encode),
    // once the decode module exists (skipped while decode::decode is a stub).
    let mut jpeg = Vec::new();
    inputs[0]
        .1
        .write_to(
            &mut std::io::Cursor::new(&mut jpeg),
            image::ImageFormat::Jpeg,
        )
        .unwrap();
    let opts = DecodeOptions::default();
    let run = |bytes: &[u8]| {
        pipeline::render(
            std::io::Cursor::new(bytes),
            &opts,
            &TransformSpec::for_model(),
            &|| false,
        )
    };
    match run(&jpeg) {
        Ok(out) => {
            eprintln!(
                "[sizes] render 12 MP JPEG ({} B) for model: {}x{} {} B, steps {:?}",
                jpeg.len(),
                out.width,
                out.height,
                out.bytes.len(),
                out.steps
            );
            c.bench_function("render_12mp_jpeg_for_model", |b| {
                b.iter(|| black_box(run(&jpeg).unwrap()))
            });
        }
        Err(e) => eprintln!("[skipped] render_12mp_jpeg_for_model: {e}"),
    }

    let mut g = c.benchmark_group("transform_encode_for_model");
    for (name, img) in &inputs {
        g.bench_with_input(BenchmarkId::new("render_decoded", name), img, |b, i| {
            b.iter(|| {
                black_box(
                    pipeline::render_decoded(i, SRC, &TransformSpec::for_model(), &|| false)
                        .unwrap(),
                )
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
