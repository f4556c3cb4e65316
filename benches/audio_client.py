"""End-to-end audio benchmark through the official Python SDK client, against ffmpeg, side by side.

For each 10-minute stereo 44.1 kHz source (FLAC and MP3, made by ffmpeg), runs interleaved:
  - ffmpeg: `ffmpeg -i IN -ac 1 -ar 16000 -f segment -segment_time 30 out%03d.wav` (a process);
  - mcp-media over stdio, driven by the official Python SDK (`mcp` on PyPI): one
    `audio_transcode` call (16 kHz mono WAV, 30 s chunks) with a progress token, timed to its
    first progress notification and to its result, then `resources/read` of every chunk and its
    base64 decoded (end to end: what a client has in hand, as ffmpeg's files are).
A fresh server per run, started and initialized before the clock starts (a client keeps its
server running); one untimed warm-up run per source. Reports medians and the ratios ours / ffmpeg, and writes JSON.

Run: benches/audio_client.sh (makes the venv and the release binary), or
  python benches/audio_client.py --bin target/release/mcp-media [--runs 5] [--out FILE]
"""
import argparse
import asyncio
import base64
import json
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

from mcp import Client, StdioServerParameters

SECONDS = 600


def make_sources(dir: pathlib.Path) -> list[pathlib.Path]:
    flac = dir / "long.flac"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y",
         "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={SECONDS}",
         "-f", "lavfi", "-i", f"anoisesrc=d={SECONDS}:c=pink:r=44100:a=0.1",
         "-filter_complex", "[0][1]amerge=inputs=2", "-ac", "2", str(flac)],
        check=True)
    mp3 = dir / "long.mp3"
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(flac), "-b:a", "192k", str(mp3)],
                   check=True)
    return [flac, mp3]


def ffmpeg_once(src: pathlib.Path, out: pathlib.Path) -> float:
    for f in out.glob("*.wav"):
        f.unlink()
    t = time.perf_counter()
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), "-ac", "1", "-ar", "16000",
                    "-f", "segment", "-segment_time", "30", str(out / "out%03d.wav")], check=True)
    return time.perf_counter() - t


async def ours_once(c: Client, uri: str) -> tuple[float, float, float, int]:
    """(first progress, tool result, end to end) in seconds, and the bytes of WAV read."""
    t = time.perf_counter()
    first: list[float] = []

    async def on_progress(progress, total, message):
        if not first:
            first.append(time.perf_counter() - t)

    res = await c.call_tool("audio_transcode",
                            {"uri": uri, "sample_rate": 16000, "channels": 1, "chunk_seconds": 30,
                             # 30 s chunks as ffmpeg's (the default caps a chunk at 768 KiB)
                             "max_chunk_bytes": 8 << 20},
                            progress_callback=on_progress)
    result = time.perf_counter() - t
    assert not res.is_error, res
    chunks = res.structured_content["chunks"]
    assert len(chunks) == SECONDS // 30, len(chunks)
    total = 0
    for ch in chunks:
        read = await c.read_resource(ch["uri"])
        total += len(base64.b64decode(read.contents[0].blob))
    end = time.perf_counter() - t
    assert first, "no progress notification"
    return first[0], result, end, total


async def bench(bin: str, runs: int, extra: list[str]) -> dict:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        lib = tmp / "lib"
        lib.mkdir()
        out = tmp / "ff"
        out.mkdir()
        for src in make_sources(lib):
            uri = f"media://lib/{src.name}"
            # A fresh server per run (started and initialized before the clock starts): the
            # chunks the tool renders are cached for the reads that follow, as in real use,
            # and no run finds the previous run's chunks.
            params = StdioServerParameters(command=bin, args=["serve", "--stdio", *extra, str(lib)])
            async with Client(params, mode="legacy", raise_exceptions=True) as c:
                await ours_once(c, uri)  # warm-up: page cache
            ffmpeg_once(src, out)
            ff, first, result, end = [], [], [], []
            for _ in range(runs):
                ff.append(ffmpeg_once(src, out))
                async with Client(params, mode="legacy", raise_exceptions=True) as c:
                    f, r, e, n = await ours_once(c, uri)
                first.append(f)
                result.append(r)
                end.append(e)
            wav_ffmpeg = sum(p.stat().st_size for p in out.glob("*.wav"))
            m = statistics.median
            row = {
                "source": src.suffix[1:], "seconds": SECONDS, "runs": runs,
                "ffmpeg_s": m(ff), "first_progress_ms": m(first) * 1000,
                "tool_result_s": m(result), "end_to_end_s": m(end),
                "tool_result_ratio": m(result) / m(ff), "end_to_end_ratio": m(end) / m(ff),
                "wav_bytes_ours": n, "wav_bytes_ffmpeg": wav_ffmpeg,
            }
            rows.append(row)
            print(f"{row['source']:>5}: ffmpeg {row['ffmpeg_s']:.3f} s | ours: first progress "
                  f"{row['first_progress_ms']:.1f} ms, tool result {row['tool_result_s']:.3f} s "
                  f"({row['tool_result_ratio']:.2f}x), end to end {row['end_to_end_s']:.3f} s "
                  f"({row['end_to_end_ratio']:.2f}x)", flush=True)
    return {"date": time.strftime("%Y-%m-%d"), "cpus": __import__("os").cpu_count(), "rows": rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=None)
    ap.add_argument("server_args", nargs="*", help="more `serve` arguments (after --)")
    a = ap.parse_args()
    res = asyncio.run(bench(a.bin, a.runs, a.server_args))
    if a.out:
        pathlib.Path(a.out).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    sys.exit(main())
