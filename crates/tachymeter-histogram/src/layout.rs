//! Value → bucket index math.
//!
//! A [`Layout`] maps a `u64` value to the index of the Prometheus native-histogram bucket that
//! holds it. With `base = 2^(2^-schema)`, bucket `i` covers `(base^(i-1), base^i]` (upper bound
//! inclusive, as in Prometheus and OTLP exponential histograms); the value `0` has a bucket of its
//! own (the zero bucket).
//!
//! # How the index is computed
//!
//! For a value `v ≥ 1` let `e = 63 - v.leading_zeros()` (the octave, `2^e ≤ v < 2^(e+1)`) and
//! `n = v << v.leading_zeros()` (the mantissa as a 64-bit fixed-point number in `[2^63, 2^64)`,
//! exact: no bit is lost). Inside an octave the bucket boundaries are `B_k = 2^(k/2^s) · 2^63`
//! for `k = 0 .. 2^s`, and the index is `e·2^s + #{k : n > B_k}`. Counting the boundaries below
//! `n` is a table lookup on the top `s + 1` mantissa bits (which gives the count at the start of
//! that linear cell) plus one comparison: a cell is narrower than the smallest gap between two
//! boundaries (`2^-(s+1) < 2^(2^-s) - 1`), so at most one boundary falls inside it.
//!
//! The boundaries are the `f64` values of `2^(k/2^s)` scaled by `2^63`, which is exact, so the
//! comparison decides exactly as a float implementation comparing `v / 2^e` with the same `f64`
//! bounds would (as Prometheus' Go client does) — for every `v < 2^53`, where `v` itself is exact
//! in `f64`.
//!
//! Negative schemas merge `2^-s` schema-0 buckets: `i = ceil(i0 / 2^-s)`.
//!
//! Written here rather than taken from `hdrhistogram`: HdrHistogram's buckets are linear inside
//! each power of two, so their boundaries do not coincide with the exponential boundaries of
//! native histograms and OTLP, and one recording could not be exported exactly to both.

/// Smallest schema Prometheus native histograms accept (base `2^16`).
pub const MIN_SCHEMA: i8 = -4;
/// Largest schema Prometheus native histograms accept (base `2^(1/256)`).
pub const MAX_SCHEMA: i8 = 8;
/// The default schema: 64 buckets per power of two, quantile error ≤ 0.55%.
pub const DEFAULT_SCHEMA: i8 = 6;

/// Errors from [`Layout::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LayoutError {
    /// The schema is outside `-4..=8`. Use a schema in that range (6 gives < 1% error).
    SchemaOutOfRange(i8),
    /// `min_value` is 0 or larger than `max_value`. Use `1 ≤ min_value ≤ max_value`.
    InvalidRange {
        /// The requested minimum.
        min: u64,
        /// The requested maximum.
        max: u64,
    },
}

impl std::fmt::Display for LayoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LayoutError::SchemaOutOfRange(s) => write!(
                f,
                "histogram schema {s} is out of range: use {MIN_SCHEMA}..={MAX_SCHEMA}"
            ),
            LayoutError::InvalidRange { min, max } => write!(
                f,
                "histogram range {min}..={max} is invalid: need 1 <= min_value <= max_value"
            ),
        }
    }
}

impl std::error::Error for LayoutError {}

/// The upper bound `base^index` of native bucket `index` at `schema`, as Prometheus defines it.
#[inline]
pub fn upper_bound(schema: i8, index: i32) -> f64 {
    // 2^(index / 2^schema), computed as 2^(whole) * 2^(frac) so that bucket boundaries at exact
    // powers of two are exact; 2^(frac) comes from a table built once per process (readers call
    // this for every quantile: `powf` here cost ~60 ns per p99).
    if schema >= 0 {
        let per_octave = 1i64 << schema;
        let i = index as i64;
        frac_pow(schema, i.rem_euclid(per_octave) as u32) * pow2i(i.div_euclid(per_octave))
    } else {
        pow2i((index as i64) << (-schema))
    }
}

/// `2^e` for an integer `e`, built from the exponent bits where it is a normal `f64`.
#[inline]
fn pow2i(e: i64) -> f64 {
    if (-1022..=1023).contains(&e) {
        f64::from_bits(((e + 1023) as u64) << 52)
    } else {
        2f64.powi(e.clamp(-2000, 2000) as i32)
    }
}

