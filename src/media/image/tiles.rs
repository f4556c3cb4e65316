//! Tiles: a grid of pixel rectangles (with optional overlap) over a displayed image, so a
//! model can look at detail.
//! Must not know about tokio, JSON, MCP, the library or the cache (nor about pixels: this is
//! arithmetic; each tile is rendered as a `Crop::Pixels` of the displayed source).
//!
//! The grid: the image is cut at `floor(i * width / cols)` (and the same for rows), so the
//! cores of the tiles partition it exactly (no gaps, no double pixels); each interior cut then
//! becomes a band of `overlap` pixels that both neighbours hold (the tile before it grows by
//! the upper half, the tile after it by the lower half), so adjacent tiles share exactly
//! `overlap` pixels and no tile grows beyond the image. Without `rows`
//! and `cols` the grid is the coarsest whose tiles, overlap included, have a long edge of at
//! most `tile_size` (default [`MODEL_LONG_EDGE`]). With only one of `rows`/`cols`, the other
//! is chosen to keep the tiles near square. At most [`MAX_TILES`] tiles.

use super::{Crop, ImageError, MODEL_LONG_EDGE};

/// Most tiles a grid may have.
pub const MAX_TILES: u32 = 256;

/// How to cut an image into tiles. `tile_size` is used only when neither `rows` nor `cols` is
/// given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TileSpec {
    pub rows: Option<u32>,
    pub cols: Option<u32>,
    /// Longest tile edge in pixels, overlap included (default [`MODEL_LONG_EDGE`]).
    pub tile_size: Option<u32>,
    /// Pixels each tile extends across its interior edges.
    pub overlap: u32,
}

/// One tile, in displayed source pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileRect {
    pub row: u32,
    pub col: u32,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

impl TileRect {
    /// The crop that renders this tile.
    pub fn crop(&self) -> Crop {
        Crop::Pixels {
            x: self.x,
            y: self.y,
            width: self.width,
            height: self.height,
        }
    }
}

fn invalid(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidRequest(msg.into())
}

/// Largest extent of a tile along an axis of `size` pixels cut in `n`, overlap included.
fn longest(size: u32, n: u32, overlap: u32) -> u64 {
    let core = u64::from(size).div_ceil(u64::from(n.max(1)));
    let (lo, hi) = halves(overlap);
    let grow = match n {
        0 | 1 => 0,
        2 => hi.max(lo),
        _ => lo + hi,
    };
    (core + u64::from(grow)).min(u64::from(size))
}

/// How an overlap band splits around a cut: `(below, above)`, summing to `overlap`.
fn halves(overlap: u32) -> (u32, u32) {
    (overlap / 2, overlap - overlap / 2)
}

/// The fewest cuts of `size` whose pieces (overlap included) are at most `tile` long.
fn cuts_for(size: u32, tile: u32, overlap: u32) -> Result<u32, ImageError> {
    // Each added cut shrinks the core; search upwards from the overlap-free count.
    let start = size.div_ceil(tile).max(1);
    let limit = MAX_TILES.min(size);
    (start..=limit)
        .find(|&n| longest(size, n, overlap) <= u64::from(tile))
        .ok_or_else(|| {
            invalid(format!(
                "tiles of at most {tile} px with {overlap} px overlap would need more than \
                 {MAX_TILES} tiles for {size} px"
            ))
        })
}

/// `(start, end)` of piece `i` of `n` along `size` pixels, overlap included.
fn span(size: u32, n: u32, i: u32, overlap: u32) -> (u32, u32) {
    let cut = |k: u32| -> u32 {
        // k <= n, so the result is <= size and fits.
        u32::try_from(u64::from(k) * u64::from(size) / u64::from(n.max(1))).unwrap_or(size)
    };
    let (lo, hi) = halves(overlap);
    let start = if i == 0 { 0 } else { cut(i).saturating_sub(lo) };
    let end = if i + 1 >= n {
        size
    } else {
        cut(i + 1).saturating_add(hi).min(size)
    };
    (start, end)
}

