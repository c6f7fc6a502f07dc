//! [`QueryMonitor`]: database query performance by query type and by query shape (the seeds'
//! `DatabasePerformanceMonitor`: `record_query_performance`, `analyze_query_patterns`).
//!
//! Recorded, per monitor instance (label `instance`):
//!
//! | metric | kind | more labels |
//! |---|---|---|
//! | `db_query_duration` | histogram, seconds | `query_type` |
//! | `db_query_rows_total` | counter (rows returned) | `query_type` |
//! | `db_slow_queries_total` | counter (execution time above the threshold) | `query_type` |
//! | `db_query_fingerprint_calls_total` | counter | `fingerprint` |
//! | `db_query_fingerprint_slow_total` | counter | `fingerprint` |
//! | `db_query_fingerprint_time_total` | counter, nanoseconds (summed execution time) | `fingerprint` |
//! | `db_query_invalid_total` | counter (NaN, negative or infinite execution times, not recorded) | |
//!
//! # Fingerprints
//! A query is never stored per record. Its **fingerprint** ([`query_fingerprint`]) is a
//! 64-bit FNV-1a hash of its normalised token stream ([`normalize_query`] shows the stream as
//! text), computed without allocating:
//!
//! - string literals (`'…'`, with `''` and `\'` escapes), numbers (`42`, `-1.5e3`, `0xff`; a
//!   `-` is a sign after an operator, `(` or `,`, not after a word, literal or `)`) and
//!   placeholders (`?`, `$1`) become `?`; a comma-separated run of them (`IN (1, 2, 3)`)
//!   becomes one `?`;
//! - unquoted words (keywords, identifiers) are ASCII case-folded; quoted identifiers
//!   (`"Name"`, `` `name` ``) are kept as written;
//! - whitespace and comments (`-- …`, `/* … */`) only separate tokens; every other character is
//!   a token of its own (so `a<=b` and `a <= b` agree).
//!
//! The label value is the fingerprint as 16 hex digits. The monitor keeps a bounded table,
//! fingerprint → the query type and normalised text (at most 1024 bytes) of its first query;
//! an entry is made on the cold path the first time a fingerprint is seen, after which
//! recording that fingerprint takes no lock and allocates nothing. The table holds at most
//! [`max_fingerprints`](QueryMonitorBuilder::max_fingerprints) entries (default 500; keep it
//! below the engine's `label_set_limit`, default 1000): queries of further fingerprints are
//! counted under the fingerprint label `__overflow__` (reported as
//! [`QueryAnalysis::untracked_queries`]), still by query type in the per-type metrics.
//!
//! Query types are label values: keep their set bounded (`SELECT`, `INSERT`, …); past the
//! engine's per-name limit they are recorded into the families' overflow series.

use crate::table::{Fnv, SetOnceTable};
use crate::{Elapsed, EngineRef};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tachymeter::{
    Counter, CounterFamily, Engine, HistogramFamily, HistogramSnapshot, MetricValue, Opts,
    RegisterError, OVERFLOW_VALUE,
};

/// Longest normalised example text kept per fingerprint, in bytes (longer texts are cut at a
/// character boundary and end with `…`).
pub const MAX_EXAMPLE_LEN: usize = 1024;

/// The seeds' slow-query threshold: 500 ms.
pub const DEFAULT_SLOW_THRESHOLD: Duration = Duration::from_millis(500);

/// Statistics of one query type (the seeds' `analyze_query_patterns()["query_types"]` keys).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct QueryTypeAnalysis {
    /// Queries recorded.
    pub count: u64,
    /// Mean execution time, seconds (exact).
    pub avg_execution_time: Option<f64>,
    /// 95th percentile of the execution time, seconds (within the histogram's 0.55% bound).
    pub p95_execution_time: Option<f64>,
    /// Longest execution time, seconds (exact).
    pub max_execution_time: Option<f64>,
    /// Rows returned, summed.
    pub total_rows_returned: u64,
    /// Queries slower than the threshold.
    pub slow_queries: u64,
    /// `slow_queries / count` (0 without queries).
    pub slow_share: f64,
}

