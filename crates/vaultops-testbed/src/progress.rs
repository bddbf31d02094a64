//! Step reporting: the runtime says when a step begins and ends (with its duration and a short
//! outcome); the caller decides how to show it (`xtask` prints lines, tests stay silent).

use std::time::{Duration, Instant};

/// Receives step events. Both methods default to doing nothing.
pub trait Progress: Send {
    /// `step` started.
    fn begin(&mut self, _step: &str) {}
    /// `step` ended after `elapsed`; `outcome` is a short human summary.
    fn end(&mut self, _step: &str, _elapsed: Duration, _outcome: &str) {}
}

/// Reports nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {}

/// Times one step and reports it.
pub(crate) struct Step<'a> {
    progress: &'a mut dyn Progress,
    name: &'static str,
    started: Instant,
}

impl<'a> Step<'a> {
    pub(crate) fn begin(progress: &'a mut dyn Progress, name: &'static str) -> Self {
        progress.begin(name);
        Self {
            progress,
            name,
            started: Instant::now(),
        }
    }

    pub(crate) fn end(self, outcome: impl AsRef<str>) {
        self.progress
            .end(self.name, self.started.elapsed(), outcome.as_ref());
    }
}
