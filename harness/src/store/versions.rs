//! The version store: exact CLI versions installed from the npm registry into the harness's own
//! cache, one folder per version, reused when present.
//!
//! npm's own cache and user config are pointed inside the store so an install writes nothing into
//! the user's home. A file lock per version keeps parallel tests from installing the same version
//! twice; an install goes to a staging folder and is renamed into place only when complete, so an
//! interrupted install never looks finished.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::drive::command::CommandSpec;
use crate::store::package::{ClientPackage, Packaging};
use crate::store::usage::{
    disk_usage, last_use, record_last_use, recorded_size, COMPLETE_MARKER, SIZE_FILE,
};
use crate::store::version_number::is_exact_version;

/// Environment variable that moves the store.
pub const CACHE_DIR_ENV: &str = "HARNESS_CACHE_DIR";

/// Environment variable that caps the store's size (`4G`, `500M`, `none`); `--cache-size` too.
pub const CACHE_SIZE_ENV: &str = "HARNESS_CACHE_SIZE";

/// The cap when none is given: room for about twenty native versions (~380 MB each).
pub const DEFAULT_CACHE_SIZE: u64 = 8 * GIB;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

/// The longest an install may take before it is abandoned (big native packages on a slow mirror).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("`{0}` is not a version number: give an exact published version such as 2.1.331 (`harness versions --client <client>` lists them)")]
    Malformed(String),
    #[error("{package}@{version} is not published on the npm registry (npm: ETARGET); run `harness versions` to list the versions that exist (`harness versions --last 20` for the newest)")]
    NotPublished {
        package: &'static str,
        version: String,
    },
    #[error("npm could not install {package}@{version} (exit {status}); its output:\n{output}")]
    InstallFailed {
        package: &'static str,
        version: String,
        status: String,
        output: String,
    },
    #[error("installing {package}@{version} took longer than {secs} s; check the network to the npm registry and retry", secs = INSTALL_TIMEOUT.as_secs())]
    InstallTimedOut {
        package: &'static str,
        version: String,
    },
    #[error("{package}@{version} installed, but no executable of it is under {dir}: the package layout changed, or the version's platform build is missing from the registry (`harness versions` lists only installable versions)")]
    NoExecutable {
        package: &'static str,
        version: String,
        dir: PathBuf,
    },
    #[error("{package}@{version} needs a Node.js the store could not provide: {message}")]
    Node {
        package: &'static str,
        version: String,
        message: String,
    },
    #[error("`npm` was not found on PATH; install Node.js and npm (on Debian: apt-get install -y nodejs npm)")]
    NpmMissing,
    #[error("`{0}` is not a size: write it like 4G, 500M, 1.5G or `none` for no cap")]
    BadSize(String),
    #[error("version store at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> VersionError + '_ {
    move |source| VersionError::Io {
        path: path.to_owned(),
        source,
    }
}

/// One installed version and how to launch it.
#[derive(Debug, Clone)]
pub struct InstalledVersion {
    /// The client ([`ClientPackage::client`]).
    pub client: &'static str,
    pub version: String,
    pub dir: PathBuf,
    pub packaging: Packaging,
    pub program: PathBuf,
    /// Arguments that come before the CLI's own (the script path when run with node).
    pub pre_args: Vec<String>,
    /// A shared lock on the version's in-use file, held while any clone of this value lives:
    /// eviction skips a version someone holds.
    lease: Option<Arc<File>>,
}

impl InstalledVersion {
    /// A command that runs this CLI with `args`.
    pub fn command<I, S>(&self, args: I) -> CommandSpec
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut spec = CommandSpec::new(&self.program);
        spec.args(self.pre_args.iter().cloned());
        spec.args(args.into_iter().map(Into::into));
        spec
    }

    /// A version outside the store (a test's stand-in, a client run from a folder of its own):
    /// no lease, nothing evicts it.
    pub fn unmanaged(
        client: &'static str,
        version: &str,
        dir: PathBuf,
        launch: crate::store::package::Launch,
    ) -> InstalledVersion {
        InstalledVersion {
            client,
            version: version.to_owned(),
            dir,
            packaging: launch.packaging,
            program: launch.program,
            pre_args: launch.pre_args,
            lease: None,
        }
    }

    /// Whether this value holds the version's in-use lock.
    pub fn is_leased(&self) -> bool {
        self.lease.is_some()
    }
}