/// A query type of which more than 10% of the queries are slow.
///
/// Rule: `slow_queries > count × 0.1`, evaluated exactly (`10 × slow_queries > count`); 1 slow
/// query in 10 is not an opportunity, 2 in 19 are.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct OptimizationOpportunity {
    /// Always `slow_queries`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The query type.
    pub query_type: String,
    /// `High percentage of slow {query_type} queries`.
    pub issue: String,
    /// `Review {query_type} queries for optimization opportunities`.
    pub recommendation: String,
    /// Slow queries of the type.
    pub slow_queries: u64,
    /// Queries of the type.
    pub count: u64,
    /// `slow_queries / count`.
    pub slow_share: f64,
    /// Up to three fingerprints first seen with this type that have slow queries, most slow
    /// queries first: where to look.
    pub slowest_fingerprints: Vec<QueryFingerprint>,
}

/// The seeds' `analyze_query_patterns()`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct QueryAnalysis {
    /// Queries recorded (every type).
    pub total_queries: u64,
    /// The slow-query threshold, seconds.
    pub slow_query_threshold: f64,
    /// Per query type.
    pub query_types: BTreeMap<String, QueryTypeAnalysis>,
    /// Query types with more than 10% slow queries, by name.
    pub optimization_opportunities: Vec<OptimizationOpportunity>,
    /// Fingerprints in the monitor's table.
    pub fingerprints_tracked: usize,
    /// Queries whose fingerprint did not fit in the table (counted, not told apart).
    pub untracked_queries: u64,
}

/// Statistics of one query shape.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct QueryFingerprint {
    /// The fingerprint, 16 hex digits (the `fingerprint` label).
    pub fingerprint: String,
    /// The normalised text of the first query seen with this fingerprint.
    pub query: String,
    /// The query type it was first recorded with.
    pub query_type: String,
    /// Queries recorded.
    pub count: u64,
    /// Queries slower than the threshold.
    pub slow_count: u64,
    /// `slow_count / count` (0 without queries).
    pub slow_share: f64,
    /// Mean execution time, seconds (exact).
    pub avg_execution_time: Option<f64>,
    /// Summed execution time, seconds.
    pub total_execution_time: f64,
}

/// One query shape in the table, with its handles (so a known shape costs no family lookup).
struct Shape {
    fingerprint: u64,
    label: String,
    query_type: Box<str>,
    text: Box<str>,
    calls: Counter,
    slow: Counter,
    time: Counter,
}

/// Database query performance by type and shape, recorded from any thread.
///
/// ```
/// use std::sync::Arc;
/// use tachymeter_monitor::QueryMonitor;
/// let engine = Arc::new(tachymeter::Engine::builder().background(false).build().unwrap());
/// let db = QueryMonitor::builder().engine(engine.clone()).build().unwrap();
/// db.record_query("SELECT * FROM users WHERE id = 42", 0.004, 1, "SELECT");
/// db.record_query("select * from users where id = 7", 0.900, 1, "SELECT"); // slow: > 500 ms
/// engine.flush();
/// let a = db.analyze_query_patterns();
/// assert_eq!(a.query_types["SELECT"].slow_queries, 1);
/// assert_eq!(a.optimization_opportunities.len(), 1); // 1 of 2 is more than 10%
/// let slow = db.slow_queries(10);
/// assert_eq!(slow[0].query, "select * from users where id = ?");
/// assert_eq!(slow[0].count, 2); // both queries share the fingerprint
/// ```
pub struct QueryMonitor {
    engine: EngineRef,
    instance: String,
    slow_ns: u64,
    duration: HistogramFamily,
    rows: CounterFamily,
    slow: CounterFamily,
    invalid: Counter,
    fp_calls: CounterFamily,
    fp_slow: CounterFamily,
    fp_time: CounterFamily,
    shapes: SetOnceTable<Shape>,
    /// Where queries of fingerprints beyond the table's bound are counted (made on first use).
    untracked: once_cell::sync::OnceCell<Shape>,
}

