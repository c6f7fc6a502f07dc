//! Persistent worker threads for multi-threaded `iter_custom` benches.
//!
//! Criterion calls `iter_custom(|iters| ...)` many times per benchmark. Spawning threads inside
//! it would make every call pay for thread start-up and for each library's cold per-thread
//! set-up (tachymeter's slot claim, prometheus' thread-local caches, ...). A [`Pool`] keeps its
//! workers for the whole group, so per-thread state stays warm. Each call hands the same job to
//! every worker; the job does its untimed set-up, meets the others at a [`Barrier`] through
//! [`timed`], runs `iters` operations and returns its own [`Span`]. [`Pool::run`] returns the
//! slowest worker's time: divided by `iters` it is the per-thread ns/op while all threads record
//! at once, and `threads / (that)` is the aggregate throughput.
//!
//! On a loaded machine the "concurrent" workers may not actually run at the same time (the OS
//! time-slices them): wall time then counts time spent preempted, and a contended case looks
//! uncontended. Every run therefore also records (1) its *overlap*: the time all workers were
//! inside their timed regions together, divided by the slowest worker's time; (2) its *on-CPU
//! share*: the smallest ratio, over the workers, of CPU time to wall time in the region (1.0 =
//! never preempted; together with a full overlap, the workers really ran at the same time), and
//! (3) the slowest worker's *CPU time* per operation ([`crate::cpu`]), which excludes preemption
//! but keeps contention stalls. [`Pool::log_stats`] appends the medians of a
//! benchmark to the file named by `TACHYMETER_BENCH_STATS` (set by `scripts/compare.sh`), and
//! the report prints them next to criterion's wall-time medians.
#![forbid(unsafe_code)]

use std::io::Write as _;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Barrier, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Environment variable naming the file that [`Pool::log_stats`] appends to.
pub const STATS_ENV: &str = "TACHYMETER_BENCH_STATS";

/// The timed region of one worker.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    /// When the worker left the barrier.
    pub start: Instant,
    /// When it finished its operations.
    pub end: Instant,
    /// The worker's CPU time in the region, if the platform reports it.
    pub cpu: Option<Duration>,
}

impl Span {
    /// Length of the timed region.
    #[must_use]
    pub fn elapsed(&self) -> Duration {
        self.end - self.start
    }
}

type Job = Arc<dyn Fn(usize, u64, &Barrier) -> Span + Send + Sync>;

struct Task {
    job: Job,
    iters: u64,
    barrier: Arc<Barrier>,
    done: Sender<Span>,
}

/// A fixed set of named worker threads.
pub struct Pool {
    group: String,
    senders: Vec<Sender<Task>>,
    handles: Vec<JoinHandle<()>>,
    stats: Mutex<Vec<RunStats>>,
}

/// What one [`Pool::run`] observed besides criterion's wall time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunStats {
    /// Share of the slowest worker's time during which every worker was recording.
    pub overlap: f64,
    /// Smallest CPU-time / wall-time ratio over the workers (NaN if CPU time is unavailable).
    pub on_cpu: f64,
    /// Slowest worker's CPU time divided by `iters`, in ns (NaN if unavailable).
    pub cpu_ns_per_op: f64,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("threads", &self.senders.len())
            .finish()
    }
}

impl Pool {
    /// Starts `threads` workers.
    #[must_use]
    pub fn new(threads: usize) -> Self {
        Self::named(threads, "")
    }

    /// Starts `threads` workers for the criterion group `group` (named in the overlap log).
    #[must_use]
    pub fn named(threads: usize, group: &str) -> Self {
        let (senders, handles) = (0..threads)
            .map(|tid| {
                let (tx, rx): (Sender<Task>, Receiver<Task>) = mpsc::channel();
                let handle = std::thread::Builder::new()
                    .name(format!("bench-worker-{tid}"))
                    .spawn(move || {
                        for task in rx {
                            let elapsed = (task.job)(tid, task.iters, &task.barrier);
                            // The receiver lives until every worker answered.
                            let _ = task.done.send(elapsed);
                        }
                    })
                    .expect("spawn bench worker");
                (tx, handle)
            })
            .unzip();
        Self {
            group: group.to_owned(),
            senders,
            handles,
            stats: Mutex::new(Vec::new()),
        }
    }

    /// Number of workers.
    #[must_use]
    pub fn threads(&self) -> usize {
        self.senders.len()
    }