/// One version in the store, as `harness versions --installed` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoreEntry {
    pub version: String,
    pub dir: PathBuf,
    pub packaging: Option<Packaging>,
    pub size_bytes: u64,
    /// Seconds since the Unix epoch of the last `ensure` (else the install time).
    pub last_used: Option<u64>,
    /// Another process (or this one) holds the version's in-use lock.
    pub in_use: bool,
}

/// What an eviction pass did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Eviction {
    pub evicted: Vec<StoreEntry>,
    /// Over the cap, but in use (or just installed), so kept.
    pub kept_in_use: Vec<String>,
    pub total_before: u64,
    pub total_after: u64,
}

/// The store of installed versions.
#[derive(Debug, Clone)]
pub struct VersionStore {
    root: PathBuf,
    /// The client whose versions this store holds (its folder under the root).
    package: &'static ClientPackage,
    /// The most the installed versions may take together; `None` for no cap.
    cap: Option<u64>,
}

impl VersionStore {
    /// The store at `HARNESS_CACHE_DIR`, else `$XDG_CACHE_HOME/mcp-reconnect-harness`, else
    /// `~/.cache/mcp-reconnect-harness`, capped by `HARNESS_CACHE_SIZE` (default 8 GiB).
    pub fn from_env(package: &'static ClientPackage) -> VersionStore {
        let root = std::env::var_os(CACHE_DIR_ENV)
            .map(PathBuf::from)
            .or_else(|| {
                std::env::var_os("XDG_CACHE_HOME")
                    .map(|d| PathBuf::from(d).join("mcp-reconnect-harness"))
            })
            .or_else(|| {
                std::env::var_os("HOME")
                    .map(|h| PathBuf::from(h).join(".cache/mcp-reconnect-harness"))
            })
            .unwrap_or_else(|| std::env::temp_dir().join("mcp-reconnect-harness"));
        // The client is started from its sandbox's directory, where a relative path means
        // nothing: anchor it here.
        let root = std::path::absolute(&root).unwrap_or(root);
        let cap = match std::env::var(CACHE_SIZE_ENV) {
            Ok(text) => parse_size(&text).unwrap_or_else(|e| {
                crate::say!(
                    "harness: {CACHE_SIZE_ENV}: {e}; using the default cap of {}",
                    format_size(DEFAULT_CACHE_SIZE)
                );
                Some(DEFAULT_CACHE_SIZE)
            }),
            Err(_) => Some(DEFAULT_CACHE_SIZE),
        };
        VersionStore { root, package, cap }
    }

    pub fn at(root: impl Into<PathBuf>, package: &'static ClientPackage) -> VersionStore {
        VersionStore {
            root: root.into(),
            package,
            cap: None,
        }
    }

    /// The same store with another cap (`None`: no cap).
    pub fn with_cap(mut self, cap: Option<u64>) -> VersionStore {
        self.cap = cap;
        self
    }

    pub fn cap(&self) -> Option<u64> {
        self.cap
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn package(&self) -> &'static ClientPackage {
        self.package
    }

    /// The same store root and cap, for another client's versions.
    pub fn for_package(&self, package: &'static ClientPackage) -> VersionStore {
        VersionStore {
            package,
            ..self.clone()
        }
    }

    fn versions_dir(&self) -> PathBuf {
        self.root.join(self.package.client)
    }

    fn version_dir(&self, version: &str) -> PathBuf {
        self.versions_dir().join(version)
    }

