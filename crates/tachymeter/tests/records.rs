//! Record logs against a model: three long-lived threads (three shards) record in an order
//! the test dictates, with a mock clock that moves between records and flushes at arbitrary
//! points; the snapshot's recent records must be exactly the newest `capacity` records of the
//! model, in time order, and totals and overwrite counts must add up.

use proptest::prelude::*;
use std::sync::mpsc;
use std::time::Duration;
use tachymeter::{Clock, Engine, RecordLog};

/// A thread that records what it is told and acknowledges each record.
struct Worker {
    tx: mpsc::Sender<Option<[u64; 3]>>,
    ack: mpsc::Receiver<()>,
    join: std::thread::JoinHandle<()>,
}

fn worker(log: RecordLog) -> Worker {
    let (tx, rx) = mpsc::channel::<Option<[u64; 3]>>();
    let (ack_tx, ack) = mpsc::channel();
    let join = std::thread::spawn(move || {
        while let Ok(Some(fields)) = rx.recv() {
            log.record(fields);
            ack_tx.send(()).unwrap();
        }
    });
    Worker { tx, ack, join }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn recent_records_are_the_newest_of_all_threads_in_time_order(
        ops in prop::collection::vec((0usize..4, any::<u32>()), 1..60),
        capacity in prop_oneof![Just(4usize), Just(8), Just(64)],
    ) {
        let (clock, mock) = Clock::mock();
        let e = Engine::builder()
            .background(false)
            .clock(clock)
            .events_capacity(capacity)
            .build()
            .unwrap();
        let log = e.record_log("ops").unwrap();
        let workers: Vec<Worker> = (0..3).map(|_| worker(log.clone())).collect();
        let mut model: Vec<(Duration, [u64; 3])> = Vec::new();
        let mut t = Duration::ZERO;
        for (who, payload) in ops {
            if who == 3 {
                drop(e.flush());
                continue;
            }
            mock.advance(Duration::from_micros(1));
            t += Duration::from_micros(1);
            let fields = [who as u64, payload as u64, model.len() as u64];
            workers[who].tx.send(Some(fields)).unwrap();
            workers[who].ack.recv().unwrap();
            model.push((t, fields));
        }
        for w in workers {
            w.tx.send(None).unwrap();
            w.join.join().unwrap();
        }
        let snap = e.flush();
        let r = snap.records("ops").unwrap();
        prop_assert_eq!(r.total, model.len() as u64);
        let got: Vec<(Duration, [u64; 3])> = r.recent.iter().map(|x| (x.at, x.fields)).collect();
        let keep = model.len().min(capacity);
        prop_assert_eq!(&got[..], &model[model.len() - keep..]);
        // Every record is either kept, overwritten in a ring, or pushed out of the merged window.
        prop_assert!(r.overwritten <= model.len() as u64);
        prop_assert_eq!(r.last(2), &r.recent[r.recent.len().saturating_sub(2)..]);
    }
}

#[test]
fn overwrites_are_counted_and_resets_start_over() {
    let e = Engine::builder()
        .background(false)
        .events_capacity(4)
        .build()
        .unwrap();
    let log = e.record_log("small").unwrap();
    for i in 0..10u64 {
        log.record([i, 0, 0]);
    }
    let s = e.flush();
    let r = s.records("small").unwrap();
    assert_eq!((r.total, r.overwritten), (10, 6));
    let kept: Vec<u64> = r.recent.iter().map(|x| x.fields[0]).collect();
    assert_eq!(kept, [6, 7, 8, 9]);
    log.reset();
    log.record([42, 1, 2]);
    let s = e.flush();
    let r = s.records("small").unwrap();
    assert_eq!((r.total, r.overwritten), (1, 0));
    assert_eq!(r.recent.len(), 1);
    assert_eq!(r.recent[0].fields, [42, 1, 2]);
    assert!(s.metrics()[0].reset_at.is_some());
}

#[test]
fn the_shared_overflow_slot_counts_its_records_and_drops_their_ring_entries() {
    let e = Engine::builder()
        .background(false)
        .max_threads(1)
        .build()
        .unwrap();
    let log = e.record_log("shared").unwrap();
    let rec = e.local_recorder(); // holds the only exclusive slot
    std::thread::scope(|s| {
        s.spawn(|| {
            for i in 0..5u64 {
                log.record([i, 0, 0]);
            }
        })
        .join()
        .unwrap();
    });
    let s = e.flush();
    let r = s.records("shared").unwrap();
    assert_eq!(r.total, 5);
    assert!(r.recent.is_empty());
    assert_eq!(s.stats().ring_dropped, 5);
    drop(rec);
}

#[test]
fn record_log_families_and_export() {
    let e = Engine::builder().background(false).build().unwrap();
    let fam = e.record_log_family("serializations", &["format"]).unwrap();
    fam.record(&["json"], [1200, 512, 1]);
    fam.with(&["csv"]).record([900, 100, 0]);
    let snap = e.flush();
    let json = snap.get("serializations", &[("format", "json")]).unwrap();
    assert!(matches!(
        &json.value,
        tachymeter::MetricValue::Records(r) if r.total == 1 && r.recent[0].fields == [1200, 512, 1]
    ));
}