impl std::fmt::Debug for QueryMonitor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryMonitor")
            .field("instance", &self.instance)
            .field("slow_threshold", &Duration::from_nanos(self.slow_ns))
            .field("fingerprints", &self.shapes)
            .finish_non_exhaustive()
    }
}

/// Configures a [`QueryMonitor`].
#[derive(Debug, Clone)]
#[must_use]
pub struct QueryMonitorBuilder {
    engine: EngineRef,
    instance: Option<String>,
    slow_ns: u64,
    max_fingerprints: usize,
}

impl QueryMonitorBuilder {
    /// Records into `engine` instead of the process-wide one.
    pub fn engine(mut self, engine: Arc<Engine>) -> Self {
        self.engine = EngineRef::Shared(engine);
        self
    }

    /// The `instance` label (default: `0`, `1`, … in creation order).
    pub fn instance(mut self, name: impl Into<String>) -> Self {
        self.instance = Some(name.into());
        self
    }

    /// A query is slow when its execution time is above `threshold` (default 500 ms, the
    /// seeds'). An invalid duration (NaN, negative, infinite) leaves the threshold unchanged.
    pub fn slow_threshold(mut self, threshold: impl Elapsed) -> Self {
        if let Some(ns) = threshold.nanos() {
            self.slow_ns = ns;
        }
        self
    }

    /// The most fingerprints told apart (default 500; see the module docs).
    pub fn max_fingerprints(mut self, n: usize) -> Self {
        self.max_fingerprints = n;
        self
    }

    /// Declares the monitor's metric families.
    ///
    /// # Errors
    /// A registration error of the engine (a name used as another kind there).
    pub fn build(self) -> Result<QueryMonitor, RegisterError> {
        let instance = self.instance.unwrap_or_else(crate::next_instance);
        let e = &*self.engine;
        let per_type = ["instance", "query_type"];
        let per_fp = ["instance", "fingerprint"];
        let fp_calls = e.counter_family(
            Opts::new("db_query_fingerprint_calls_total").help("Queries by normalised shape."),
            &per_fp,
        )?;
        let fp_slow = e.counter_family(
            Opts::new("db_query_fingerprint_slow_total").help("Slow queries by normalised shape."),
            &per_fp,
        )?;
        let fp_time = e.counter_family(
            Opts::new("db_query_fingerprint_time_total")
                .unit("nanoseconds")
                .help("Summed execution time by normalised shape."),
            &per_fp,
        )?;
        Ok(QueryMonitor {
            duration: e.histogram_family(
                Opts::new("db_query_duration")
                    .unit("seconds")
                    .help("Database query execution time."),
                &per_type,
            )?,
            rows: e.counter_family(
                Opts::new("db_query_rows_total").help("Rows returned by database queries."),
                &per_type,
            )?,
            slow: e.counter_family(
                Opts::new("db_slow_queries_total")
                    .help("Database queries slower than the slow-query threshold."),
                &per_type,
            )?,
            invalid: e.counter(
                Opts::new("db_query_invalid_total")
                    .help("Queries with a NaN, negative or infinite execution time (not recorded).")
                    .label("instance", instance.as_str()),
            )?,
            fp_calls,
            fp_slow,
            fp_time,
            shapes: SetOnceTable::new(self.max_fingerprints),
            untracked: once_cell::sync::OnceCell::new(),
            slow_ns: self.slow_ns,
            engine: self.engine,
            instance,
        })
    }
}

impl Shape {
    fn new(
        instance: &str,
        fingerprint: u64,
        label: String,
        query_type: &str,
        text: String,
        [calls, slow, time]: [&CounterFamily; 3],
    ) -> Shape {
        let values = [instance, label.as_str()];
        Shape {
            calls: calls.with(&values).clone(),
            slow: slow.with(&values).clone(),
            time: time.with(&values).clone(),
            fingerprint,
            label,
            query_type: query_type.into(),
            text: text.into(),
        }
    }
}