/// `2^(k / 2^schema)` for `0 ≤ schema ≤ 8` and `0 ≤ k < 2^schema`, from a table.
#[inline]
fn frac_pow(schema: i8, k: u32) -> f64 {
    static TABLES: std::sync::OnceLock<Vec<Vec<f64>>> = std::sync::OnceLock::new();
    let tables = TABLES.get_or_init(|| {
        (0..=MAX_SCHEMA)
            .map(|s| {
                let n = 1u32 << s;
                (0..n)
                    .map(|k| match k {
                        0 => 1.0,
                        _ => 2f64.powf(k as f64 / n as f64),
                    })
                    .collect()
            })
            .collect()
    });
    tables[schema as usize][k as usize]
}

/// `(lower, upper]` bounds of native bucket `index` at `schema`.
pub fn bucket_bounds(schema: i8, index: i32) -> (f64, f64) {
    (
        upper_bound(schema, index.saturating_sub(1)),
        upper_bound(schema, index),
    )
}

/// Worst-case relative error of a value estimated from its bucket: `(b - 1) / (b + 1)` with
/// `b = 2^(2^-schema)`; the estimate is the point of `(lower, upper]` that is equally far, in
/// relative terms, from both ends.
pub fn relative_error_bound(schema: i8) -> f64 {
    let b = 2f64.powf(2f64.powi(-(schema as i32)));
    (b - 1.0) / (b + 1.0)
}

/// The bucket layout of one histogram: schema plus the tracked value range.
///
/// Values above `max_value` are counted in the bucket of `max_value` and values in
/// `1..min_value` in the bucket of `min_value` (saturation); the caller counts them.
///
/// About 64 bytes: the lookup tables are shared by every layout of a schema (built once per
/// process, see `Tables`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    schema: i8,
    /// Index count per octave at the non-negative schema used for the lookup (`max(schema, 0)`).
    lookup_schema: u32,
    /// The tables of `lookup_schema`.
    tables: &'static Tables,
    min_value: u64,
    max_value: u64,
    /// `max_value - min_value`: one unsigned compare tells "in range".
    span: u64,
    /// The float-key path (see [`Layout::position`]) covers `fast_min ..= fast_min + fast_span`.
    fast_min: u64,
    fast_span: u64,
    /// `52 - (lookup_schema + 1)`: shifts an `f64`'s bits down to its exponent and top cell bits.
    key_shift: u32,
    /// Added to the float key's position estimate to give the dense position.
    offset: u64,
    min_index: i32,
    max_index: i32,
}

/// Lookup table size: `2^(MAX_SCHEMA + 1)` cells.
const CELLS: usize = 1 << (MAX_SCHEMA as usize + 1);

/// The lookup tables of one non-negative schema `s` (built once per process per schema).
///
/// The top `s + 1` bits of a value's mantissa select a cell `t`. For the integer path,
/// `cells[t]` counts the boundaries `B_k` below the cell and `bounds[k]` holds `B_k · 2^63`
/// (then `u64::MAX`). For the float-key path, indexed by the key's low 9 bits (the cell,
/// repeated over the exponent bits above it so that a constant mask selects it):
/// `delta[t] = cells[t] − t/2` and `cell_bound[t]` is the one boundary that can fall inside
/// the cell, as the mantissa bits of an `f64` shifted to the top (`u64::MAX`: none).
#[derive(PartialEq, Eq)]
pub(crate) struct Tables {
    cells: [u16; CELLS],
    bounds: [u64; CELLS],
    delta: [i16; CELLS],
    cell_bound: [u64; CELLS],
}

impl std::fmt::Debug for Tables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tables")
    }
}

