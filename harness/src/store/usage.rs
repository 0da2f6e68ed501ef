//! The bookkeeping every install in the store keeps beside itself, client versions and Node
//! runtimes alike: a completion marker, the size measured at install, and the last use (for
//! least-recently-used eviction).

use std::fs;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

pub const SIZE_FILE: &str = ".harness-size";

pub const LAST_USE_FILE: &str = ".harness-last-use";

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub fn record_last_use(dir: &Path) {
    // Best effort: a read-only store still works, it only evicts less well.
    let _ = fs::write(dir.join(LAST_USE_FILE), now_secs().to_string());
}

pub fn read_number(path: &Path) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// The last recorded use, else the install time (the completion marker's mtime).
pub fn last_use(dir: &Path) -> Option<u64> {
    read_number(&dir.join(LAST_USE_FILE)).or_else(|| {
        fs::metadata(dir.join(COMPLETE_MARKER))
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
    })
}

/// The size recorded at install, else measured now (versions installed by older harnesses).
pub fn recorded_size(dir: &Path) -> u64 {
    read_number(&dir.join(SIZE_FILE)).unwrap_or_else(|| {
        let size = disk_usage(dir);
        let _ = fs::write(dir.join(SIZE_FILE), size.to_string());
        size
    })
}

/// Bytes on disk under `dir` (allocated blocks, not following symlinks, each hard-linked file
/// once: native versions hard-link the same 380 MB binary under two names).
pub fn disk_usage(dir: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    let mut total = 0;
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(read) = fs::read_dir(&d) else { continue };
        for item in read.flatten() {
            let Ok(meta) = item.path().symlink_metadata() else {
                continue;
            };
            if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
                continue;
            }
            total += meta.blocks() * 512;
            if meta.is_dir() {
                stack.push(item.path());
            }
        }
    }
    total
}

pub const COMPLETE_MARKER: &str = ".harness-install-complete";
