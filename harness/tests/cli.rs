//! The `harness` binary as a person runs it: what `run` prints by default, and that a run,
//! finished or interrupted, leaves nothing behind: no `harness-*` sandbox in the temporary folder
//! (they hold the clients' configs and loopback tokens) and no client process.
//!
//! Real clients: the pinned Claude Code, and 2.1.81 for a failing run, from the version store
//! (`HARNESS_CACHE_DIR`, as `make test` sets it; installed on first use). Each run gets its own
//! temporary folder (`TMPDIR`) and bundle folder, so what it left is all that is in them.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use rstest::rstest;

/// Two cores cannot drive two full clients at once without their timings suffering.
static REAL_CLI_SLOT: Mutex<()> = Mutex::new(());

fn real_cli_slot() -> MutexGuard<'static, ()> {
    REAL_CLI_SLOT.lock().unwrap_or_else(|p| p.into_inner())
}

/// One `harness` process with a folder of its own: `tmp/` is its TMPDIR, `failures/` its bundle
/// folder, `stdout.txt` and `stderr.txt` what it printed (to files: not a terminal).
struct HarnessRun {
    dir: tempfile::TempDir,
    child: Child,
}

impl HarnessRun {
    fn start(args: &[&str]) -> anyhow::Result<HarnessRun> {
        let dir = tempfile::tempdir()?;
        std::fs::create_dir_all(dir.path().join("tmp"))?;
        let child = Command::new(env!("CARGO_BIN_EXE_harness"))
            .args(args)
            .env("TMPDIR", dir.path().join("tmp"))
            .env("HARNESS_ARTIFACTS_DIR", dir.path().join("failures"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("stdout.txt"))?)
            .stderr(std::fs::File::create(dir.path().join("stderr.txt"))?)
            .spawn()
            .context("cannot start the harness binary")?;
        Ok(HarnessRun { dir, child })
    }

    fn tmp(&self) -> PathBuf {
        self.dir.path().join("tmp")
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stdout.txt")).unwrap_or_default()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.txt")).unwrap_or_default()
    }

    /// Waits for the harness to exit, at most `limit`; past it, kills it and fails.
    fn wait(&mut self, limit: Duration) -> anyhow::Result<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!(
                    "the harness did not exit within {} s; it printed:\n{}\n{}",
                    limit.as_secs(),
                    self.stdout(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits until `ready` holds, at most `limit`.
    fn wait_until(
        &mut self,
        what: &str,
        limit: Duration,
        ready: impl Fn(&HarnessRun) -> bool,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + limit;
        while !ready(self) {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "the harness exited ({status}) before {what}; it printed:\n{}\n{}",
                    self.stdout(),
                    self.stderr()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "no {what} within {} s; the harness printed:\n{}",
                    limit.as_secs(),
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(())
    }
}

impl Drop for HarnessRun {
    fn drop(&mut self) {
        // A failed assertion must not leave the harness running either.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `harness-*` folders in `tmp`.
fn sandboxes(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|name| name.starts_with("harness-"))
                .collect()
        })
        .unwrap_or_default()
}

/// The running processes whose environment points into `tmp`: every client the harness starts
/// has its sandbox's HOME and TMPDIR there.
fn client_processes(tmp: &Path) -> Vec<String> {
    let needle = format!("={}/harness-", tmp.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            // A zombie has ended; only its parent's reaping is left.
            std::fs::read_to_string(e.path().join("stat"))
                .ok()
                .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| !rest.starts_with('Z')))
                .unwrap_or(false)
        })
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .map(|env| String::from_utf8_lossy(&env).contains(&needle))
                .unwrap_or(false)
        })
        .map(|e| {
            let pid = e.file_name().to_string_lossy().into_owned();
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            format!(
                "{pid} {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            )
        })
        .collect()
}

/// No client process left, allowing a moment for the last ones to be reaped.
fn assert_no_client_left(tmp: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut left = client_processes(tmp);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        left = client_processes(tmp);
    }
    assert!(left.is_empty(), "client processes left running: {left:#?}");
}