impl Tables {
    /// The tables of schema `s` (`0..=MAX_SCHEMA`), built on first use.
    fn of(s: u32) -> &'static Tables {
        static ALL: [std::sync::OnceLock<Tables>; MAX_SCHEMA as usize + 1] =
            [const { std::sync::OnceLock::new() }; MAX_SCHEMA as usize + 1];
        ALL[s as usize].get_or_init(|| Tables::build(s))
    }

    fn build(s: u32) -> Tables {
        let per_octave = 1usize << s;
        let mut bounds = [u64::MAX; CELLS];
        for (k, b) in bounds.iter_mut().enumerate().take(per_octave) {
            // Exact: an f64 in [1, 2) times 2^63 is an integer below 2^64.
            *b = (frac_pow(s as i8, k as u32) * 2f64.powi(63)) as u64;
        }
        let cell_bits = s + 1;
        let mut cells = [0u16; CELLS];
        for (t, c) in cells.iter_mut().enumerate().take(1 << cell_bits) {
            let lo = (1u64 << 63) | ((t as u64) << (63 - cell_bits));
            *c = bounds[..per_octave].iter().filter(|&&b| b < lo).count() as u16;
        }
        let (mut delta, mut cell_bound) = ([0i16; CELLS], [u64::MAX; CELLS]);
        for i in 0..CELLS {
            let t = i & ((1 << cell_bits) - 1);
            let below = cells[t] as usize;
            delta[i] = below as i16 - (t >> 1) as i16;
            // B·2^63 = 2^63 + (mantissa << 11), so the mantissa at the top is B << 1.
            cell_bound[i] = match bounds[below] {
                u64::MAX => u64::MAX,
                b => b << 1,
            };
        }
        Tables {
            cells,
            bounds,
            delta,
            cell_bound,
        }
    }
}

/// Values below this are exact in an `f64`, so the float-key path sees their exact mantissa.
const FLOAT_EXACT: u64 = 1 << 53;

impl Layout {
    /// A layout for `schema` tracking `min_value..=max_value` without saturation.
    pub fn new(schema: i8, min_value: u64, max_value: u64) -> Result<Layout, LayoutError> {
        if !(MIN_SCHEMA..=MAX_SCHEMA).contains(&schema) {
            return Err(LayoutError::SchemaOutOfRange(schema));
        }
        if min_value == 0 || min_value > max_value {
            return Err(LayoutError::InvalidRange {
                min: min_value,
                max: max_value,
            });
        }
        let s = schema.max(0) as u32;
        let mut layout = Layout {
            schema,
            lookup_schema: s,
            tables: Tables::of(s),
            min_value,
            max_value,
            span: max_value - min_value,
            fast_min: min_value,
            fast_span: 0,
            key_shift: 52 - (s + 1),
            offset: 0,
            min_index: 0,
            max_index: 0,
        };
        layout.min_index = layout.index(min_value);
        layout.max_index = layout.index(max_value);
        // The float-key path is linear in the index for non-negative schemas and values exact
        // in an f64; elsewhere it covers `min_value` alone (whose position, 1, the offset
        // fixes) and everything else takes the integer path.
        if schema >= 0 && min_value < FLOAT_EXACT {
            layout.fast_span = max_value.min(FLOAT_EXACT - 1) - min_value;
        }
        layout.offset = 1u64.wrapping_sub(layout.float_key_position(min_value));
        Ok(layout)
    }

    /// The default layout: [`DEFAULT_SCHEMA`], full `u64` range.
    pub fn default_layout() -> Layout {
        Layout::new(DEFAULT_SCHEMA, 1, u64::MAX).expect("default layout is valid")
    }

    /// The schema.
    pub fn schema(&self) -> i8 {
        self.schema
    }

    /// Smallest value tracked without saturation.
    pub fn min_value(&self) -> u64 {
        self.min_value
    }

    /// Largest value tracked without saturation.
    pub fn max_value(&self) -> u64 {
        self.max_value
    }

    /// Native index of the bucket holding `min_value`.
    pub fn min_index(&self) -> i32 {
        self.min_index
    }

    /// Native index of the bucket holding `max_value`.
    pub fn max_index(&self) -> i32 {
        self.max_index
    }

    /// Number of dense positions a recorder needs: the zero bucket plus `min_index..=max_index`.
    pub fn dense_len(&self) -> usize {
        (self.max_index - self.min_index) as usize + 2
    }

    /// Native bucket index of `v ≥ 1` (unclamped). `v = 0` belongs to the zero bucket and must
    /// not be passed here (it returns the index of 1).
    #[inline(always)]
    pub fn index(&self, v: u64) -> i32 {
        self.index_nonzero(v.max(1))
    }

