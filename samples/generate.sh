#!/usr/bin/env bash
# Makes the bundled sample media: small, synthetic, licence-clean (sine tones, seeded noise,
# test patterns, drawn shapes), written next to this script. The outputs are committed so tests
# never need this script; rerun it to regenerate (a different ffmpeg build may change bytes).
# Needs Debian's ffmpeg, sox, imagemagick, libimage-exiftool-perl, webp, libheif-examples,
# icc-profiles-free and python3; images.py needs Pillow >= 11 in the Python that $PYTHON names
# (default python3), e.g. python3 -m venv /tmp/venv-img && /tmp/venv-img/bin/pip install pillow
# and then PYTHON=/tmp/venv-img/bin/python samples/generate.sh.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf audio images video bad
mkdir -p audio images video bad
FF=(ffmpeg -nostdin -hide_banner -loglevel error -y)
BX=(-map_metadata -1 -fflags +bitexact -flags:a +bitexact -threads 1)
BXV=(-map_metadata -1 -fflags +bitexact -flags:v +bitexact -flags:a +bitexact -threads 1)
# A 3 s stereo chord (440 Hz left, 660 Hz right) at 44.1 kHz.
TONE=(-f lavfi -i "sine=frequency=440:sample_rate=44100:duration=3" -f lavfi -i "sine=frequency=660:sample_rate=44100:duration=3" -filter_complex "[0][1]amerge=inputs=2[a]" -map "[a]")

"${FF[@]}" "${TONE[@]}" "${BX[@]}" -c:a pcm_s16le audio/tone.wav
"${FF[@]}" "${TONE[@]}" "${BX[@]}" -c:a flac audio/tone.flac
"${FF[@]}" "${TONE[@]}" -map_metadata -1 -fflags +bitexact -flags:a +bitexact -threads 1 \
    -metadata title="Sample Tone" -metadata artist="mcp-media" -metadata album="Samples" -c:a libmp3lame -b:a 128k -id3v2_version 3 audio/tone.mp3
"${FF[@]}" "${TONE[@]}" "${BX[@]}" -c:a libvorbis -q:a 3 audio/tone.ogg
"${FF[@]}" "${TONE[@]}" "${BX[@]}" -c:a libopus -b:a 48k audio/tone.opus
"${FF[@]}" "${TONE[@]}" "${BX[@]}" -c:a aac -b:a 96k audio/tone.m4a
"${FF[@]}" "${TONE[@]}" "${BX[@]}" -c:a pcm_s16be audio/tone.aiff
"${FF[@]}" "${TONE[@]}" "${BX[@]}" -c:a alac audio/tone_alac.m4a
"${FF[@]}" "${TONE[@]}" "${BX[@]}" -c:a pcm_s16le -f caf audio/tone.caf
"${FF[@]}" -f lavfi -i "sine=frequency=300:sample_rate=16000:duration=2" -f lavfi -i "anoisesrc=color=pink:seed=7:amplitude=0.05:sample_rate=16000:duration=2" \
    -filter_complex "[0][1]amix=inputs=2,tremolo=f=4:d=0.8[a]" -map "[a]" "${BX[@]}" -ac 1 -c:a pcm_s16le audio/voice_16k.wav
"${FF[@]}" -f lavfi -i "sine=frequency=1000:sample_rate=96000:duration=1" "${BX[@]}" -c:a flac -sample_fmt s32 -bits_per_raw_sample 24 audio/hires_24_96.flac
"${FF[@]}" -f lavfi -i "sine=frequency=220:sample_rate=48000:duration=1" -filter_complex "[0]asplit=6[a][b][c][d][e][f];[a][b][c][d][e][f]join=inputs=6:channel_layout=5.1[o]" -map "[o]" "${BX[@]}" -c:a flac audio/surround_5_1.flac
"${FF[@]}" -f lavfi -i "sine=frequency=440:sample_rate=8000:duration=1" "${BX[@]}" -c:a pcm_u8 audio/u8.wav
"${FF[@]}" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=1" "${BX[@]}" -c:a pcm_f32le audio/float32.wav

# Images.
"${FF[@]}" -f lavfi -i "testsrc2=size=640x480:rate=1" -frames:v 1 "${BXV[@]}" -q:v 4 images/photo_raw.jpg
exiftool -q -overwrite_original -Orientation=6 -n images/photo_raw.jpg
mv images/photo_raw.jpg images/photo.jpg
convert -size 64x48 xc:none -fill "rgba(200,30,30,1)" -draw "circle 32,24 32,4" -define png:exclude-chunks=date,time images/alpha.png
convert -delay 20 -size 32x32 xc:red xc:green xc:blue -loop 0 images/anim.gif
"${FF[@]}" -f lavfi -i "testsrc2=size=160x120:rate=1" -frames:v 1 "${BXV[@]}" -c:v libwebp -lossless 0 -q:v 60 images/picture.webp
convert -size 96x64 gradient:navy-gold -compress lzw images/scan.tif
convert -size 24x24 xc:"#c0a080" -define png:exclude-chunks=date,time "images/café au lait #1.png"
# The phone photo (12 MP, EXIF orientation, GPS), CMYK/YCCK, ICC-tagged, 16-bit, animated WebP,
# HEIC/AVIF and one small file per remaining format (see README.md).
"${PYTHON:-python3}" images.py

