//! Ctrl-C and SIGTERM, for every command that runs clients (`run`, `matrix`, `bisect`, `soak`):
//! end the clients, remove the sandboxes, say what finished, exit with 128 + the signal.
//!
//! The handler runs on its own thread and does all of it itself, in this order: it takes the
//! console ([`console::freeze`]: no other thread prints after that, so nothing comes between the
//! partial results), stops the run ([`live::stop`]: SIGTERM to every process the harness
//! started, SIGKILL after a grace, the registered cleanups, the sandboxes removed), lets the
//! command print what finished, sweeps once more for anything started meanwhile, and exits. The
//! main thread is never waited for: it may be in a bounded wait of minutes.

use std::time::Duration;

use harness::console::{self, Frozen};
use harness::drive::live;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

/// How long clients get to end after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(2);

/// The most the whole stop may take (a container removal is the slowest part); past it the
/// process exits anyway rather than hang on the way out.
const STOP_LIMIT: Duration = Duration::from_secs(60);

/// Watches for Ctrl-C and SIGTERM from now on; when one comes, stops the run and calls
/// `finish` to print what finished (and how to go on), then exits with 128 + the signal.
pub fn on_interrupt(finish: impl FnOnce(&mut Frozen) + Send + 'static) {
    let mut signals = match Signals::new([SIGINT, SIGTERM]) {
        Ok(signals) => signals,
        Err(e) => {
            harness::say!(
                "harness: cannot watch for Ctrl-C ({e}); an interrupted run may leave client \
                 processes and harness-* sandboxes in {} behind",
                std::env::temp_dir().display()
            );
            return;
        }
    };
    let spawned = std::thread::Builder::new()
        .name("interrupt".into())
        .spawn(move || {
            let Some(signal) = signals.forever().next() else {
                return;
            };
            let name = if signal == SIGINT {
                "Ctrl-C (SIGINT)"
            } else {
                "SIGTERM"
            };
            let code = 128 + signal;
            std::thread::spawn(move || {
                std::thread::sleep(STOP_LIMIT);
                // The console is held by the stuck stop: straight to stderr.
                eprintln!(
                    "\nharness: stopping took over {} s; exiting with {code} without finishing it \
                     (look for harness-* folders in {})",
                    STOP_LIMIT.as_secs(),
                    std::env::temp_dir().display()
                );
                std::process::exit(code);
            });
            let mut out = console::freeze();
            out.say(&format!(
                "\nharness: interrupted by {name}: ending the clients and removing the sandboxes…"
            ));
            let stopped = live::stop(GRACE);
            finish(&mut out);
            out.say(&format!(
                "harness: ended {} process(es){}, removed {} sandbox folder(s); exiting with {}",
                stopped.processes,
                if stopped.cleanups > 0 {
                    format!(" and {} container(s)", stopped.cleanups)
                } else {
                    String::new()
                },
                stopped.dirs,
                code
            ));
            // A client that was being started as the stop began.
            live::end_descendants(nix::unistd::Pid::this(), Duration::ZERO);
            std::process::exit(code);
        });
    if let Err(e) = spawned {
        harness::say!("harness: cannot watch for Ctrl-C ({e})");
    }
}