    #[inline(always)]
    fn index_nonzero(&self, v: u64) -> i32 {
        let lz = v.leading_zeros();
        let octave = 63 - lz;
        let n = v << lz;
        let s = self.lookup_schema;
        // Top s+1 bits below the leading one: the linear cell (< CELLS, so the mask is free).
        let cell = ((n << 1) >> (63 - s)) as usize & (CELLS - 1);
        let below = self.tables.cells[cell] as usize & (CELLS - 1);
        let below = below + usize::from(n > self.tables.bounds[below]);
        let i0 = ((octave as i32) << s) + below as i32;
        if self.schema >= 0 {
            i0
        } else {
            // ceil(i0 / 2^-schema) for i0 ≥ 0.
            let shift = (-self.schema) as u32;
            (i0 + (1 << shift) - 1) >> shift
        }
    }

    /// Dense position of `v` (0 = zero bucket) and whether it saturated (was outside the range).
    ///
    /// The hot path of every histogram record. For `v` in range and below 2^53 (exact as an
    /// `f64`): `k = bits(v as f64) >> (52 − (s+1))` is the exponent followed by the top `s + 1`
    /// mantissa bits (the cell `t`); the position is `k/2 + delta[t] + [mantissa >
    /// cell_bound[t]] + offset` (see `Tables`): one conversion, two shifts, two table loads
    /// and a compare, no branch besides the range check. It decides exactly as the integer path
    /// ([`Layout::index`]), which the tests check on every schema.
    #[inline(always)]
    pub fn position(&self, v: u64) -> (usize, bool) {
        match self.fast_position(v) {
            Some(pos) => (pos, false),
            None => self.position_slow(v),
        }
    }

    /// The dense position of `v` if the float-key path places it (`v` in range, non-zero,
    /// below 2^53, schema ≥ 0; see [`Layout::position`]), else `None`: the caller's straight
    /// path for the values it records most, with everything else (zero, saturation, huge
    /// values) left to [`Layout::position`] on a cold path.
    #[inline(always)]
    pub fn fast_position(&self, v: u64) -> Option<usize> {
        // One unsigned compare: 0, values below the fast range and above it wrap past its span.
        if v.wrapping_sub(self.fast_min) > self.fast_span {
            return None;
        }
        Some(self.float_key_position(v) as usize)
    }

    /// `position(v)` by the float key, without the offset's range meaning: linear in the index
    /// for `v < 2^53` at non-negative schemas.
    #[inline(always)]
    fn float_key_position(&self, v: u64) -> u64 {
        // `as i64` first: a signed conversion is one instruction, and v < 2^53 here.
        let bits = (v as i64 as f64).to_bits();
        let key = bits >> (self.key_shift & 63);
        let t = key as usize & (CELLS - 1);
        let above = u64::from(bits << 12 > self.tables.cell_bound[t]);
        (key >> 1)
            .wrapping_add(self.tables.delta[t] as u64)
            .wrapping_add(above)
            .wrapping_add(self.offset)
    }

    /// Zero, a value outside `min_value..=max_value` (saturated into an edge position), or one
    /// the float key cannot place exactly (≥ 2^53, or any but `min_value` at a negative schema):
    /// the integer path.
    #[cold]
    #[inline(never)]
    fn position_slow(&self, v: u64) -> (usize, bool) {
        if v == 0 {
            (0, false)
        } else if v < self.min_value {
            (1, true)
        } else if v > self.max_value {
            (self.dense_len() - 1, true)
        } else {
            ((self.index_nonzero(v) - self.min_index) as usize + 1, false)
        }
    }