impl QueryMonitor {
    /// A builder (defaults: the process-wide engine, instance `0`, `1`, …, slow above 500 ms,
    /// 500 fingerprints).
    pub fn builder() -> QueryMonitorBuilder {
        QueryMonitorBuilder {
            engine: EngineRef::Global,
            instance: None,
            slow_ns: DEFAULT_SLOW_THRESHOLD.as_nanos() as u64,
            max_fingerprints: 500,
        }
    }

    /// Records one query (the seeds' `record_query_performance`): its execution time (float
    /// seconds or `Duration`), the rows it returned and its type (`SELECT`, …). The query text
    /// is read once to compute its fingerprint and not kept (see the module docs). No lock
    /// and no allocation once the fingerprint and the type have been seen. An invalid
    /// execution time is counted in `db_query_invalid_total` and nothing else is recorded.
    #[inline]
    pub fn record_query(
        &self,
        query: &str,
        execution_time: impl Elapsed,
        rows_returned: u64,
        query_type: &str,
    ) {
        let Some(ns) = execution_time.nanos() else {
            self.invalid.increment();
            return;
        };
        let values = [self.instance.as_str(), query_type];
        let slow = ns > self.slow_ns;
        self.duration.with(&values).record(ns);
        self.rows.with(&values).add(rows_returned);
        if slow {
            self.slow.with(&values).increment();
        }
        let fp = query_fingerprint(query);
        let shape = match self.shapes.find(fp, |_| true) {
            Some(s) => s,
            None => self.shape_cold(fp, query, query_type),
        };
        shape.calls.increment();
        shape.time.add(ns);
        if slow {
            shape.slow.increment();
        }
    }

    /// A fingerprint's first record: its table entry (or the untracked shape when full).
    #[cold]
    #[inline(never)]
    fn shape_cold(&self, fp: u64, query: &str, query_type: &str) -> &Shape {
        let make = || {
            Shape::new(
                &self.instance,
                fp,
                format!("{fp:016x}"),
                query_type,
                normalize_query(query),
                [&self.fp_calls, &self.fp_slow, &self.fp_time],
            )
        };
        self.shapes
            .insert_with(fp, |_| true, make)
            .unwrap_or_else(|| {
                self.untracked.get_or_init(|| {
                    Shape::new(
                        &self.instance,
                        0,
                        OVERFLOW_VALUE.to_string(),
                        "",
                        String::new(),
                        [&self.fp_calls, &self.fp_slow, &self.fp_time],
                    )
                })
            })
    }

    /// The `instance` label of this monitor's metrics.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The slow-query threshold.
    pub fn slow_threshold(&self) -> Duration {
        Duration::from_nanos(self.slow_ns)
    }

