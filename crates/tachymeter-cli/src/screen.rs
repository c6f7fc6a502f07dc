//! The live view's terminal: whole frames of text lines drawn with ratatui, shared by
//! `tachymeter demo` and `tachymeter watch`.
//!
//! A frame is a list of lines composed by the caller. [`fit`] cuts it to the terminal: every
//! line to the width (the last visible character becomes `…`), the list to the height (the
//! last row says how many lines did not fit). ratatui then draws the frame by diffing it
//! against the previous one, on the alternate screen: nothing wraps, no line of an earlier,
//! longer frame is left behind, and each [`Screen::draw`] writes exactly one frame followed by
//! one flush. A resized terminal is picked up at the next draw.
//!
//! Raw mode is on while the screen is up, so Ctrl-C arrives as a key, not as `SIGINT`: the
//! loops call [`Screen::wait`] between frames and stop cleanly on it (or on `q`).

use std::io::{self, Stdout};
use std::time::{Duration, Instant};

use ratatui::backend::{Backend, CrosstermBackend};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::text::{Line, Text};
use ratatui::widgets::Paragraph;
use ratatui::Terminal;

/// Display width of `s` in terminal columns.
fn width(s: &str) -> usize {
    Line::raw(s).width()
}

/// `line` cut to `max` columns, ending in `…` when cut.
pub fn truncate(line: &str, max: usize) -> String {
    if width(line) <= max {
        return line.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in line.chars() {
        let w = width(c.encode_utf8(&mut [0; 4]));
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    if max > 0 {
        out.push('…');
    }
    out
}

/// `lines` fitted to `width` × `height` cells: each line truncated to the width; when there
/// are more lines than rows, the last row says how many were left out.
pub fn fit(lines: &[String], width: u16, height: u16) -> Vec<String> {
    let (w, h) = (usize::from(width), usize::from(height));
    let mut out: Vec<String> = lines.iter().take(h).map(|l| truncate(l, w)).collect();
    if lines.len() > h && h > 0 {
        let hidden = lines.len() - (h - 1);
        out[h - 1] = truncate(&format!("… {hidden} more lines (enlarge the terminal)"), w);
    }
    out
}

/// A terminal that shows whole frames of lines.
pub struct Screen<B: Backend> {
    terminal: Terminal<B>,
    /// Whether this is the process's terminal (set up by ratatui, restored on drop).
    alternate: bool,
}

impl Screen<CrosstermBackend<Stdout>> {
    /// The process's terminal, set up by ratatui: alternate screen, raw mode (keys arrive as
    /// events: [`wait`](Self::wait) turns `q`, `Esc` and Ctrl-C into a quit request), and a
    /// panic hook that restores the terminal. Dropping the screen restores it.
    pub fn stdout() -> io::Result<Self> {
        let terminal = ratatui::try_init()?;
        Ok(Screen {
            terminal,
            alternate: true,
        })
    }
}

impl<B: Backend> Screen<B> {
    /// A screen drawing on `backend` (tests; the program uses [`Screen::stdout`]).
    #[cfg(test)]
    pub fn new(backend: B) -> io::Result<Self> {
        let mut terminal = Terminal::new(backend)?;
        terminal.clear()?;
        Ok(Screen {
            terminal,
            alternate: false,
        })
    }

    /// The terminal's size in columns and rows (80×24 if it cannot be read).
    pub fn size(&self) -> (u16, u16) {
        self.terminal
            .size()
            .map_or((80, 24), |s| (s.width, s.height))
    }

    /// Draws one frame of `lines`, fitted to the terminal's current size.
    pub fn draw(&mut self, lines: &[String]) -> io::Result<()> {
        self.terminal.draw(|frame| {
            let area = frame.area();
            let text: Text = fit(lines, area.width, area.height)
                .into_iter()
                .map(Line::raw)
                .collect();
            frame.render_widget(Paragraph::new(text), area);
        })?;
        Ok(())
    }

    /// The backend (tests read the drawn cells from it).
    #[cfg(test)]
    pub fn backend(&self) -> &B {
        self.terminal.backend()
    }

    /// Resizes the backend's notion of the terminal (tests).
    #[cfg(test)]
    pub fn backend_mut(&mut self) -> &mut B {
        self.terminal.backend_mut()
    }
}

impl<B: Backend> Screen<B> {
    /// Waits up to `timeout` for a key; `true` when the user asked to quit (`q`, `Esc`,
    /// Ctrl-C). A screen not on the process's terminal (tests) just sleeps.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        if !self.alternate {
            std::thread::sleep(timeout);
            return Ok(false);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if !event::poll(left)? {
                return Ok(false);
            }
            if let Event::Key(k) = event::read()? {
                let ctrl_c =
                    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
                if k.kind == KeyEventKind::Press
                    && (ctrl_c || matches!(k.code, KeyCode::Char('q') | KeyCode::Esc))
                {
                    return Ok(true);
                }
            }
        }
    }
}

