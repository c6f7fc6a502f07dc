//! The live dashboard in a real browser: runs the `tachymeter demo` binary, opens the URL it
//! prints in headless Chromium and drives the page through the DevTools protocol (a small
//! client over `tungstenite`). Checks: no console error, exception or error log entry while
//! the demo runs; the demo's series are in the DOM; the request count shown grows between two
//! reads 3 s apart; clicking a histogram series draws its distribution; the screenshot is not
//! blank; and once the demo is killed the page says the process is gone.
//!
//! Needs Debian's `chromium` (`.ci/install-chromium.sh`). Without it the test fails when `CI`
//! is set and is skipped with a notice otherwise. Every wait has a deadline.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};
use tungstenite::{Message, WebSocket};

mod common;
use common::{Kill, TempDir};

/// The Chromium binary, as the report rendering test finds it; `None` (after a notice) when
/// there is none and `CI` is not set; a failure when `CI` is set.
fn chromium() -> Option<&'static str> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "the dashboard browser test needs chromium on PATH in CI: run .ci/install-chromium.sh"
        );
        println!("dashboard_in_chromium: skipped, no chromium on PATH (.ci/install-chromium.sh)");
    }
    found
}

/// Reads `child`'s `stream` on a thread, for ever (so the child never blocks on a full pipe),
/// and sends the first line that `pick` maps to `Some`.
fn watch(
    stream: impl std::io::Read + Send + 'static,
    pick: impl Fn(&str) -> Option<String> + Send + 'static,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(found) = pick(&line) {
                let _ = tx.send(found);
            }
        }
    });
    rx
}

/// A DevTools-protocol connection to the browser with one attached page session.
struct Cdp {
    ws: WebSocket<TcpStream>,
    next_id: u64,
    session: Option<String>,
    /// Every event received so far, in order.
    events: Vec<Value>,
}

impl Cdp {
    fn connect(url: &str) -> Cdp {
        let host = url
            .trim_start_matches("ws://")
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        let stream = TcpStream::connect(&host).expect("connect to the DevTools port");
        // Bounds every read: a silent browser fails the test instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let (ws, _) = tungstenite::client(url, stream).expect("DevTools websocket handshake");
        Cdp {
            ws,
            next_id: 0,
            session: None,
            events: Vec::new(),
        }
    }

    /// Calls `method` (in the page session once attached) and returns its result; events that
    /// arrive meanwhile are kept in `events`.
    fn call(&mut self, method: &str, params: Value) -> Value {
        self.call_raw(method, params)
            .unwrap_or_else(|e| panic!("{method} failed: {e}"))
    }

    /// Reads the next message, keeping it in `events` unless it is the answer to `id`.
    fn next_message(&mut self, id: Option<u64>) -> Option<Value> {
        let text = match self.ws.read().expect("read from DevTools") {
            Message::Text(t) => t.to_string(),
            Message::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
            _ => return None,
        };
        let v: Value = serde_json::from_str(&text).expect("DevTools sends JSON");
        if id.is_some() && v.get("id").and_then(Value::as_u64) == id {
            return Some(v);
        }
        self.events.push(v);
        None
    }

    /// Waits for an event named `method`, the `since`th event received or a later one.
    fn wait_event(&mut self, method: &str, since: usize, limit: Duration) {
        let deadline = Instant::now() + limit;
        while !self.events[since..].iter().any(|e| e["method"] == method) {
            assert!(Instant::now() < deadline, "no {method} within {limit:?}");
            self.next_message(None);
        }
    }

    /// [`call`](Self::call), with the protocol error as `Err`.
    fn call_raw(&mut self, method: &str, params: Value) -> Result<Value, Value> {
        self.next_id += 1;
        let id = self.next_id;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = &self.session {
            msg["sessionId"] = json!(s);
        }
        self.ws
            .send(Message::text(msg.to_string()))
            .expect("send a DevTools command");
        loop {
            if let Some(v) = self.next_message(Some(id)) {
                return match v.get("error") {
                    Some(e) => Err(e.clone()),
                    None => Ok(v["result"].clone()),
                };
            }
        }
    }