    fn in_use_path(&self, version: &str) -> PathBuf {
        self.versions_dir().join(format!(".{version}.inuse"))
    }

    /// Takes a shared lock on the version's in-use file (waits while an eviction of it runs).
    fn lease(&self, version: &str) -> Result<Arc<File>, VersionError> {
        let dir = self.versions_dir();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let path = self.in_use_path(version);
        let file = File::create(&path).map_err(io_err(&path))?;
        file.lock_shared().map_err(io_err(&path))?;
        Ok(Arc::new(file))
    }

    /// The installed version, if the store has it complete. Takes no lease.
    pub fn installed(&self, version: &str) -> Result<Option<InstalledVersion>, VersionError> {
        check_version_syntax(version)?;
        let dir = self.version_dir(version);
        if !dir.join(COMPLETE_MARKER).is_file() {
            return Ok(None);
        }
        self.locate(version, &dir).map(Some)
    }

    /// Returns the version, installing it first if the store lacks it, leased (so no eviction
    /// removes it while the value lives) and with its last use recorded. After an install the
    /// store is brought back under its cap. Progress goes to stderr.
    pub fn ensure(&self, version: &str) -> Result<InstalledVersion, VersionError> {
        check_version_syntax(version)?;
        let lease = self.lease(version)?;
        let found = match self.installed(version)? {
            Some(found) => found,
            None => {
                let installed = self.install(version)?;
                if let Err(e) = self.evict_to_cap(Some(version)) {
                    crate::say!("harness: could not bring the version store under its cap: {e}");
                }
                installed
            }
        };
        record_last_use(&found.dir);
        Ok(InstalledVersion {
            lease: Some(lease),
            ..found
        })
    }

    fn install(&self, version: &str) -> Result<InstalledVersion, VersionError> {
        let versions_dir = self.versions_dir();
        fs::create_dir_all(&versions_dir).map_err(io_err(&versions_dir))?;
        let lock_path = versions_dir.join(format!(".{version}.lock"));
        let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
        if lock.try_lock().is_err() {
            crate::say!(
                "harness: waiting for another process installing {}@{version}…",
                self.package.npm
            );
            lock.lock().map_err(io_err(&lock_path))?;
        }
        // Someone else may have finished while we waited.
        if let Some(found) = self.installed(version)? {
            return Ok(found);
        }
        let result = self.install_locked(version);
        let _ = lock.unlock();
        result
    }

