#!/usr/bin/env bash
# Makes the seed corpora in fuzz/corpus/ (committed; rerun only to regenerate): small audio
# files in every container the server reads (tiny tones made with ffmpeg, the first bytes of
# the bundled samples, the broken samples), each prefixed with the two control bytes the media
# targets read (extension hint index, parameter byte; see src/fuzzing.rs), plus JSON-RPC lines
# and media:// URIs. Needs ffmpeg and python3.
set -euo pipefail
cd "$(dirname "$0")"
S=../samples
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
rm -rf corpus
mkdir -p corpus/protocol corpus/uri corpus/audio_decode corpus/audio_transcode

# --- tiny audio: 0.1 s stereo chords (0.25 s for codecs with long frames) -------------------
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
BX=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact -threads 1)
mk() { # name duration rate codec-args...
    local name=$1 d=$2 r=$3; shift 3
    "${FF[@]}" -f lavfi -i "sine=frequency=440:sample_rate=$r:duration=$d" -f lavfi -i "sine=frequency=660:sample_rate=$r:duration=$d" \
        -filter_complex "[0][1]amerge=inputs=2[a]" -map "[a]" "${BX[@]}" "$@" "$TMP/$name"
}
mk s16.wav 0.05 8000 -c:a pcm_s16le
mk u8.wav 0.05 8000 -c:a pcm_u8
mk f32.wav 0.05 8000 -c:a pcm_f32le
mk s24.wav 0.05 8000 -c:a pcm_s24le
mk alaw.wav 0.05 8000 -c:a pcm_alaw
mk adpcm.wav 0.1 8000 -c:a adpcm_ms
mk s16.aiff 0.05 8000 -c:a pcm_s16be
mk s16.caf 0.05 8000 -c:a pcm_s16le -f caf
mk alac.caf 0.05 8000 -c:a alac -f caf
mk a.flac 0.1 8000 -c:a flac
mk a.mp3 0.25 8000 -c:a libmp3lame -b:a 16k
mk a.ogg 0.25 8000 -c:a libvorbis -q:a 0
mk a.opus 0.1 48000 -c:a libopus -b:a 6k
mk a.m4a 0.25 8000 -c:a aac -b:a 16k -movflags +faststart
mk alac.m4a 0.05 8000 -c:a alac -movflags +faststart
mk a.mkv 0.25 8000 -c:a libvorbis -q:a 0
mk a.webm 0.1 48000 -c:a libopus -b:a 6k
mk a.aac 0.25 8000 -c:a aac -b:a 16k -f adts
"${FF[@]}" -f lavfi -i "sine=frequency=220:sample_rate=8000:duration=0.05" -filter_complex "[0]asplit=6[a][b][c][d][e][f];[a][b][c][d][e][f]join=inputs=6:channel_layout=5.1[o]" \
    -map "[o]" "${BX[@]}" -c:a flac "$TMP/surround.flac"
# The first 4 KiB of the bundled samples (truncated files are a case of their own).
for f in tone.wav tone.aiff tone.caf tone.flac tone.mp3 tone.ogg tone.opus; do
    head -c 4096 "$S/audio/$f" > "$TMP/head_$f"
done
for f in truncated.mp3 garbage.wav empty.wav; do cp "$S/bad/$f" "$TMP/bad_$f"; done

python3 - "$TMP" <<'PY'
import os, sys
tmp = sys.argv[1]
# Index of each extension hint in src/fuzzing.rs EXTENSIONS.
hints = [None, "wav", "aiff", "caf", "flac", "mp3", "ogg", "opus", "m4a", "mp4", "mkv", "webm", "aac"]
for name in sorted(os.listdir(tmp)):
    ext = name.rsplit(".", 1)[-1]
    hint = hints.index(ext) if ext in hints else 0
    body = open(os.path.join(tmp, name), "rb").read()
    # audio_decode: no seek / seek to 0.1 s. audio_transcode: WAV and Opus, start 0, 0.5 s.
    for target, params in (("audio_decode", (0x00, 0x81)), ("audio_transcode", (0x70, 0x71))):
        for p in params:
            with open(f"corpus/{target}/{name}.{p:02x}", "wb") as f:
                f.write(bytes([hint, p]) + body)
PY

# --- JSON-RPC streams: two control bytes (line limit 1+4a, read size 1+b), then lines ---------
line() { printf '%s' "$2" > "corpus/protocol/$1"; }
pre=$'\x40\x07'
line init    "$pre"'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}'$'\n'
line notif   "$pre"'{"jsonrpc":"2.0","method":"notifications/initialized"}'$'\r\n''{"jsonrpc":"2.0","id":"a","method":"tools/list","params":null}'$'\n'
line call    "$pre"'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"audio_transcode","arguments":{"uri":"media://lib/a.wav","start":0.5,"sample_rate":16000,"channels":1}}}'
line batch   "$pre"'[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"n"},5,{"jsonrpc":"1.0","id":"x"},[]]'$'\n''[]'$'\n'
line resp    "$pre"'{"jsonrpc":"2.0","id":"s1","result":{"ok":true}}'$'\n''{"jsonrpc":"2.0","id":9,"error":{"code":-1,"message":"no"}}'$'\n'
line bad     "$pre"'{"jsonrpc":"2.0","id":null,"method":"a"}'$'\n''{"jsonrpc":"2.0","id":1.5,"method":5,"params":[1]}'$'\n''{not json'$'\n'
line long    $'\x02\x03''{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"media://lib/a.wav"}}'$'\r\n''{}'$'\r\n''x'
line unicode "$pre"'{"jsonrpc":"2.0","id":"\u00e9\ud83d\ude00","method":"\u0000","params":{"k":"\ud800"}}'$'\n'

# --- URIs and queries ---------------------------------------------------------------------------
uri() { printf '%s' "$2" > "corpus/uri/$1"; }
uri plain   'media://lib/audio/tone.wav'
uri derived 'media://lib/audio/tone.wav?start=1.5&duration=10&format=opus&rate=16000&channels=1'
uri range   'media://lib/images/caf%C3%A9%20au%20lait%20%231.png?offset=10&length=20'
uri trav    'media://lib/a/..%2f..%2fetc/%2e%2e/passwd%00'
uri query   'start=1e300&duration=-0&format=wav&rate=384000&channels=keep&x+y=%ff'
uri cursor  'djE6cmVzb3VyY2VzOjIwMA'
uri eventid ' 3-42 '