#[rstest]
#[case::passing("slash_mcp", None, 0)]
#[case::failing("print_after_auth", Some("2.1.81"), 1)]
fn a_finished_run_prints_no_commands_and_leaves_no_sandbox_in_temp(
    #[case] scenario: &str,
    #[case] version: Option<&str>,
    #[case] status: i32,
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mut args = vec!["run", "--scenario", scenario];
    if let Some(v) = version {
        args.extend(["--cli-version", v]);
    }
    let mut run = HarnessRun::start(&args)?;
    let exit = run.wait(Duration::from_secs(600))?;
    let (stdout, stderr) = (run.stdout(), run.stderr());
    assert_eq!(exit.code(), Some(status), "{stdout}\n{stderr}");
    assert_eq!(sandboxes(&run.tmp()), Vec::<String>::new(), "{stderr}");
    assert_no_client_left(&run.tmp());
    // The commands, environment and all, are for -v and the bundle, not the default output.
    for text in [&stdout, &stderr] {
        assert!(!text.contains("env -i"), "a command was printed:\n{text}");
    }
    assert!(
        stderr.contains(&format!("[1/1] {scenario}: ")),
        "no progress line:\n{stderr}"
    );
    assert!(
        stdout.contains("summary: claude-code"),
        "no summary grid:\n{stdout}"
    );
    let bundles: Vec<PathBuf> = std::fs::read_dir(run.dir.path().join("failures"))
        .map(|e| e.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    if status == 0 {
        assert!(bundles.is_empty(), "a passing run wrote {bundles:?}");
    } else {
        // A failing run's sandbox is in its bundle instead, with every command as started. (The
        // reference clients that run after a failure keep bundles of their own failures.)
        let own: Vec<&PathBuf> = bundles
            .iter()
            .filter(|b| {
                b.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{scenario}-")))
            })
            .collect();
        let [bundle] = own.as_slice() else {
            bail!("expected one bundle of {scenario}, found {bundles:?}");
        };
        // After the failure the reference clients ran against the same kind of server.
        assert!(
            stdout.contains("whose fault (the reference clients on the same server)"),
            "{stdout}"
        );
        assert!(bundle.join("sandbox/home").is_dir(), "{}", bundle.display());
        let commands = std::fs::read_to_string(bundle.join("commands.sh"))?;
        assert!(commands.contains("env -i HOME="), "{commands}");
        assert!(
            stdout.contains(&format!("bundle {}", bundle.display())),
            "{stdout}"
        );
    }
    Ok(())
}

#[test]
fn a_sigtermed_run_prints_a_partial_summary_exits_non_zero_and_leaves_no_sandbox_and_no_client(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mut run = HarnessRun::start(&["run"])?;
    let scenarios = harness::scenarios::Scenario::ALL.len();
    // The first scenario finishes, the second's client is running: then the signal.
    run.wait_until(
        "first scenario's progress line",
        Duration::from_secs(300),
        |r| r.stderr().contains(&format!("[1/{scenarios}] slash_mcp: ")),
    )?;
    run.wait_until(
        "client of the second scenario",
        Duration::from_secs(60),
        |r| !client_processes(&r.tmp()).is_empty(),
    )?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(run.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )?;
    let exit = run.wait(Duration::from_secs(30))?;
    let (stdout, stderr) = (run.stdout(), run.stderr());
    assert_eq!(exit.code(), Some(128 + 15), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert!(
        stderr.contains(&format!("of {scenarios} scenario(s) finished")),
        "no word of what finished:\n{stderr}"
    );
    // The partial summary grid: the finished scenario, and nothing after the signal.
    let grid = stdout
        .rsplit_once("summary: claude-code")
        .map(|(_, grid)| grid)
        .with_context(|| format!("no summary grid:\n{stdout}"))?;
    assert!(
        grid.lines()
            .any(|l| l.starts_with("slash_mcp ") && l.contains(" pass ")),
        "{grid}"
    );
    assert_eq!(sandboxes(&run.tmp()), Vec::<String>::new(), "{stderr}");
    assert_no_client_left(&run.tmp());
    Ok(())
}

#[test]
fn a_sigtermed_matrix_ends_its_parallel_cells_and_leaves_no_sandbox_and_no_client(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let mut run = HarnessRun::start(&[
        "matrix",
        "--versions",
        "2.1.331",
        "--scenarios",
        "slash_mcp,login_then_list,authenticate_tool",
        "-j",
        "2",
    ])?;
    // Two cells at once, each with its sandbox, a client running in one at least.
    run.wait_until(
        "two sandboxes and a client",
        Duration::from_secs(300),
        |r| sandboxes(&r.tmp()).len() >= 2 && !client_processes(&r.tmp()).is_empty(),
    )?;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(run.child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )?;
    let exit = run.wait(Duration::from_secs(30))?;
    let (stdout, stderr) = (run.stdout(), run.stderr());
    assert_eq!(exit.code(), Some(128 + 15), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted by SIGTERM"), "{stderr}");
    assert!(
        stderr.contains("matrix interrupted:") && stderr.contains("of 3 run(s) finished"),
        "{stderr}"
    );
    assert_eq!(sandboxes(&run.tmp()), Vec::<String>::new(), "{stderr}");
    assert_no_client_left(&run.tmp());
    Ok(())
}