/// The tiles of `spec` over a displayed image of `size` pixels, row by row.
pub fn grid(size: (u32, u32), spec: &TileSpec) -> Result<Vec<TileRect>, ImageError> {
    let (w, h) = size;
    if w == 0 || h == 0 {
        return Err(invalid(format!("the image is empty ({w}x{h})")));
    }
    if spec.rows == Some(0) || spec.cols == Some(0) || spec.tile_size == Some(0) {
        return Err(invalid("rows, cols and tile_size must be at least 1"));
    }
    // Near-square tiles: the other count from the given one's core size.
    let near_square = |given: u32, along: u32, other: u32| -> u32 {
        let core = f64::from(along) / f64::from(given);
        // Finite and positive; the cast saturates.
        ((f64::from(other) / core).round() as u32).clamp(1, other)
    };
    let (rows, cols) = match (spec.rows, spec.cols) {
        (Some(r), Some(c)) => (r, c),
        (Some(r), None) => (r, near_square(r, h, w)),
        (None, Some(c)) => (near_square(c, w, h), c),
        (None, None) => {
            let tile = spec.tile_size.unwrap_or(MODEL_LONG_EDGE);
            if u64::from(spec.overlap) * 2 >= u64::from(tile) {
                return Err(invalid(format!(
                    "overlap {} must be less than half of tile_size {tile}",
                    spec.overlap
                )));
            }
            (
                cuts_for(h, tile, spec.overlap)?,
                cuts_for(w, tile, spec.overlap)?,
            )
        }
    };
    if cols > w || rows > h {
        return Err(invalid(format!(
            "{rows} rows x {cols} cols is more than the {w}x{h} image has pixels"
        )));
    }
    let count = u64::from(rows) * u64::from(cols);
    if count > u64::from(MAX_TILES) {
        return Err(invalid(format!(
            "{rows} x {cols} = {count} tiles is over the limit of {MAX_TILES}"
        )));
    }
    let mut tiles = Vec::new();
    for row in 0..rows {
        let (y0, y1) = span(h, rows, row, spec.overlap);
        for col in 0..cols {
            let (x0, x1) = span(w, cols, col, spec.overlap);
            tiles.push(TileRect {
                row,
                col,
                x: x0,
                y: y0,
                width: x1 - x0,
                height: y1 - y0,
            });
        }
    }
    Ok(tiles)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(rows: Option<u32>, cols: Option<u32>, tile: Option<u32>, overlap: u32) -> TileSpec {
        TileSpec {
            rows,
            cols,
            tile_size: tile,
            overlap,
        }
    }

    /// Every pixel is covered; without overlap, exactly once; with it, tiles stay within the
    /// image, interior edges extend by the overlap, and cores partition the image.
    fn check(size: (u32, u32), s: &TileSpec, tiles: &[TileRect]) {
        let (w, h) = size;
        let ctx = format!("{w}x{h} {s:?}");
        let rows = tiles.iter().map(|t| t.row).max().unwrap() + 1;
        let cols = tiles.iter().map(|t| t.col).max().unwrap() + 1;
        assert_eq!(tiles.len() as u32, rows * cols, "{ctx}");
        assert!(tiles.len() as u32 <= MAX_TILES, "{ctx}");
        // Columns: along x, on the first row; rows: along y, on the first column.
        let xs: Vec<_> = tiles.iter().filter(|t| t.row == 0).collect();
        let ys: Vec<_> = tiles.iter().filter(|t| t.col == 0).collect();
        for (axis, line, size) in [("x", &xs, w), ("y", &ys, h)] {
            let get = |t: &TileRect| {
                if axis == "x" {
                    (t.x, t.width)
                } else {
                    (t.y, t.height)
                }
            };
            let n = line.len() as u32;
            let (first, _) = get(line[0]);
            assert_eq!(first, 0, "{ctx}: {axis} starts at 0");
            let (last, len) = get(line[line.len() - 1]);
            assert_eq!(last + len, size, "{ctx}: {axis} reaches the edge");
            for (i, pair) in line.windows(2).enumerate() {
                let (a0, al) = get(pair[0]);
                let (b0, _) = get(pair[1]);
                let a_end = a0 + al;
                assert!(b0 <= a_end, "{ctx}: gap on {axis} after piece {i}");
                // Overlap: neighbours share exactly the overlap, unless clipped by the image.
                let shared = a_end - b0;
                assert!(shared <= s.overlap, "{ctx}: {axis} overlap {shared}");
                if s.overlap == 0 {
                    assert_eq!(shared, 0, "{ctx}: pixels counted twice on {axis}");
                }
            }
            for t in line.iter() {
                let (_, len) = get(t);
                assert!(len >= 1, "{ctx}");
            }
            // Cores partition the axis: piece sizes (without overlap) differ by at most one.
            let cores: Vec<u32> = (0..n)
                .map(|i| {
                    ((u64::from(i + 1) * u64::from(size) / u64::from(n))
                        - (u64::from(i) * u64::from(size) / u64::from(n)))
                        as u32
                })
                .collect();
            assert!(
                cores.iter().max().unwrap() - cores.iter().min().unwrap() <= 1,
                "{ctx}"
            );
        }
        // All tiles in a row share y/height; in a column share x/width.
        for t in tiles {
            let r0 = ys[t.row as usize];
            let c0 = xs[t.col as usize];
            assert_eq!((t.y, t.height), (r0.y, r0.height), "{ctx}");
            assert_eq!((t.x, t.width), (c0.x, c0.width), "{ctx}");
            assert!(t.x + t.width <= w && t.y + t.height <= h, "{ctx}");
        }
    }

    #[test]
    fn default_grid_tiles_are_within_the_model_edge_and_cover_the_image() {
        for (w, h) in [
            (1, 1),
            (1568, 1568),
            (1569, 1568),
            (4000, 3000),
            (12_000, 9_000),
            (100_000, 1),
        ] {
            let s = TileSpec::default();
            let tiles = grid((w, h), &s).unwrap();
            check((w, h), &s, &tiles);
            for t in &tiles {
                assert!(t.width.max(t.height) <= MODEL_LONG_EDGE, "{w}x{h}: {t:?}");
            }
        }
        // The coarsest such grid: 4000x3000 needs 3 x 2.
        let t = grid((4000, 3000), &TileSpec::default()).unwrap();
        assert_eq!(t.len(), 6);
        assert_eq!(t.last().map(|t| (t.row, t.col)), Some((1, 2)));
        // A small image is one tile: itself.
        assert_eq!(
            grid((800, 600), &TileSpec::default()).unwrap(),
            vec![TileRect {
                row: 0,
                col: 0,
                x: 0,
                y: 0,
                width: 800,
                height: 600
            }]
        );
    }

    #[test]
    fn tile_size_with_overlap_bounds_every_tile() {
        for w in [1, 2, 99, 100, 101, 512, 999, 1000, 1001, 4096, 5000] {
            for tile in [16, 100, 256, 512, 1000] {
                for overlap in [0, 1, 7, 32] {
                    let s = spec(None, None, Some(tile), overlap);
                    match grid((w, w / 2 + 1), &s) {
                        Ok(tiles) => {
                            check((w, w / 2 + 1), &s, &tiles);
                            for t in &tiles {
                                assert!(t.width.max(t.height) <= tile, "{w} {s:?}: {t:?}");
                            }
                        }
                        Err(ImageError::InvalidRequest(m)) => {
                            assert!(m.contains("256") || m.contains("half"), "{m}");
                        }
                        Err(e) => panic!("{e}"),
                    }
                }
            }
        }
    }

    #[test]
    fn explicit_rows_and_cols_cover_exactly_with_overlap() {
        for (w, h) in [(10, 10), (97, 61), (4000, 3000), (3, 1000)] {
            for rows in [1, 2, 3, 5] {
                for cols in [1, 2, 3, 4] {
                    for overlap in [0, 1, 10, 5000] {
                        let s = spec(Some(rows), Some(cols), None, overlap);
                        match grid((w, h), &s) {
                            Ok(tiles) => check((w, h), &s, &tiles),
                            Err(ImageError::InvalidRequest(_)) => {
                                assert!(cols > w || rows > h, "{w}x{h} {s:?}")
                            }
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn overlap_extends_interior_edges_only() {
        let t = grid((100, 10), &spec(Some(1), Some(4), None, 5)).unwrap();
        let xs: Vec<_> = t.iter().map(|t| (t.x, t.x + t.width)).collect();
        // Cuts at 25, 50, 75; each becomes a 5 px band (2 below, 3 above).
        assert_eq!(xs, vec![(0, 28), (23, 53), (48, 78), (73, 100)]);
        assert!(t.iter().all(|t| t.y == 0 && t.height == 10));
    }

    #[test]
    fn one_count_given_picks_near_square_tiles() {
        let t = grid((4000, 3000), &spec(None, Some(4), None, 0)).unwrap();
        // 1000 px wide columns -> 3 rows of 1000.
        assert_eq!(t.len(), 12);
        assert!(t.iter().all(|t| t.width == 1000 && t.height == 1000));
        let t = grid((4000, 3000), &spec(Some(2), None, None, 0)).unwrap();
        assert_eq!(t.len(), 6); // 1500 px rows -> round(4000/1500) = 3 cols
    }

    #[test]
    fn bad_grids_are_refused() {
        let bad = [
            ((0, 10), TileSpec::default()),
            ((10, 10), spec(Some(0), None, None, 0)),
            ((10, 10), spec(None, None, Some(0), 0)),
            ((10, 10), spec(Some(11), Some(1), None, 0)),
            ((1000, 1000), spec(Some(17), Some(16), None, 0)),
            ((1000, 1000), spec(None, None, Some(10), 5)),
            ((100_000, 100_000), spec(None, None, Some(100), 0)),
            ((u32::MAX, u32::MAX), TileSpec::default()),
            (
                (u32::MAX, u32::MAX),
                spec(None, None, Some(u32::MAX), u32::MAX),
            ),
        ];
        for (size, s) in bad {
            assert!(
                matches!(grid(size, &s), Err(ImageError::InvalidRequest(_))),
                "{size:?} {s:?}"
            );
        }
        // A hostile header's size with an explicit grid: arithmetic, no overflow.
        let t = grid(
            (u32::MAX, u32::MAX),
            &spec(Some(2), Some(2), None, u32::MAX),
        )
        .unwrap();
        check(
            (u32::MAX, u32::MAX),
            &spec(Some(2), Some(2), None, u32::MAX),
            &t,
        );
        // Exactly the limit is fine.
        assert_eq!(
            grid((1000, 1000), &spec(Some(16), Some(16), None, 0))
                .unwrap()
                .len(),
            256
        );
    }

    #[test]
    fn tile_crop_is_its_rectangle() {
        let t = grid((30, 20), &spec(Some(2), Some(3), None, 0)).unwrap();
        assert_eq!(
            t[4].crop(),
            Crop::Pixels {
                x: 10,
                y: 10,
                width: 10,
                height: 10
            }
        );
    }
}