    /// Every complete version in the store, least recently used first.
    pub fn entries(&self) -> Result<Vec<StoreEntry>, VersionError> {
        let dir = self.versions_dir();
        let read = match fs::read_dir(&dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        let mut entries = Vec::new();
        for item in read {
            let item = item.map_err(io_err(&dir))?;
            let name = item.file_name().to_string_lossy().into_owned();
            let path = item.path();
            if name.starts_with('.')
                || check_version_syntax(&name).is_err()
                || !path.join(COMPLETE_MARKER).is_file()
            {
                continue;
            }
            entries.push(StoreEntry {
                packaging: (self.package.locate)(&path).map(|l| l.packaging),
                size_bytes: recorded_size(&path),
                last_used: last_use(&path),
                in_use: self.is_in_use(&name),
                version: name,
                dir: path,
            });
        }
        entries.sort_by(|a, b| {
            a.last_used.cmp(&b.last_used).then_with(|| {
                crate::store::version_number::compare_versions(&a.version, &b.version)
            })
        });
        Ok(entries)
    }

    fn is_in_use(&self, version: &str) -> bool {
        let path = self.in_use_path(version);
        match File::options().read(true).write(true).open(&path) {
            Ok(file) => {
                let busy = file.try_lock().is_err();
                let _ = file.unlock();
                busy
            }
            Err(_) => false,
        }
    }

    /// Evicts least-recently-used versions until the installed versions fit the cap, never the
    /// one named by `keep` and never one whose in-use lock someone holds.
    pub fn evict_to_cap(&self, keep: Option<&str>) -> Result<Eviction, VersionError> {
        let entries = self.entries()?;
        let total: u64 = entries.iter().map(|e| e.size_bytes).sum();
        let mut report = Eviction {
            total_before: total,
            total_after: total,
            ..Eviction::default()
        };
        let Some(cap) = self.cap else {
            return Ok(report);
        };
        for entry in entries {
            if report.total_after <= cap {
                break;
            }
            if Some(entry.version.as_str()) == keep {
                report.kept_in_use.push(entry.version);
                continue;
            }
            let lock_path = self.in_use_path(&entry.version);
            let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
            if lock.try_lock().is_err() {
                report.kept_in_use.push(entry.version);
                continue;
            }
            crate::say!(
                "harness: version store is over its cap ({} > {}): evicting {} ({}, least recently used)",
                format_size(report.total_after),
                format_size(cap),
                entry.version,
                format_size(entry.size_bytes)
            );
            // Renamed first, so the version stops looking installed at once.
            let doomed = self.versions_dir().join(format!(
                ".{}.evicting.{}",
                entry.version,
                std::process::id()
            ));
            fs::rename(&entry.dir, &doomed).map_err(io_err(&entry.dir))?;
            let removed = fs::remove_dir_all(&doomed).map_err(io_err(&doomed));
            let _ = lock.unlock();
            removed?;
            report.total_after = report.total_after.saturating_sub(entry.size_bytes);
            report.evicted.push(entry);
        }
        if report.total_after > cap {
            crate::say!(
                "harness: version store stays over its cap ({} > {}): the rest is in use ({})",
                format_size(report.total_after),
                format_size(cap),
                report.kept_in_use.join(", ")
            );
        }
        Ok(report)
    }
    fn install_locked(&self, version: &str) -> Result<InstalledVersion, VersionError> {
        let final_dir = self.version_dir(version);
        let staging = self.versions_dir().join(format!(".{version}.staging"));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
        }
        fs::create_dir_all(&staging).map_err(io_err(&staging))?;
        // npm's download cache lives only as long as the install: the store's cap then covers
        // everything the store keeps.
        let npm_cache = self
            .root
            .join("tmp")
            .join(format!("npm-cache-{version}-{}", std::process::id()));
        let npmrc = self.root.join("npmrc");
        if !npmrc.exists() {
            fs::write(
                &npmrc,
                "# npm user config for the harness's installs (kept empty on purpose)\n",
            )
            .map_err(io_err(&npmrc))?;
        }
        let installing = format!(
            "harness: installing {}@{version} into {} (first use of this version)…",
            self.package.npm,
            final_dir.display()
        );
        // A spinner on a terminal; plain lines elsewhere (this one, then one every 30 s).
        let progress = crate::console::spinner(&installing);
        if progress.is_plain() {
            crate::console::say(&installing);
        }
        let started = Instant::now();
        let package = format!("{}@{version}", self.package.npm);
        let expression = duct::cmd(
            "npm",
            [
                "install",
                "--prefix",
                &staging.to_string_lossy(),
                "--no-audit",
                "--no-fund",
                "--no-save",
                "--no-package-lock",
                "--loglevel=error",
                &package,
            ],
        )
        .env("npm_config_cache", &npm_cache)
        .env("npm_config_userconfig", &npmrc)
        .env("npm_config_update_notifier", "false")
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked();
        let handle = expression.start().map_err(|error| {
            if error.kind() == std::io::ErrorKind::NotFound {
                VersionError::NpmMissing
            } else {
                VersionError::Io {
                    path: staging.clone(),
                    source: error,
                }
            }
        })?;
        let mut next_progress = Duration::from_secs(30);
        let output = loop {
            match handle.try_wait() {
                Ok(Some(output)) => break output.clone(),
                Ok(None) if started.elapsed() > INSTALL_TIMEOUT => {
                    let _ = handle.kill();
                    let _ = fs::remove_dir_all(&npm_cache);
                    return Err(VersionError::InstallTimedOut {
                        package: self.package.npm,
                        version: version.to_owned(),
                    });
                }
                Ok(None) => {
                    if progress.is_plain() && started.elapsed() > next_progress {
                        crate::say!(
                            "harness: still installing {}@{version} ({} s)…",
                            self.package.npm,
                            started.elapsed().as_secs()
                        );
                        next_progress += Duration::from_secs(30);
                    }
                    std::thread::sleep(Duration::from_millis(200))
                }
                Err(source) => {
                    return Err(VersionError::Io {
                        path: staging.clone(),
                        source,
                    })
                }
            }
        };
        let _ = fs::remove_dir_all(&npm_cache);
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            let _ = fs::remove_dir_all(&staging);
            if text.contains("ETARGET") || text.contains("No matching version found") {
                return Err(VersionError::NotPublished {
                    package: self.package.npm,
                    version: version.to_owned(),
                });
            }
            return Err(VersionError::InstallFailed {
                package: self.package.npm,
                version: version.to_owned(),
                status: output.status.to_string(),
                output: text,
            });
        }
        if let Err(e) = self.locate(version, &staging) {
            let _ = fs::remove_dir_all(&staging);
            return Err(e);
        }
        let size = disk_usage(&staging);
        fs::write(staging.join(SIZE_FILE), size.to_string()).map_err(io_err(&staging))?;
        fs::write(staging.join(COMPLETE_MARKER), version).map_err(io_err(&staging))?;
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(io_err(&final_dir))?;
        }
        fs::rename(&staging, &final_dir).map_err(io_err(&final_dir))?;
        crate::say!(
            "harness: installed {}@{version} ({}) in {:.1} s",
            self.package.npm,
            format_size(size),
            started.elapsed().as_secs_f64()
        );
        self.locate(version, &final_dir)
    }

    /// The node a script version runs with: the one its package's `engines.node` asks for,
    /// from the store's own Node builds (the machine's node is never assumed). A package without
    /// a package.json (a test's fake install) keeps the node it was located with.
    fn node_for(&self, version: &str, dir: &Path) -> Result<PathBuf, VersionError> {
        let manifest = dir
            .join("node_modules")
            .join(self.package.npm)
            .join("package.json");
        let node_error = |e: crate::store::node_runtime::NodeError| VersionError::Node {
            package: self.package.npm,
            version: version.to_owned(),
            message: e.to_string(),
        };
        if !manifest.is_file() {
            return Ok(crate::store::package::node_program());
        }
        let range = crate::store::node_runtime::engines_node(&manifest).map_err(node_error)?;
        let runtime = crate::store::node_runtime::NodeRuntimes::new(&self.root)
            .for_engines(range.as_deref())
            .map_err(node_error)?;
        if let Some(warning) = runtime.warning() {
            crate::say!("harness: {}@{version}: {warning}", self.package.npm);
        }
        Ok(runtime.node)
    }

    fn locate(&self, version: &str, dir: &Path) -> Result<InstalledVersion, VersionError> {
        let Some(mut launch) = (self.package.locate)(dir) else {
            return Err(VersionError::NoExecutable {
                package: self.package.npm,
                version: version.to_owned(),
                dir: dir.to_owned(),
            });
        };
        if launch.packaging == Packaging::NodeScript {
            launch.program = self.node_for(version, dir)?;
        }
        Ok(InstalledVersion {
            client: self.package.client,
            version: version.to_owned(),
            dir: dir.to_owned(),
            packaging: launch.packaging,
            program: launch.program,
            pre_args: launch.pre_args,
            lease: None,
        })
    }
}