    /// Native index of dense position `position ≥ 1`.
    pub fn position_index(&self, pos: usize) -> i32 {
        self.min_index + pos as i32 - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent oracle: the smallest i with v <= upper_bound(schema, i), by search.
    fn oracle_index(schema: i8, v: u64) -> i32 {
        let x = v as f64;
        let per_octave = if schema >= 0 { 1i32 << schema } else { 1 };
        let guess = if schema >= 0 {
            (x.log2() * per_octave as f64).ceil() as i32
        } else {
            (x.log2() / (1 << -schema) as f64).ceil() as i32
        };
        let mut i = guess - 2;
        while x > upper_bound(schema, i) {
            i += 1;
        }
        i
    }

    #[test]
    fn powers_of_two_are_upper_bounds() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            let l = Layout::new(schema, 1, u64::MAX).unwrap();
            for e in 0..64 {
                let v = 1u64 << e;
                let i = l.index(v);
                let (lo, hi) = bucket_bounds(schema, i);
                assert!(lo < v as f64 && v as f64 <= hi, "schema {schema} v {v}");
                // Non-negative schemas have every power of two as a boundary: v closes its
                // bucket and v + 1 lies in a later one.
                if schema >= 0 {
                    assert_eq!(hi, v as f64, "schema {schema} v {v}");
                    if v > 1 {
                        assert!(l.index(v + 1) > i, "schema {schema} v {v}");
                    }
                }
            }
        }
    }

    #[test]
    fn matches_search_oracle_on_dense_and_sparse_values() {
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            let l = Layout::new(schema, 1, u64::MAX).unwrap();
            let mut vals: Vec<u64> = (1..5000).collect();
            let mut x = 0x9E37_79B9_7F4A_7C15u64;
            for _ in 0..20000 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                vals.push(x >> (x % 53 + 11)); // below 2^53: exact in f64
            }
            for v in vals.into_iter().filter(|&v| v > 0) {
                assert_eq!(l.index(v), oracle_index(schema, v), "schema {schema} v {v}");
                let (lo, hi) = bucket_bounds(schema, l.index(v));
                assert!(lo < v as f64 && v as f64 <= hi);
            }
        }
    }

    #[test]
    fn saturation_and_zero() {
        let l = Layout::new(3, 10, 1000).unwrap();
        assert_eq!(l.position(0), (0, false));
        assert_eq!(l.position(9), (1, true));
        assert_eq!(l.position(10), (1, false));
        assert_eq!(l.position(1000), (l.dense_len() - 1, false));
        assert_eq!(l.position(1001), (l.dense_len() - 1, true));
        assert_eq!(l.position_index(1), l.index(10));
        assert!(Layout::new(9, 1, 2).is_err());
        assert!(Layout::new(0, 0, 2).is_err());
        assert!(Layout::new(0, 3, 2).is_err());
    }

    /// The float-key hot path against the integer path (`index`), on every schema, several
    /// ranges (including ones crossing 2^53 and starting above it), every power of two and its
    /// neighbours, and pseudo-random values of every magnitude.
    #[test]
    fn position_matches_index_path() {
        let expected = |l: &Layout, v: u64| -> (usize, bool) {
            if v == 0 {
                (0, false)
            } else if v < l.min_value() {
                (1, true)
            } else if v > l.max_value() {
                (l.dense_len() - 1, true)
            } else {
                ((l.index(v) - l.min_index()) as usize + 1, false)
            }
        };
        let mut vals: Vec<u64> = (0..3000).collect();
        for e in 0..64 {
            let p = 1u64 << e;
            vals.extend([p - 1, p, p + 1, p.saturating_add(p / 3)]);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..20000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            vals.push(x >> (x % 64));
        }
        vals.extend([
            u64::MAX,
            u64::MAX - 1,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
        ]);
        let ranges = [
            (1, u64::MAX),
            (1_000, 60_000_000_000),
            (7, 7),
            (3, 1 << 53),
            ((1 << 53) - 5, (1 << 53) + 5),
            (1 << 60, u64::MAX),
        ];
        for schema in MIN_SCHEMA..=MAX_SCHEMA {
            for &(lo, hi) in &ranges {
                let l = Layout::new(schema, lo, hi).unwrap();
                for &v in &vals {
                    let want = expected(&l, v);
                    assert_eq!(
                        l.position(v),
                        want,
                        "schema {schema} range {lo}..={hi} v {v}"
                    );
                    if let Some(p) = l.fast_position(v) {
                        assert_eq!((p, false), want, "schema {schema} range {lo}..={hi} v {v}");
                    }
                }
            }
        }
    }

    #[test]
    fn layouts_are_small_and_share_their_tables() {
        assert!(std::mem::size_of::<Layout>() <= 80);
        let (a, b) = (Layout::new(6, 1, 100).unwrap(), Layout::default_layout());
        assert!(std::ptr::eq(a.tables, b.tables));
    }

    #[test]
    fn error_bound_of_default_schema_is_below_one_percent() {
        let e = relative_error_bound(DEFAULT_SCHEMA);
        assert!(e < 0.0055 && e > 0.0054, "{e}");
    }
}
