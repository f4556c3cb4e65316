//! The zero-copy blob path: a whole `resources/read` response frame (JSON envelope plus the
//! file's base64 spliced in, newline-framed for stdio, and as one SSE event for HTTP) against
//! the bare base64 encode of the same bytes, at 1, 4 and 16 MiB. Throughput is reported in MiB/s of raw input; the gap
//! between the two is the overhead the framing adds. `read_response_frame` and
//! `read_response_sse_event` are the streamed path as a writer runs it (the frame, then every
//! piece: base64 block by block into one reused buffer); `contiguous_frame` is the whole frame
//! in one buffer (the encoder before streaming, kept as the reference).

use base64::Engine as _;
use bytes::{Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use mcp_media::protocol::frame::{Framing, encode, encode_contiguous};
use mcp_media::protocol::types::{ResourceBody, ResourceContents, render_contents};
use mcp_media::protocol::{Blobs, Outgoing, RequestId};
use serde_json::json;
use std::hint::black_box;

fn payload(n: usize) -> Bytes {
    // Deterministic, incompressible-looking bytes.
    let mut x: u64 = 0x9E3779B97F4A7C15;
    Bytes::from(
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect::<Vec<u8>>(),
    )
}

fn read_response(data: &Bytes) -> Outgoing {
    let mut blobs = Blobs::new();
    let contents = ResourceContents {
        uri: "media://samples/video/clip_h264_aac.mp4".into(),
        mime_type: Some("video/mp4".into()),
        body: ResourceBody::Blob(data.clone().into()),
    };
    let item = render_contents(&contents, &mut blobs);
    let result = json!({"contents": [item], "resultType": "complete", "ttlMs": 60000, "cacheScope": "public",
        "_meta": {"io.modelcontextprotocol/serverInfo": {"name": "mcp-media", "version": "0.1.0"}}});
    Outgoing::response(&RequestId::Num(42), result, blobs)
}

/// Frames `msg` and produces every piece, as a writer does; returns the bytes produced.
fn stream(msg: &Outgoing, framing: Framing, block: &mut BytesMut) -> usize {
    let mut pieces = encode(msg, framing).into_pieces();
    let mut n = 0;
    while let Some(p) = pieces.next_piece(block) {
        n += black_box(p.unwrap()).len();
    }
    n
}

fn bench(c: &mut Criterion) {
    let simd = base64::engine::Simd::standard(base64::engine::general_purpose::PAD);
    let mut g = c.benchmark_group("blob_frame");
    g.sample_size(20);
    for mib in [1usize, 4, 16] {
        let data = payload(mib << 20);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_with_input(BenchmarkId::new("bare_base64_simd", mib), &data, |b, d| {
            let mut out = vec![0u8; base64::encoded_len(d.len(), true).unwrap()];
            b.iter(|| simd.encode_slice(black_box(d), &mut out).unwrap())
        });
        g.bench_with_input(
            BenchmarkId::new("bare_base64_to_string", mib),
            &data,
            |b, d| b.iter(|| black_box(simd.encode(black_box(d)))),
        );
        g.bench_with_input(
            BenchmarkId::new("read_response_frame", mib),
            &data,
            |b, d| {
                let mut block = BytesMut::new();
                b.iter(|| stream(&read_response(d), Framing::Line, &mut block))
            },
        );
        g.bench_with_input(BenchmarkId::new("contiguous_frame", mib), &data, |b, d| {
            b.iter(|| black_box(encode_contiguous(&read_response(d), Framing::Line).unwrap()))
        });
        g.bench_with_input(
            BenchmarkId::new("read_response_sse_event", mib),
            &data,
            |b, d| {
                let mut block = BytesMut::new();
                b.iter(|| stream(&read_response(d), Framing::Sse, &mut block))
            },
        );
        g.bench_with_input(BenchmarkId::new("naive_serde_json_string", mib), &data, |b, d| {
            // What the zero-copy path avoids: base64 into a String, then serde_json over it.
            b.iter(|| {
                let s = simd.encode(black_box(d));
                let v = json!({"jsonrpc": "2.0", "id": 42, "result": {"contents": [{"uri": "media://x", "mimeType": "video/mp4", "blob": s}]}});
                black_box(serde_json::to_vec(&v).unwrap())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