/// `4G`, `500M`, `1.5GiB`, `800000000` (bytes), `none` (no cap).
pub fn parse_size(text: &str) -> Result<Option<u64>, VersionError> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") || t.eq_ignore_ascii_case("unlimited") {
        return Ok(None);
    }
    let bad = || VersionError::BadSize(text.to_owned());
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let multiplier = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1,
        "K" | "KB" | "KIB" => 1024,
        "M" | "MB" | "MIB" => MIB,
        "G" | "GB" | "GIB" => GIB,
        "T" | "TB" | "TIB" => 1024 * GIB,
        _ => return Err(bad()),
    };
    let bytes = number * multiplier as f64;
    if !bytes.is_finite() || bytes < 1.0 {
        return Err(bad());
    }
    Ok(Some(bytes as u64))
}

/// `381 MiB`, `7.9 GiB`.
pub fn format_size(bytes: u64) -> String {
    if bytes >= GIB {
        format!("{:.1} GiB", bytes as f64 / GIB as f64)
    } else {
        format!("{} MiB", bytes.div_ceil(MIB))
    }
}

/// Accepts exact versions only (`2.1.331`, `1.0.0-beta.3`): ranges and tags would make runs
/// irreproducible, and the string becomes a path.
pub fn check_version_syntax(version: &str) -> Result<(), VersionError> {
    if is_exact_version(version) {
        Ok(())
    } else {
        Err(VersionError::Malformed(version.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::usage::LAST_USE_FILE;

    /// A package laid out like Claude Code's older versions: `cli.js`, run with node.
    static TEST_PACKAGE: ClientPackage = ClientPackage {
        client: "test-client",
        npm: "@example/test-client",
        pinned: "1.0.0",
        version_env: "TEST_CLIENT_VERSION",
        prereleases: true,
        platform_build: None,
        locate: |dir| {
            let script = dir.join("node_modules/@anthropic-ai/claude-code/cli.js");
            script
                .is_file()
                .then(|| crate::store::package::Launch::node_script(&script))
        },
    };

    #[test]
    fn exact_versions_are_accepted_and_everything_else_is_refused() {
        for good in ["2.1.331", "0.2.9", "1.0.0-beta.3"] {
            assert!(check_version_syntax(good).is_ok(), "{good}");
        }
        for bad in [
            "latest",
            "2.1",
            "^2.1.0",
            "2.1.x",
            "../../etc",
            "2.1.331 ",
            "",
            "2.1.331-",
        ] {
            assert!(check_version_syntax(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_store_without_the_version_reports_it_missing() -> Result<(), VersionError> {
        let dir = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let store = VersionStore::at(dir.path(), &TEST_PACKAGE);
        assert!(store.installed("2.1.331")?.is_none());
        Ok(())
    }

    /// A fake complete install: a cli.js, a recorded size and a recorded last use.
    fn fake_install(store: &VersionStore, version: &str, size: u64, last_used: u64) {
        let dir = store.version_dir(version);
        let script = dir.join("node_modules/@anthropic-ai/claude-code");
        fs::create_dir_all(&script).expect("create the fake install");
        fs::write(script.join("cli.js"), "// fake").expect("write cli.js");
        fs::write(dir.join(SIZE_FILE), size.to_string()).expect("write the size");
        fs::write(dir.join(LAST_USE_FILE), last_used.to_string()).expect("write the last use");
        fs::write(dir.join(COMPLETE_MARKER), version).expect("write the marker");
    }

    fn names(entries: &[StoreEntry]) -> Vec<&str> {
        entries.iter().map(|e| e.version.as_str()).collect()
    }

    #[test]
    fn sizes_are_read_with_units_and_none_means_no_cap() -> Result<(), VersionError> {
        assert_eq!(parse_size("4G")?, Some(4 * GIB));
        assert_eq!(parse_size("500M")?, Some(500 * MIB));
        assert_eq!(parse_size("1.5GiB")?, Some(GIB + GIB / 2));
        assert_eq!(parse_size("1234")?, Some(1234));
        assert_eq!(parse_size("none")?, None);
        for bad in ["", "G", "4X", "-1G", "0"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
        assert_eq!(format_size(381 * MIB), "381 MiB");
        assert_eq!(format_size(8 * GIB), "8.0 GiB");
        Ok(())
    }

    #[test]
    fn the_store_lists_its_versions_least_recently_used_first() -> Result<(), VersionError> {
        let dir = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let store = VersionStore::at(dir.path(), &TEST_PACKAGE);
        fake_install(&store, "2.1.331", 400 * MIB, 300);
        fake_install(&store, "2.1.81", 70 * MIB, 100);
        fake_install(&store, "2.1.149", 380 * MIB, 200);
        fs::create_dir_all(store.versions_dir().join(".2.1.5.staging"))
            .map_err(io_err(dir.path()))?;
        let entries = store.entries()?;
        assert_eq!(names(&entries), ["2.1.81", "2.1.149", "2.1.331"]);
        assert_eq!(entries[0].packaging, Some(Packaging::NodeScript));
        assert_eq!(entries[0].size_bytes, 70 * MIB);
        assert!(entries.iter().all(|e| !e.in_use));
        Ok(())
    }

    #[test]
    fn eviction_removes_the_least_recently_used_until_the_store_fits() -> Result<(), VersionError> {
        let dir = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let store = VersionStore::at(dir.path(), &TEST_PACKAGE).with_cap(Some(500 * MIB));
        fake_install(&store, "2.1.81", 70 * MIB, 100);
        fake_install(&store, "2.1.149", 380 * MIB, 200);
        fake_install(&store, "2.1.331", 400 * MIB, 300);
        let eviction = store.evict_to_cap(None)?;
        assert_eq!(names(&eviction.evicted), ["2.1.81", "2.1.149"]);
        assert_eq!(eviction.total_after, 400 * MIB);
        assert_eq!(names(&store.entries()?), ["2.1.331"]);
        assert!(store.installed("2.1.81")?.is_none());
        Ok(())
    }

    #[test]
    fn eviction_spares_a_version_in_use_and_the_one_just_installed() -> Result<(), VersionError> {
        let dir = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let store = VersionStore::at(dir.path(), &TEST_PACKAGE).with_cap(Some(100 * MIB));
        fake_install(&store, "2.1.81", 70 * MIB, 100);
        fake_install(&store, "2.1.149", 380 * MIB, 200);
        fake_install(&store, "2.1.331", 400 * MIB, 300);
        // `ensure` of an installed version leases it and records its use.
        let held = store.ensure("2.1.81")?;
        assert!(held.is_leased());
        assert!(store
            .entries()?
            .iter()
            .any(|e| e.version == "2.1.81" && e.in_use));
        let eviction = store.evict_to_cap(Some("2.1.331"))?;
        assert_eq!(names(&eviction.evicted), ["2.1.149"]);
        assert_eq!(eviction.kept_in_use, ["2.1.331", "2.1.81"]);
        drop(held);
        let eviction = store.evict_to_cap(Some("2.1.331"))?;
        assert_eq!(names(&eviction.evicted), ["2.1.81"]);
        assert_eq!(names(&store.entries()?), ["2.1.331"]);
        Ok(())
    }

    #[test]
    fn a_hard_linked_file_is_counted_once() -> Result<(), VersionError> {
        let dir = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let a = dir.path().join("claude");
        fs::write(&a, vec![7u8; 64 * 1024]).map_err(io_err(&a))?;
        let once = disk_usage(dir.path());
        fs::hard_link(&a, dir.path().join("claude.exe")).map_err(io_err(&a))?;
        assert_eq!(disk_usage(dir.path()), once);
        Ok(())
    }

    #[test]
    fn a_store_without_a_cap_evicts_nothing() -> Result<(), VersionError> {
        let dir = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let store = VersionStore::at(dir.path(), &TEST_PACKAGE);
        fake_install(&store, "2.1.81", 70 * MIB, 100);
        assert!(store.evict_to_cap(None)?.evicted.is_empty());
        Ok(())
    }
}
