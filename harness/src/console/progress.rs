//! Progress: a bar (or a spinner) on stderr when it is a terminal, plain lines anywhere else.
//!
//! On a terminal the bar shows what is going on now and each finished step's line is printed
//! above it; elsewhere (a CI log, a pipe) there is no bar, only the finished steps' lines, so a
//! log holds no control characters and no repeated redraws.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{labelled, CONSOLE};

/// A bar over `total` steps, labelled `what` (`run`, `matrix`, `bisect`).
pub fn progress(what: &str, total: u64) -> Progress {
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template(
        "{prefix:.bold} [{bar:24.cyan/blue}] {pos}/{len} {elapsed:>4} {wide_msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(what.to_owned());
    Progress::shown(bar)
}

/// A spinner for a wait of unknown length (an install), saying `message`.
pub fn spinner(message: &str) -> Progress {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    if let Ok(style) = ProgressStyle::with_template("{spinner} {wide_msg} {elapsed}") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    Progress::shown(bar)
}

/// A bar or a spinner, removed when dropped; see the module's documentation.
pub struct Progress {
    /// `None` on plain output.
    bar: Option<ProgressBar>,
    id: u64,
}

impl Progress {
    fn shown(bar: ProgressBar) -> Progress {
        match CONSOLE.add_bar(bar) {
            Some((id, bar)) => {
                // The elapsed time moves while a step runs for minutes.
                bar.enable_steady_tick(Duration::from_millis(250));
                Progress { bar: Some(bar), id }
            }
            None => Progress { bar: None, id: 0 },
        }
    }

    /// No bar: the output is not a terminal. Callers then say what a bar would have shown.
    pub fn is_plain(&self) -> bool {
        self.bar.is_none()
    }

    /// What is going on now (the bar's message); nothing on plain output.
    pub fn now(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.to_owned());
        }
    }

    /// The number of steps, when it changes (a bisect's estimate).
    pub fn set_length(&self, total: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(total);
        }
    }

    /// How many steps are done (a resumed bisect starts past its saved probes).
    pub fn set_position(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done);
        }
    }

    /// A step finished: its line goes above the bar (or out, plain), and the bar moves on.
    pub fn step(&self, line: &str) {
        CONSOLE.say(&labelled(line));
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.bar.take().is_some() {
            CONSOLE.remove_bar(self.id);
        }
    }
}