impl<B: Backend> Drop for Screen<B> {
    fn drop(&mut self) {
        if self.alternate {
            ratatui::restore();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::{TestBackend, WindowSize};
    use ratatui::buffer::Cell;
    use ratatui::layout::{Position, Size};

    /// A test backend that counts draws and flushes.
    struct Counting {
        inner: TestBackend,
        draws: usize,
        flushes: usize,
    }

    impl Backend for Counting {
        fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
        where
            I: Iterator<Item = (u16, u16, &'a Cell)>,
        {
            self.draws += 1;
            self.inner.draw(content)
        }
        fn hide_cursor(&mut self) -> io::Result<()> {
            self.inner.hide_cursor()
        }
        fn show_cursor(&mut self) -> io::Result<()> {
            self.inner.show_cursor()
        }
        fn get_cursor_position(&mut self) -> io::Result<Position> {
            self.inner.get_cursor_position()
        }
        fn set_cursor_position<P: Into<Position>>(&mut self, p: P) -> io::Result<()> {
            self.inner.set_cursor_position(p)
        }
        fn clear(&mut self) -> io::Result<()> {
            self.inner.clear()
        }
        fn size(&self) -> io::Result<Size> {
            self.inner.size()
        }
        fn window_size(&mut self) -> io::Result<WindowSize> {
            self.inner.window_size()
        }
        fn flush(&mut self) -> io::Result<()> {
            self.flushes += 1;
            self.inner.flush()
        }
    }

    /// The rows of the backend's buffer, trailing blanks removed.
    fn rows(b: &TestBackend) -> Vec<String> {
        let buf = b.buffer();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol())
                    .collect::<String>()
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    fn long_frame(n: usize) -> Vec<String> {
        (0..n)
            .map(|i| {
                format!("line {i:02} µs {}", "x".repeat(10 * i))
                    .trim_end()
                    .to_owned()
            })
            .collect()
    }

    #[test]
    fn truncates_by_display_width() {
        assert_eq!(truncate("abcdef", 6), "abcdef");
        assert_eq!(truncate("abcdef", 5), "abcd…");
        assert_eq!(truncate("µµµµµµ", 3), "µµ…");
        assert_eq!(truncate("abc", 0), "");
        assert_eq!(width(&truncate(&"y".repeat(200), 80)), 80);
    }

    #[test]
    fn fit_keeps_the_count_of_hidden_lines() {
        let lines = long_frame(30);
        let out = fit(&lines, 60, 20);
        assert_eq!(out.len(), 20);
        assert_eq!(out[19], "… 11 more lines (enlarge the terminal)");
        assert_eq!(
            out[..19],
            lines[..19]
                .iter()
                .map(|l| truncate(l, 60))
                .collect::<Vec<_>>()[..]
        );
        assert_eq!(fit(&lines[..3], 60, 20).len(), 3);
    }

    /// At 80×24 and 60×20: every row holds exactly the fitted line (so nothing wrapped onto
    /// the next row), a shorter later frame leaves no row of the earlier one, and each draw is
    /// one write and one flush.
    #[test]
    fn frames_fit_and_leave_nothing_behind() {
        for (w, h) in [(80u16, 24u16), (60, 20)] {
            let backend = Counting {
                inner: TestBackend::new(w, h),
                draws: 0,
                flushes: 0,
            };
            let mut screen = Screen::new(backend).unwrap();
            let tall = long_frame(40);
            screen.draw(&tall).unwrap();
            let (d0, f0) = (screen.backend().draws, screen.backend().flushes);
            assert_eq!(
                (d0, f0),
                (1, 1),
                "{w}x{h}: one write and one flush per frame"
            );
            let expected = fit(&tall, w, h);
            assert_eq!(rows(&screen.backend().inner), expected, "{w}x{h}");
            for r in rows(&screen.backend().inner) {
                assert!(width(&r) <= usize::from(w));
            }

            let short: Vec<String> = vec!["short frame".into(), "two lines".into()];
            screen.draw(&short).unwrap();
            assert_eq!((screen.backend().draws, screen.backend().flushes), (2, 2));
            let mut want = short.clone();
            want.resize(usize::from(h), String::new());
            assert_eq!(
                rows(&screen.backend().inner),
                want,
                "{w}x{h}: no leftover rows"
            );
        }
    }

    /// A terminal shrunk between frames gets a frame fitted to the new size.
    #[test]
    fn a_resize_is_picked_up_at_the_next_draw() {
        let mut screen = Screen::new(TestBackend::new(80, 24)).unwrap();
        let lines = long_frame(30);
        screen.draw(&lines).unwrap();
        screen.backend_mut().resize(60, 20);
        screen.draw(&lines).unwrap();
        assert_eq!(rows(screen.backend()), fit(&lines, 60, 20));
    }
}
