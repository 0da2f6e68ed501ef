//! What the harness has started and must not leave behind when a run is interrupted: the client
//! processes, the sandboxes (clients' configs and loopback tokens) and anything else a run
//! creates outside its own process (a mock server's container).
//!
//! A run that ends normally cleans up after itself (terminals end their process groups, a
//! sandbox's directory goes with it). An interrupted one does not get that far: the interrupt
//! handler calls [`stop`], which ends every process this one started, runs the registered
//! cleanups and removes the registered directories, and then the handler exits. From the moment
//! [`stop`] starts, no new sandbox is made ([`make_dir`] refuses) and no new client starts
//! ([`hold_if_stopping`]), so nothing appears behind the handler's back.
//!
//! Processes are found, not registered: every descendant of this process (from `/proc`), and the
//! whole process group of each descendant that leads its own (a terminal session's client and
//! whatever it started, reparented or not).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, killpg, Signal};
use nix::unistd::Pid;

static STOPPING: AtomicBool = AtomicBool::new(false);

static LIVE: Mutex<Live> = Mutex::new(Live {
    next: 0,
    dirs: BTreeMap::new(),
    cleanups: BTreeMap::new(),
});

type Cleanup = Box<dyn FnOnce() + Send>;

struct Live {
    next: u64,
    dirs: BTreeMap<u64, PathBuf>,
    cleanups: BTreeMap<u64, (String, Cleanup)>,
}

fn live() -> std::sync::MutexGuard<'static, Live> {
    LIVE.lock().unwrap_or_else(|p| p.into_inner())
}

/// Whether the run is being stopped (see [`stop`]).
pub fn stopping() -> bool {
    STOPPING.load(Ordering::SeqCst)
}

/// The error for what a stopping run refuses to start.
pub fn stopping_error() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Interrupted,
        "the run is being interrupted; nothing new is started",
    )
}

/// A registration; dropping it forgets it (the run cleaned up by itself).
#[derive(Debug)]
pub struct Tracked {
    id: u64,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        let mut live = live();
        live.dirs.remove(&self.id);
        live.cleanups.remove(&self.id);
    }
}

/// Makes something that lives in a directory (`make`), registered so that [`stop`] removes the
/// directory (`path_of`). Made and registered under one lock, so a stop never misses it; once a
/// stop has begun, refuses.
pub fn make_dir<T>(
    make: impl FnOnce() -> std::io::Result<T>,
    path_of: impl FnOnce(&T) -> PathBuf,
) -> std::io::Result<(T, Tracked)> {
    let mut live = live();
    if stopping() {
        return Err(stopping_error());
    }
    let made = make()?;
    let id = live.next;
    live.next += 1;
    live.dirs.insert(id, path_of(&made));
    Ok((made, Tracked { id }))
}

/// Registers `cleanup` (e.g. removing a container) for [`stop`] to run; `what` names it in
/// messages. Refuses once a stop has begun.
pub fn on_stop(what: &str, cleanup: impl FnOnce() + Send + 'static) -> std::io::Result<Tracked> {
    let mut live = live();
    if stopping() {
        return Err(stopping_error());
    }
    let id = live.next;
    live.next += 1;
    live.cleanups
        .insert(id, (what.to_owned(), Box::new(cleanup) as Cleanup));
    Ok(Tracked { id })
}

/// Called before a client process starts: once a stop has begun, the calling thread waits here
/// for the process to exit (the interrupt handler exits within seconds) instead of starting a
/// process the stop has already swept past.
pub fn hold_if_stopping() {
    while stopping() {
        std::thread::park_timeout(Duration::from_secs(1));
    }
}

/// What [`stop`] ended.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Stopped {
    pub processes: usize,
    pub dirs: usize,
    pub cleanups: usize,
}

/// Stops the run: from now on nothing new starts; every process this one started gets SIGTERM,
/// then SIGKILL after `grace`; the registered cleanups run and the registered directories are
/// removed. For the interrupt handler, which exits next.
pub fn stop(grace: Duration) -> Stopped {
    let (dirs, cleanups) = {
        let mut live = live();
        STOPPING.store(true, Ordering::SeqCst);
        (
            std::mem::take(&mut live.dirs),
            std::mem::take(&mut live.cleanups),
        )
    };
    // Processes first: a client still running would write into a sandbox being removed.
    let processes = end_descendants(Pid::this(), grace);
    let mut stopped = Stopped {
        processes,
        ..Stopped::default()
    };
    for (_, (_what, cleanup)) in cleanups {
        cleanup();
        stopped.cleanups += 1;
    }
    for dir in dirs.values() {
        if remove_dir(dir) {
            stopped.dirs += 1;
        }
    }
    stopped
}

fn remove_dir(dir: &Path) -> bool {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
        Err(_) => {
            // A client may have been writing into it as it ended; once more, then give up.
            std::thread::sleep(Duration::from_millis(100));
            std::fs::remove_dir_all(dir).is_ok()
        }
    }
}

/// A process as `/proc/<pid>/stat` tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProcessEntry {
    pid: i32,
    parent: i32,
    group: i32,
    zombie: bool,
}

/// Parses a `/proc/<pid>/stat` line: `pid (comm) state ppid pgrp …`, where comm may hold spaces
/// and parentheses.
fn parse_stat(line: &str) -> Option<ProcessEntry> {
    let (head, rest) = line.rsplit_once(") ")?;
    let pid = head.split_once(" (")?.0.trim().parse().ok()?;
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let parent = fields.next()?.parse().ok()?;
    let group = fields.next()?.parse().ok()?;
    Some(ProcessEntry {
        pid,
        parent,
        group,
        zombie: state == "Z" || state == "X",
    })
}

