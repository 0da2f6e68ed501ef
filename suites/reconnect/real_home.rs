//! The real home is untouched: the client under test runs with a throw-away HOME (harness
//! sandbox), and this proves it by fingerprinting the real one before and after a full scenario.
//!
//! Scope — what the client under test (a Node/Bun CLI with npm packaging) could write if the
//! sandbox leaked, and nothing that the test run itself legitimately writes:
//! - `$HOME` itself, one level: the names of its entries, and size + mtime of its files, so a new
//!   `~/.claude.json` or `~/.npmrc` edit shows;
//! - everything under `~/.claude*`, `~/.config`, `~/.local` (XDG data and state, where native
//!   installs and state go), `~/.npm` (npm's cache and logs) and `~/.cache`;
//! - the installed CLI's own folder in the harness's version store (it must not update itself).
//!
//! Left out: `~/.cargo` and `~/.rustup` (cargo writes its registry and locks while tests build
//! and run; the client has no business there and the harness never points it there), other
//! big toolchains (`~/.pyenv`), and the version store's other folders, which the harness itself
//! fills (under a lock) when another test installs a version.
//!
//! Only metadata is read (kind, size, mtime to the nanosecond), never contents: the fingerprint
//! must not read credentials such as `~/.npmrc`. A write changes the mtime, so it shows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use harness::scenarios::{self, Scenario};
use harness::store::versions::VersionStore;
use mock_server::MockServer;

use crate::support::{claude_code, real_cli_slot, show, version_under_test};

/// One entry's metadata: `d` directory, `f` file, `l` symlink, `?` other; size; mtime in ns.
/// Directories have no size or mtime here: their mtime changes when entries come and go, which
/// the entries themselves already show.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: char,
    len: u64,
    mtime_ns: u128,
}

type Fingerprint = BTreeMap<PathBuf, Entry>;

fn entry(path: &Path) -> std::io::Result<Entry> {
    let meta = std::fs::symlink_metadata(path)?;
    let kind = if meta.is_dir() {
        'd'
    } else if meta.is_file() {
        'f'
    } else if meta.file_type().is_symlink() {
        'l'
    } else {
        '?'
    };
    if kind == 'd' {
        return Ok(Entry {
            kind,
            len: 0,
            mtime_ns: 0,
        });
    }
    let mtime_ns = meta
        .modified()?
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_nanos();
    Ok(Entry {
        kind,
        len: meta.len(),
        mtime_ns,
    })
}

/// Adds `path` and, for a directory, everything below it (symlinks are not followed).
fn walk(path: &Path, skip: &[PathBuf], into: &mut Fingerprint) -> std::io::Result<()> {
    if skip.iter().any(|s| path == s) {
        return Ok(());
    }
    let e = match entry(path) {
        Ok(e) => e,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(error),
    };
    let is_dir = e.kind == 'd';
    into.insert(path.to_owned(), e);
    if is_dir {
        for child in std::fs::read_dir(path)? {
            walk(&child?.path(), skip, into)?;
        }
    }
    Ok(())
}

/// The fingerprint of `home` as scoped above; `store_keep` is the version-store folder of the
/// CLI under test and `store_skip` the store root (when it lies inside `home`).
fn fingerprint(
    home: &Path,
    store_keep: Option<&Path>,
    store_skip: Option<&Path>,
) -> anyhow::Result<Fingerprint> {
    let mut print = Fingerprint::new();
    let skip: Vec<PathBuf> = store_skip.map(Path::to_owned).into_iter().collect();
    for child in std::fs::read_dir(home).with_context(|| format!("reading {}", home.display()))? {
        let path = child?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let deep = name.starts_with(".claude")
            || matches!(name.as_str(), ".config" | ".local" | ".npm" | ".cache");
        if deep {
            walk(&path, &skip, &mut print)?;
        } else {
            print.insert(path.clone(), entry(&path)?);
        }
    }
    if let Some(keep) = store_keep {
        let mut installed = Fingerprint::new();
        walk(keep, &[], &mut installed)?;
        // The harness keeps its own bookkeeping beside each install (features probed and seen,
        // last use, locks: `harness-*` and `.harness-*`); the client must not change the rest.
        installed.retain(|path, _| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            !(name.starts_with("harness-") || name.starts_with(".harness-"))
        });
        print.extend(installed);
    }
    Ok(print)
}