    /// Per-type statistics and optimisation opportunities (the seeds'
    /// `analyze_query_patterns()`), from the engine's latest snapshot.
    pub fn analyze_query_patterns(&self) -> QueryAnalysis {
        let snap = self.engine.snapshot();
        #[derive(Default)]
        struct Acc<'s> {
            hist: Option<&'s HistogramSnapshot>,
            rows: u64,
            slow: u64,
        }
        let mut acc: BTreeMap<&str, Acc> = BTreeMap::new();
        for m in snap.metrics() {
            if m.desc.label("instance") != Some(self.instance.as_str()) {
                continue;
            }
            let Some(t) = m.desc.label("query_type") else {
                continue;
            };
            let a = acc.entry(t).or_default();
            match (&m.value, m.desc.name.as_str()) {
                (MetricValue::Histogram(h), "db_query_duration") => a.hist = Some(h),
                (MetricValue::Counter(c), "db_query_rows_total") => a.rows = total(c.total),
                (MetricValue::Counter(c), "db_slow_queries_total") => a.slow = total(c.total),
                _ => {}
            }
        }
        let fingerprints = self.fingerprints_of(&snap);
        let mut analysis = QueryAnalysis {
            total_queries: 0,
            slow_query_threshold: self.slow_ns as f64 / 1e9,
            query_types: BTreeMap::new(),
            optimization_opportunities: Vec::new(),
            fingerprints_tracked: self.shapes.len(),
            untracked_queries: fingerprints
                .iter()
                .find(|f| f.fingerprint == OVERFLOW_VALUE)
                .map_or(0, |f| f.count),
        };
        for (query_type, a) in acc {
            let Some(h) = a.hist else { continue };
            let d = &h.cumulative;
            let count = d.count();
            let secs = |v: Option<f64>| v.map(|x| h.in_unit(x));
            let t = QueryTypeAnalysis {
                count,
                avg_execution_time: secs(d.mean()),
                p95_execution_time: secs(d.p95()),
                max_execution_time: secs(d.max().map(|x| x as f64)),
                total_rows_returned: a.rows,
                slow_queries: a.slow,
                slow_share: share(a.slow, count),
            };
            analysis.total_queries += count;
            // More than 10% slow, exactly: slow > count / 10.
            if u128::from(t.slow_queries) * 10 > u128::from(count) {
                let mut slowest: Vec<QueryFingerprint> = fingerprints
                    .iter()
                    .filter(|f| f.query_type == query_type && f.slow_count > 0)
                    .cloned()
                    .collect();
                slowest.truncate(3);
                analysis
                    .optimization_opportunities
                    .push(OptimizationOpportunity {
                        kind: "slow_queries",
                        query_type: query_type.to_string(),
                        issue: format!("High percentage of slow {query_type} queries"),
                        recommendation: format!(
                            "Review {query_type} queries for optimization opportunities"
                        ),
                        slow_queries: t.slow_queries,
                        count,
                        slow_share: t.slow_share,
                        slowest_fingerprints: slowest,
                    });
            }
            analysis.query_types.insert(query_type.to_string(), t);
        }
        analysis
    }

    /// Up to `limit` fingerprints with slow queries, most slow queries first (ties: most
    /// summed time first), from the engine's latest snapshot. Queries beyond the fingerprint
    /// table appear as fingerprint `__overflow__` with an empty query text.
    pub fn slow_queries(&self, limit: usize) -> Vec<QueryFingerprint> {
        let mut v = self.fingerprints_of(&self.engine.snapshot());
        v.retain(|f| f.slow_count > 0);
        v.truncate(limit);
        v
    }

    /// The statistics of `query`'s fingerprint (`None` if it was never recorded or did not
    /// fit in the table), from the engine's latest snapshot.
    pub fn fingerprint_stats(&self, query: &str) -> Option<QueryFingerprint> {
        let label = format!("{:016x}", query_fingerprint(query));
        self.fingerprints_of(&self.engine.snapshot())
            .into_iter()
            .find(|f| f.fingerprint == label)
    }

    /// Every fingerprint of this instance in `snap`, most slow queries first, then most time.
    fn fingerprints_of(&self, snap: &tachymeter::Snapshot) -> Vec<QueryFingerprint> {
        // (calls, slow, time ns) by fingerprint label.
        let mut acc: BTreeMap<&str, (u64, u64, u128)> = BTreeMap::new();
        for m in snap.metrics() {
            if m.desc.label("instance") != Some(self.instance.as_str()) {
                continue;
            }
            let (Some(fp), MetricValue::Counter(c)) = (m.desc.label("fingerprint"), &m.value)
            else {
                continue;
            };
            let a = acc.entry(fp).or_default();
            match m.desc.name.as_str() {
                "db_query_fingerprint_calls_total" => a.0 = total(c.total),
                "db_query_fingerprint_slow_total" => a.1 = total(c.total),
                "db_query_fingerprint_time_total" => a.2 = c.total,
                _ => {}
            }
        }
        let shapes: BTreeMap<&str, &Shape> = self
            .shapes
            .iter()
            .chain(self.untracked.get())
            .map(|s| (s.label.as_str(), s))
            .collect();
        let mut out: Vec<QueryFingerprint> = acc
            .into_iter()
            .filter(|&(_, (calls, _, _))| calls > 0)
            .map(|(label, (count, slow_count, ns))| {
                let shape = shapes.get(label);
                QueryFingerprint {
                    fingerprint: label.to_string(),
                    query: shape.map_or_else(String::new, |s| s.text.to_string()),
                    query_type: shape.map_or_else(String::new, |s| s.query_type.to_string()),
                    count,
                    slow_count,
                    slow_share: share(slow_count, count),
                    avg_execution_time: (count > 0).then(|| ns as f64 / 1e9 / count as f64),
                    total_execution_time: ns as f64 / 1e9,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.slow_count
                .cmp(&a.slow_count)
                .then(b.total_execution_time.total_cmp(&a.total_execution_time))
                .then_with(|| a.fingerprint.cmp(&b.fingerprint))
        });
        out
    }

    /// Whether the table holds `query`'s fingerprint (a fingerprint past the bound is not).
    pub fn is_tracked(&self, query: &str) -> bool {
        let fp = query_fingerprint(query);
        self.shapes.find(fp, |s| s.fingerprint == fp).is_some()
    }

    /// The most fingerprints this monitor tells apart.
    pub fn max_fingerprints(&self) -> usize {
        self.shapes.bound()
    }
}