fn processes() -> Vec<ProcessEntry> {
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
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter_map(|line| parse_stat(&line))
        .collect()
}

/// Every live descendant of `root` (not `root` itself), parents before children.
fn descendants_in(root: i32, table: &[ProcessEntry]) -> Vec<ProcessEntry> {
    let mut found = Vec::new();
    let mut frontier = vec![root];
    let mut seen = BTreeSet::from([root]);
    while let Some(parent) = frontier.pop() {
        for p in table.iter().filter(|p| p.parent == parent) {
            if seen.insert(p.pid) {
                frontier.push(p.pid);
                if !p.zombie {
                    found.push(*p);
                }
            }
        }
    }
    found
}

fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|line| parse_stat(&line))
        .is_some_and(|p| !p.zombie)
}

/// Ends every descendant of `root`, and the process group of each that leads another group than
/// `root`'s: SIGTERM, up to `grace` for them to go, then SIGKILL. Returns how many processes
/// there were. Linux only (`/proc`); elsewhere finds none.
pub fn end_descendants(root: Pid, grace: Duration) -> usize {
    let own_group = std::fs::read_to_string(format!("/proc/{root}/stat"))
        .ok()
        .and_then(|line| parse_stat(&line))
        .map(|p| p.group);
    let found = descendants_in(root.as_raw(), &processes());
    let groups: BTreeSet<i32> = found
        .iter()
        .map(|p| p.group)
        .filter(|g| Some(*g) != own_group && *g > 1)
        .collect();
    let signal_all = |signal: Signal| {
        for g in &groups {
            let _ = killpg(Pid::from_raw(*g), signal);
        }
        for p in &found {
            let _ = kill(Pid::from_raw(p.pid), signal);
        }
    };
    if found.is_empty() {
        return 0;
    }
    signal_all(Signal::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && found.iter().any(|p| alive(p.pid)) {
        std::thread::sleep(Duration::from_millis(50));
    }
    // Also the groups' members that are no descendants any more (reparented when their parent
    // ended), and whatever a process started during the grace.
    signal_all(Signal::SIGKILL);
    for late in descendants_in(root.as_raw(), &processes()) {
        let _ = kill(Pid::from_raw(late.pid), Signal::SIGKILL);
    }
    found.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_even_when_the_command_name_has_spaces_and_parentheses() {
        let entry = parse_stat("4242 (node (claude) x) S 4200 4242 4242 0 -1 4194560 …");
        assert_eq!(
            entry,
            Some(ProcessEntry {
                pid: 4242,
                parent: 4200,
                group: 4242,
                zombie: false
            })
        );
        assert_eq!(parse_stat("7 (sh) Z 1 7 7").map(|p| p.zombie), Some(true));
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn descendants_are_found_through_every_generation_and_only_theirs() {
        let entry = |pid, parent| ProcessEntry {
            pid,
            parent,
            group: pid,
            zombie: false,
        };
        let table = [
            entry(10, 1),
            entry(11, 10),
            entry(12, 11),
            entry(13, 1),
            entry(14, 12),
        ];
        let mut found: Vec<i32> = descendants_in(10, &table).iter().map(|p| p.pid).collect();
        found.sort_unstable();
        assert_eq!(found, vec![11, 12, 14]);
    }

    /// The members of process group `group` still running.
    fn group_members(group: i32) -> Vec<i32> {
        processes()
            .into_iter()
            .filter(|p| p.group == group && !p.zombie)
            .map(|p| p.pid)
            .collect()
    }

    #[test]
    fn ending_a_process_tree_ends_a_group_leader_below_it_and_its_whole_group(
    ) -> std::io::Result<()> {
        use std::io::BufRead;
        // As a client under a terminal: a group leader below the root (here a shell standing in
        // for the harness), with a child in its group and one that left the tree when its
        // parent exited, which only the group still reaches.
        let mut root = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg("setsid /bin/sh -c 'sleep 300 & (sleep 301 &); echo $$; wait'; wait")
            .stdout(std::process::Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = root.stdout.take() {
            std::io::BufReader::new(out).read_line(&mut line)?;
        }
        let leader: i32 = line
            .trim()
            .parse()
            .map_err(|_| std::io::Error::other(format!("no group leader's pid in {line:?}")))?;
        let deadline = Instant::now() + Duration::from_secs(5);
        while group_members(leader).len() < 3 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            group_members(leader).len(),
            3,
            "the leader, sleep 300 and sleep 301"
        );
        let ended = end_descendants(Pid::from_raw(root.id() as i32), Duration::from_secs(2));
        assert!(
            ended >= 2,
            "ended {ended}: the leader and its child at least"
        );
        let deadline = Instant::now() + Duration::from_secs(5);
        while !group_members(leader).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = root.kill();
        let _ = root.wait();
        assert_eq!(group_members(leader), Vec::<i32>::new(), "still running");
        Ok(())
    }

    #[test]
    fn a_directory_made_through_make_dir_is_forgotten_when_its_registration_drops(
    ) -> std::io::Result<()> {
        let (dir, tracked) = make_dir(tempfile::tempdir, |d| d.path().to_owned())?;
        let path = dir.path().to_owned();
        assert!(live().dirs.values().any(|d| *d == path));
        drop(tracked);
        assert!(!live().dirs.values().any(|d| *d == path));
        Ok(())
    }
}
