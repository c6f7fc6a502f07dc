//! Built-in alert handlers: a log line, a JSON-lines file.

use super::AlertEvent;
use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Mutex, PoisonError};

/// A handler that writes [`AlertEvent::log_line`] to stderr.
///
/// ```
/// use tachymeter_monitor::alerting::{log_handler, AlertManager};
/// AlertManager::new().on_any(log_handler());
/// ```
pub fn log_handler() -> impl Fn(&AlertEvent) + Send + Sync + 'static {
    |e: &AlertEvent| eprintln!("{}", e.log_line())
}

/// A handler that writes [`AlertEvent::log_line`] and a newline to `writer`. A write error
/// panics inside the handler, which the manager catches and counts
/// ([`AlertManager::handler_panics`](super::AlertManager::handler_panics)).
pub fn log_handler_to<W: Write + Send + 'static>(
    writer: W,
) -> impl Fn(&AlertEvent) + Send + Sync + 'static {
    let writer = Mutex::new(writer);
    move |e: &AlertEvent| {
        let mut w = writer.lock().unwrap_or_else(PoisonError::into_inner);
        if let Err(err) = writeln!(w, "{}", e.log_line()).and_then(|()| w.flush()) {
            panic!("alert log handler: {err}");
        }
    }
}

/// A handler that appends each event to the file at `path` as one JSON object per line (the
/// file is created if needed, opened now so that a bad path is an error here). A write error
/// panics inside the handler, which the manager catches and counts.
///
/// # Errors
/// The file cannot be opened for appending.
pub fn json_lines_handler(
    path: impl AsRef<Path>,
) -> io::Result<impl Fn(&AlertEvent) + Send + Sync + 'static> {
    let file = OpenOptions::new().create(true).append(true).open(path)?;
    let file = Mutex::new(file);
    Ok(move |e: &AlertEvent| {
        // Serializing plain data cannot fail; an empty object would still be a valid line.
        let mut line = serde_json::to_vec(e).unwrap_or_else(|_| b"{}".to_vec());
        line.push(b'\n');
        let mut f = file.lock().unwrap_or_else(PoisonError::into_inner);
        // One write per line: with O_APPEND, lines of several handlers do not interleave.
        if let Err(err) = f.write_all(&line) {
            panic!("alert JSON-lines handler: {err}");
        }
    })
}