fn total(t: u128) -> u64 {
    u64::try_from(t).unwrap_or(u64::MAX)
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// The fingerprint of `query`: a hash of its normalised token stream (see the module docs).
/// Queries that differ only in literals, whitespace, comments or keyword case share it.
/// Allocates nothing.
///
/// ```
/// use tachymeter_monitor::query_fingerprint;
/// assert_eq!(
///     query_fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3)"),
///     query_fingerprint("select *\n  from t where id in ('a')  -- one"),
/// );
/// assert_ne!(query_fingerprint("SELECT a FROM t"), query_fingerprint("SELECT b FROM t"));
/// ```
pub fn query_fingerprint(query: &str) -> u64 {
    let mut h = Fnv::NEW;
    for_each_token(query, |tok, fold| {
        h = tok.bytes().fold(h, |h, b| {
            h.byte(if fold { b.to_ascii_lowercase() } else { b })
        });
        // 0xFF never occurs in UTF-8: it separates tokens unambiguously.
        h = h.byte(0xFF);
    });
    h.0
}

/// The normalised text of `query`: its tokens as [`query_fingerprint`] sees them, separated by
/// single spaces (none after `(` and `.`, none before `)`, `,`, `.` and `;`), at most
/// [`MAX_EXAMPLE_LEN`] bytes. Allocates the returned string.
///
/// ```
/// use tachymeter_monitor::normalize_query;
/// assert_eq!(
///     normalize_query("SELECT name FROM \"Users\" WHERE id = 42 AND tag IN ('a', 'b')"),
///     "select name from \"Users\" where id = ? and tag in (?)",
/// );
/// ```
pub fn normalize_query(query: &str) -> String {
    let mut out = String::new();
    let mut cut = false;
    let mut glue = true; // no space before the next token
    for_each_token(query, |tok, fold| {
        if cut {
            return;
        }
        let first = tok.as_bytes().first().copied().unwrap_or(b' ');
        let tight = glue || matches!(first, b')' | b',' | b'.' | b';') && tok.len() == 1;
        if out.len() + tok.len() + 1 > MAX_EXAMPLE_LEN {
            cut = true;
            out.push('…');
            return;
        }
        if !tight {
            out.push(' ');
        }
        if fold {
            out.extend(tok.chars().map(|c| c.to_ascii_lowercase()));
        } else {
            out.push_str(tok);
        }
        glue = tok.len() == 1 && matches!(first, b'(' | b'.');
    });
    out
}

/// Calls `emit(token, fold)` for every normalised token of `query`; `fold`: ASCII case-fold.
fn for_each_token(query: &str, emit: impl FnMut(&str, bool)) {
    let b = query.as_bytes();
    let n = b.len();
    let digit_at = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let mut out = Collapse {
        emit,
        last_literal: false,
        pending_comma: false,
    };
    // Whether the previous token was a value (so a following `-` is an operator, not a sign).
    let mut prev_value = false;
    let mut i = 0;
    while i < n {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < n && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < n && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                i += 1;
            }
            i = (i + 2).min(n);
            continue;
        }
        let number_start = digit_at(i)
            || (c == b'.' && digit_at(i + 1))
            || (c == b'-'
                && !prev_value
                && (digit_at(i + 1) || (b.get(i + 1) == Some(&b'.') && digit_at(i + 2))));
        if c == b'\'' {
            i = skip_quoted(b, i, b'\'', true);
            out.literal();
            prev_value = true;
        } else if c == b'"' || c == b'`' {
            i = skip_quoted(b, i, c, false);
            out.token(&query[start..i], false);
            prev_value = true;
        } else if c == b'?' || (c == b'$' && digit_at(i + 1)) {
            i += 1;
            while digit_at(i) {
                i += 1;
            }
            out.literal();
            prev_value = true;
        } else if number_start {
            i += 1;
            while i < n {
                let x = b[i];
                let signed_exponent =
                    (x == b'+' || x == b'-') && matches!(b[i - 1], b'e' | b'E') && digit_at(i + 1);
                if x.is_ascii_alphanumeric() || x == b'_' || x == b'.' || signed_exponent {
                    i += 1;
                } else {
                    break;
                }
            }
            out.literal();
            prev_value = true;
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'@' || !c.is_ascii() {
            i += 1;
            while i < n
                && (b[i].is_ascii_alphanumeric() || matches!(b[i], b'_' | b'$') || !b[i].is_ascii())
            {
                i += 1;
            }
            // Both ends are at ASCII bytes or the end of the text: character boundaries.
            out.token(&query[start..i], true);
            prev_value = true;
        } else {
            i += 1;
            if c == b',' {
                out.comma();
            } else {
                out.token(&query[start..i], false);
            }
            prev_value = c == b')';
        }
    }
    out.finish();
}