    /// Runs `job(tid, iters, barrier)` on every worker at once and returns the slowest worker's
    /// elapsed time. The job must call [`timed`] (or wait on the barrier exactly once).
    pub fn run<F>(&self, iters: u64, job: F) -> Duration
    where
        F: Fn(usize, u64, &Barrier) -> Span + Send + Sync + 'static,
    {
        let job: Job = Arc::new(job);
        let barrier = Arc::new(Barrier::new(self.threads()));
        let (done, results) = mpsc::channel();
        for tx in &self.senders {
            tx.send(Task {
                job: Arc::clone(&job),
                iters,
                barrier: Arc::clone(&barrier),
                done: done.clone(),
            })
            .expect("bench worker alive");
        }
        drop(done);
        let spans: Vec<Span> = results.iter().collect();
        let slowest = spans
            .iter()
            .map(Span::elapsed)
            .max()
            .expect("at least one worker");
        let first_end = spans
            .iter()
            .map(|s| s.end)
            .min()
            .expect("at least one worker");
        let last_start = spans
            .iter()
            .map(|s| s.start)
            .max()
            .expect("at least one worker");
        let together = first_end.saturating_duration_since(last_start);
        let cpu = spans.iter().map(|s| s.cpu).collect::<Option<Vec<_>>>();
        let cpu_ns_per_op = cpu
            .and_then(|c| c.into_iter().max())
            .map_or(f64::NAN, |c| c.as_nanos() as f64 / iters.max(1) as f64);
        let on_cpu = spans
            .iter()
            .map(|s| {
                s.cpu.map_or(f64::NAN, |c| {
                    c.as_secs_f64() / s.elapsed().as_secs_f64().max(1e-12)
                })
            })
            .fold(f64::INFINITY, f64::min);
        if !slowest.is_zero() {
            let overlap = together.as_secs_f64() / slowest.as_secs_f64();
            self.stats.lock().expect("not poisoned").push(RunStats {
                overlap,
                on_cpu,
                cpu_ns_per_op,
            });
        }
        slowest
    }

    /// Medians (each taken separately) of the runs since the last call, then forgets them.
    pub fn take_stats(&self) -> Option<RunStats> {
        let runs = std::mem::take(&mut *self.stats.lock().expect("not poisoned"));
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied()
        };
        Some(RunStats {
            overlap: median(runs.iter().map(|r| r.overlap).collect())?,
            on_cpu: median(runs.iter().map(|r| r.on_cpu).collect())?,
            cpu_ns_per_op: median(runs.iter().map(|r| r.cpu_ns_per_op).collect())?,
        })
    }

    /// Appends `group/id <tab> overlap <tab> on-CPU share <tab> CPU ns/op` (medians) to the file
    /// named by [`STATS_ENV`], if set, and forgets the runs.
    pub fn log_stats(&self, id: &str) {
        let stats = self.take_stats();
        let (Some(s), Ok(path)) = (stats, std::env::var(STATS_ENV)) else {
            return;
        };
        let line = format!(
            "{}/{id}\t{:.3}\t{:.3}\t{:.3}\n",
            self.group, s.overlap, s.on_cpu, s.cpu_ns_per_op
        );
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Err(e) = file.and_then(|mut f| f.write_all(line.as_bytes())) {
            eprintln!("bench: cannot append the stats of {id}: {e}");
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.senders.clear();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// Waits for every worker, then times `f`.
pub fn timed(barrier: &Barrier, f: impl FnOnce()) -> Span {
    barrier.wait();
    let cpu0 = crate::cpu::thread_cpu_time();
    let start = Instant::now();
    f();
    let end = Instant::now();
    let cpu = crate::cpu::thread_cpu_time()
        .zip(cpu0)
        .map(|(b, a)| b.saturating_sub(a));
    Span { start, end, cpu }
}

/// Times `f` on the calling thread (single-threaded benches that need no pool).
pub fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

/// A background thread calling `f` in a loop until dropped (a concurrent writer or reader).
pub struct Background {
    stop: Arc<std::sync::atomic::AtomicBool>,
    handle: Option<JoinHandle<u64>>,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Background").finish_non_exhaustive()
    }
}

impl Background {
    /// Spawns the thread; `f` should do a small batch of work per call (it is called until the
    /// guard drops; the stop flag is checked between calls).
    #[must_use]
    pub fn spawn<F: FnMut() + Send + 'static>(name: &str, mut f: F) -> Self {
        use std::sync::atomic::Ordering;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let mut calls = 0u64;
                // Relaxed: a stop request; nothing else is published through the flag and
                // `join` synchronises the end.
                while !flag.load(Ordering::Relaxed) {
                    f();
                    calls += 1;
                }
                calls
            })
            .expect("spawn background thread");
        Self {
            stop,
            handle: Some(handle),
        }
    }

    /// Stops the thread and returns how many times `f` ran.
    pub fn stop(mut self) -> u64 {
        self.halt()
    }

    fn halt(&mut self) -> u64 {
        // Relaxed: see `spawn`.
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.handle.take().map_or(0, |h| h.join().unwrap_or(0))
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        self.halt();
    }
}