# Video.
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=15:duration=2" -f lavfi -i "sine=frequency=440:sample_rate=44100:duration=2" \
    "${BXV[@]}" -c:v libx264 -profile:v baseline -pix_fmt yuv420p -g 15 -c:a aac -b:a 64k -movflags +faststart -shortest video/clip_h264_aac.mp4
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=15:duration=2" -f lavfi -i "sine=frequency=440:sample_rate=48000:duration=2" \
    "${BXV[@]}" -c:v libvpx-vp9 -row-mt 0 -deadline good -cpu-used 8 -b:v 200k -c:a libopus -b:a 48k -shortest video/clip_vp9_opus.webm
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=15:duration=2" -f lavfi -i "sine=frequency=550:sample_rate=48000:duration=2" \
    "${BXV[@]}" -c:v libx264 -profile:v high -pix_fmt yuv420p -bf 2 -c:a libvorbis -q:a 2 -shortest video/clip.mkv
# H.264 high, 3 B-frames, open GOP (keyframes at 1 s and 2 s are non-IDR I frames with leading B-frames).
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=24:duration=3" -f lavfi -i "sine=frequency=330:sample_rate=44100:duration=3" \
    "${BXV[@]}" -c:v libx264 -profile:v high -pix_fmt yuv420p -bf 3 -g 24 -keyint_min 24 -sc_threshold 0 -x264-params open-gop=1 -crf 28 \
    -c:a aac -b:a 48k -movflags +faststart -shortest video/clip_h264_bframes.mp4
# A portrait phone clip: stored 480x270 landscape (red box top left, green box top right, test pattern in the middle)
# with a display matrix asking for 90 degrees clockwise (ffprobe: rotation=-90), so it displays 270x480 with red top
# right and green bottom right. ffmpeg 5.1 turns the stream tag rotate=N into a matrix rotating N degrees
# COUNTER-clockwise, hence 270 (ffmpeg >= 6 would say -display_rotation -90 on the input).
"${FF[@]}" -f lavfi -i "color=c=gray:size=480x270:rate=30:duration=2" -f lavfi -i "testsrc2=size=200x150:rate=30:duration=2" \
    -f lavfi -i "sine=frequency=500:sample_rate=48000:duration=2" \
    -filter_complex "[0][1]overlay=x=140:y=60,drawbox=x=0:y=0:w=80:h=60:color=red:t=fill,drawbox=x=400:y=0:w=80:h=60:color=lime:t=fill[v]" \
    -map "[v]" -map 2 "${BXV[@]}" -c:v libx264 -profile:v high -pix_fmt yuv420p -crf 28 -c:a aac -b:a 48k -shortest -f mp4 video/phone_raw.tmp
"${FF[@]}" -i video/phone_raw.tmp -map 0 -c copy -metadata:s:v:0 rotate=270 -movflags +faststart video/phone_rotated.mp4
rm video/phone_raw.tmp
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=24:duration=2" "${BXV[@]}" -c:v libaom-av1 -cpu-used 8 -crf 40 -b:v 0 -g 24 \
    -movflags +faststart video/clip_av1.mp4
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=25:duration=2" -f lavfi -i "sine=frequency=600:sample_rate=48000:duration=2" \
    "${BXV[@]}" -c:v libx265 -preset fast -crf 30 -x265-params log-level=error:bframes=3:keyint=25 -tag:v hvc1 -pix_fmt yuv420p \
    -c:a aac -b:a 48k -shortest -movflags +faststart video/clip_hevc.mp4
# Variable frame rate: 30 fps for the first second, then every third frame (10 fps) to 2.8 s.
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=30:duration=3" -vf "select='lt(n\,30)+not(mod(n\,3))'" -fps_mode vfr \
    "${BXV[@]}" -c:v libx264 -pix_fmt yuv420p -crf 28 -bf 2 -movflags +faststart video/clip_vfr.mp4
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=25:duration=2" -f lavfi -i "sine=frequency=700:sample_rate=44100:duration=2" \
    "${BXV[@]}" -c:v mpeg4 -q:v 6 -c:a libmp3lame -b:a 64k -shortest video/clip_mpeg4_mp3.avi
"${FF[@]}" -f lavfi -i "testsrc2=size=320x240:rate=25:duration=1" "${BXV[@]}" -c:v libx264 -pix_fmt yuv420p10le -crf 28 \
    -movflags +faststart video/clip_h264_10bit.mp4
"${FF[@]}" -f lavfi -i "testsrc2=size=1920x1080:rate=30:duration=2" "${BXV[@]}" -c:v libx264 -preset veryfast -crf 32 -g 30 \
    -pix_fmt yuv420p -movflags +faststart video/clip_1080p.mp4

# Broken and hostile files.
head -c 1000 audio/tone.mp3 > bad/truncated.mp3
n=$(stat -c %s images/alpha.png); head -c $((n / 2)) images/alpha.png > bad/truncated.png
cp audio/tone.flac bad/corrupt.flac
python3 - <<'PY'
import random, struct, zlib
with open("bad/corrupt.flac", "r+b") as f:
    f.seek(200); f.write(b"\xaa" * 1800)
random.seed(1234)
open("bad/garbage.wav", "wb").write(bytes(random.getrandbits(8) for _ in range(1024)))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0)  # 100000 x 100000 grey: 10 gigapixels
idat = zlib.compress(b"\x00" * 4096, 9)
open("bad/bomb.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
PY
"${FF[@]}" -i audio/tone.wav "${BX[@]}" -c:a aac -b:a 64k -f adts bad/not_really.jpg
: > bad/empty.wav
echo "samples: $(find . -type f ! -name '*.sh' ! -name '*.md' | wc -l) files, $(du -sh . | cut -f1)"