/// The index after the quoted text starting at `b[i]` (its end if unterminated); a doubled
/// quote is an escaped one, and so, with `backslash`, is `\` followed by any byte.
fn skip_quoted(b: &[u8], mut i: usize, quote: u8, backslash: bool) -> usize {
    i += 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
        } else if b[i] == quote {
            if b.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// Emits tokens, collapsing a comma-separated run of literals into one `?`.
struct Collapse<F> {
    emit: F,
    /// The last token emitted was `?`.
    last_literal: bool,
    /// A comma after a `?`, held back until the next token shows whether the run continues.
    pending_comma: bool,
}

impl<F: FnMut(&str, bool)> Collapse<F> {
    fn token(&mut self, tok: &str, fold: bool) {
        if std::mem::take(&mut self.pending_comma) {
            (self.emit)(",", false);
        }
        self.last_literal = false;
        (self.emit)(tok, fold);
    }

    fn literal(&mut self) {
        // `?, ?` → `?`: drop the held comma and this literal.
        if !std::mem::take(&mut self.pending_comma) {
            self.last_literal = true;
            (self.emit)("?", false);
        }
    }

    fn comma(&mut self) {
        if self.last_literal && !self.pending_comma {
            self.pending_comma = true;
        } else {
            self.token(",", false);
        }
    }

    fn finish(&mut self) {
        if self.pending_comma {
            (self.emit)(",", false);
        }
    }
}

/// The process-wide query monitor (instance `global`), made on first use; if the process-wide
/// engine already uses one of its names as another kind, it records into a private engine.
pub fn global_query_monitor() -> &'static QueryMonitor {
    static GLOBAL: once_cell::sync::OnceCell<QueryMonitor> = once_cell::sync::OnceCell::new();
    GLOBAL.get_or_init(|| {
        crate::global_or_private(|engine| {
            let mut b = QueryMonitor::builder().instance("global");
            b.engine = engine;
            b.build()
        })
    })
}
