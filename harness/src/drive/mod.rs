//! Driving processes: commands with bounded waits, pseudo-terminals, the scripted browser, the
//! per-run sandbox that owns HOME, network isolation, and what an interrupted run must end
//! (`live`). Knows nothing of clients or scenarios.

pub mod browser;
pub mod command;
pub mod isolation;
pub mod live;
pub mod sandbox;
pub mod terminal;