/// Human-readable differences; empty when the fingerprints match.
fn differences(before: &Fingerprint, after: &Fingerprint) -> Vec<String> {
    let mut out = Vec::new();
    for (path, old) in before {
        match after.get(path) {
            None => out.push(format!("removed {}", path.display())),
            Some(new) if new != old => {
                out.push(format!("changed {} ({old:?} -> {new:?})", path.display()))
            }
            Some(_) => {}
        }
    }
    for path in after.keys().filter(|p| !before.contains_key(*p)) {
        out.push(format!("added {}", path.display()));
    }
    out
}

/// A full real-CLI scenario (`/mcp` → Authenticate → consent → reconnect) leaves the real home as
/// it found it.
#[test]
fn a_full_real_cli_scenario_leaves_the_real_home_untouched() -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let home = PathBuf::from(std::env::var_os("HOME").context("HOME is not set")?);
    // Installing the CLI (when not cached) is the harness's doing, before the client runs.
    let client = claude_code()?;
    let store = VersionStore::from_env(&harness::clients::claude_code::PACKAGE);
    let installed = store.root().join("claude-code").join(version_under_test());
    let store_root = store
        .root()
        .starts_with(&home)
        .then(|| store.root().to_owned());
    let before = fingerprint(&home, Some(&installed), store_root.as_deref())?;
    assert!(
        before.keys().any(|p| p.starts_with(&installed)),
        "the installed CLI at {} is not in the fingerprint",
        installed.display()
    );
    let mock = MockServer::builder().start_blocking()?;
    let report = scenarios::run(Scenario::SLASH_MCP, &client, &mock);
    let text = show(&report);
    let after = fingerprint(&home, Some(&installed), store_root.as_deref())?;
    let changes = differences(&before, &after);
    assert!(
        changes.is_empty(),
        "the scenario changed the real home ({} entries watched):\n{}\n{text}",
        before.len(),
        changes.join("\n")
    );
    // The scenario must have run the client for real, or an untouched home proves nothing.
    assert!(
        !report.canonical_log().is_empty(),
        "the client sent nothing:\n{text}"
    );
    println!(
        "real home: {} entries watched under {}, unchanged",
        before.len(),
        home.display()
    );
    Ok(())
}

/// Control: in a fake home laid out like a real one, each kind of change the real test must
/// catch is caught, and a change in an excluded tree is not.
#[test]
fn the_home_fingerprint_notices_touched_added_and_removed_files() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let home = dir.path();
    for file in [
        ".claude/settings.json",
        ".config/app/config.toml",
        ".local/share/claude/state",
        ".npm/_logs/old.log",
        ".cache/thing",
        ".npmrc",
        ".cargo/registry/index",
        ".cache/store/claude-code/9.9.9/cli.js",
        ".cache/store/claude-code/1.0.0/cli.js",
    ] {
        let path = home.join(file);
        std::fs::create_dir_all(path.parent().context("parent")?)?;
        std::fs::write(&path, "x")?;
    }
    let keep = home.join(".cache/store/claude-code/9.9.9");
    let skip = home.join(".cache/store");
    let print = || fingerprint(home, Some(&keep), Some(&skip));
    let before = print()?;
    assert!(
        differences(&before, &print()?).is_empty(),
        "unstable fingerprint"
    );

    let later = SystemTime::now() + Duration::from_secs(5);
    let touch = |file: &str| -> anyhow::Result<()> {
        std::fs::OpenOptions::new()
            .write(true)
            .open(home.join(file))?
            .set_modified(later)?;
        Ok(())
    };
    // A touched file (same content and size), in each watched tree.
    for file in [
        ".claude/settings.json",
        ".config/app/config.toml",
        ".local/share/claude/state",
        ".npmrc",
        ".cache/store/claude-code/9.9.9/cli.js",
    ] {
        let before = print()?;
        touch(file)?;
        let changes = differences(&before, &print()?);
        assert_eq!(changes.len(), 1, "{file}: {changes:?}");
        assert!(changes[0].starts_with("changed"), "{file}: {changes:?}");
    }
    // A new top-level file, a new file deep down, a removed file.
    let before = print()?;
    std::fs::write(home.join(".claude.json"), "{}")?;
    std::fs::write(home.join(".npm/_logs/new.log"), "")?;
    std::fs::remove_file(home.join(".cache/thing"))?;
    let changes = differences(&before, &print()?);
    assert_eq!(changes.len(), 3, "{changes:?}");
    // Excluded: cargo's trees and the store's other versions.
    let before = print()?;
    touch(".cargo/registry/index")?;
    touch(".cache/store/claude-code/1.0.0/cli.js")?;
    assert!(differences(&before, &print()?).is_empty());
    Ok(())
}