    /// Evaluates `expression` in the page: its value, or the exception it threw.
    fn try_eval(&mut self, expression: &str) -> Result<Value, Value> {
        let r = self.call_raw(
            "Runtime.evaluate",
            json!({ "expression": expression, "returnByValue": true }),
        )?;
        match r.get("exceptionDetails") {
            Some(e) => Err(e.clone()),
            None => Ok(r["result"]["value"].clone()),
        }
    }

    /// Evaluates `expression` in the page and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        self.try_eval(expression)
            .unwrap_or_else(|e| panic!("{expression}: {e}"))
    }

    /// Evaluates `expression` every 200 ms until it is `true`; fails after `limit`. An
    /// exception or a protocol error counts as "not yet".
    fn wait_for(&mut self, what: &str, expression: &str, limit: Duration) {
        let deadline = Instant::now() + limit;
        loop {
            let got = self.try_eval(expression);
            if got == Ok(json!(true)) {
                return;
            }
            if Instant::now() > deadline {
                let status = self.try_eval("document.getElementById('status').textContent");
                panic!("{what}: not within {limit:?} (last: {got:?}; page status: {status:?})");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Console errors, uncaught exceptions and error log entries received so far.
    fn errors(&self) -> Vec<&Value> {
        self.events
            .iter()
            .filter(|e| {
                let p = &e["params"];
                match e["method"].as_str() {
                    Some("Runtime.exceptionThrown") => true,
                    Some("Runtime.consoleAPICalled") => {
                        matches!(p["type"].as_str(), Some("error" | "assert"))
                    }
                    Some("Log.entryAdded") => p["entry"]["level"] == "error",
                    _ => false,
                }
            })
            .collect()
    }
}

/// The number in the first summary card (total requests, `9,047`).
const REQUESTS: &str =
    "Number((document.querySelector('#cards .card .value') || {textContent: ''}).textContent.replace(/,/g, '')) || 0";

#[test]
fn dashboard_in_chromium() {
    let Some(chromium) = chromium() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("tachymeter-dashboard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = TempDir(dir);

    // The demo: one worker, no fault phase, long enough to outlive the test (killed at the end).
    let mut demo = Command::new(env!("CARGO_BIN_EXE_tachymeter"))
        .args([
            "demo",
            "--duration",
            "300s",
            "--fault",
            "off",
            "--threads",
            "1",
            "--no-tui",
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let demo_out = demo.stdout.take().unwrap();
    let mut demo = Some(Kill(demo));
    let urls = watch(demo_out, |line| {
        line.strip_prefix("dashboard: ").map(str::to_owned)
    });
    let url = urls
        .recv_timeout(Duration::from_secs(60))
        .expect("the demo prints its dashboard URL");
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{url}"
    );

    let mut browser = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
            "--remote-debugging-port=0",
        ])
        .arg(format!(
            "--user-data-dir={}",
            dir.0.join("profile").display()
        ))
        .arg("about:blank")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chromium");
    let browser_err = browser.stderr.take().unwrap();
    let _browser = Kill(browser);
    let ws = watch(browser_err, |line| {
        line.strip_prefix("DevTools listening on ")
            .map(|s| s.trim().to_owned())
    })
    .recv_timeout(Duration::from_secs(60))
    .expect("chromium prints its DevTools URL");

    let mut cdp = Cdp::connect(&ws);
    let target = cdp.call("Target.createTarget", json!({ "url": "about:blank" }));
    let attached = cdp.call(
        "Target.attachToTarget",
        json!({ "targetId": target["targetId"], "flatten": true }),
    );
    cdp.session = Some(attached["sessionId"].as_str().unwrap().to_owned());
    for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
        cdp.call(domain, json!({}));
    }
    let (width, height) = (1280u32, 1400u32);
    cdp.call(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": width, "height": height, "deviceScaleFactor": 1, "mobile": false }),
    );
    let since = cdp.events.len();
    cdp.call("Page.navigate", json!({ "url": url }));
    cdp.wait_event("Page.loadEventFired", since, Duration::from_secs(30));

    // Live, with the demo's series and monitors on the page.
    cdp.wait_for(
        "the page is live",
        "!!document.body && document.body.dataset.status === 'live'",
        Duration::from_secs(30),
    );
    let series = [
        "demo_request_latency",
        "inference_time{instance=\"demo\"}",
        "serialization_duration{",
        "profile_wall_time{",
        "demo_requests_total",
    ];
    let check = format!(
        "(() => {{ const e = document.getElementById('series'); const t = e ? e.innerText : ''; return {}.every(s => t.includes(s)); }})()",
        json!(series)
    );
    cdp.wait_for(
        "the demo's series are shown",
        &check,
        Duration::from_secs(30),
    );
    let monitors = cdp.eval("document.getElementById('monitors').innerText");
    for m in ["inference", "serialization", "demo"] {
        assert!(monitors.as_str().unwrap().contains(m), "{monitors}");
    }

    // The numbers move: the request count grows between two reads 3 s apart.
    let first = cdp.eval(REQUESTS).as_f64().unwrap();
    let p99_first = cdp.eval("document.getElementById('series').innerText");
    std::thread::sleep(Duration::from_secs(3));
    let second = cdp.eval(REQUESTS).as_f64().unwrap();
    let p99_second = cdp.eval("document.getElementById('series').innerText");
    assert!(
        first > 0.0 && second > first,
        "requests {first} then {second}"
    );
    assert_ne!(p99_first, p99_second, "the series table did not change");

    // Selecting a series draws its distribution.
    cdp.eval("document.querySelector('#series tr[data-series^=\"inference_time\"]').click(); true");
    cdp.wait_for(
        "the selected series' distribution is drawn",
        "(() => { const d = document.getElementById('distribution'); \
         const bars = [...d.querySelectorAll('svg rect.bar')]; \
         return (d.dataset.series || '').startsWith('inference_time') && bars.length >= 3 \
         && bars.some(b => Number(b.getAttribute('height')) > 10); })()",
        Duration::from_secs(15),
    );
    assert_eq!(
        cdp.eval("document.querySelectorAll('#series tr.selected').length"),
        json!(1)
    );

    // The screenshot is not blank.
    let shot = cdp.call("Page.captureScreenshot", json!({ "format": "png" }));
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().unwrap())
        .unwrap();
    std::fs::write(dir.0.join("dashboard.png"), &png).unwrap();
    let mut reader = png::Decoder::new(std::io::Cursor::new(png))
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (width, height));
    let channels = info.line_size / info.width as usize;
    let px = &buf[..info.buffer_size()];
    let (min, max) = (px.iter().min().unwrap(), px.iter().max().unwrap());
    assert!(max - min > 100, "a blank screenshot");
    let not_white = px
        .chunks(channels)
        .filter(|p| p.iter().take(3).any(|&c| c < 200))
        .count();
    assert!(
        not_white * 50 > (info.width * info.height) as usize,
        "only {not_white} non-white pixels"
    );
    let mut colours: Vec<&[u8]> = px.chunks(channels).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 20, "{} colours", colours.len());

    // Nothing went wrong while the demo ran.
    let errors = cdp.errors();
    assert!(errors.is_empty(), "console errors: {errors:#?}");

    // The demo ends: the page says so.
    drop(demo.take());
    cdp.wait_for(
        "the page notices the process is gone",
        "!!document.body && document.body.dataset.status === 'gone' \
         && document.getElementById('status').textContent.includes('process gone')",
        Duration::from_secs(15),
    );
}
