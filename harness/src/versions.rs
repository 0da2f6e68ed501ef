//! The version store: exact CLI versions installed from the npm registry into the harness's own
//! cache, one folder per version, reused when present.
//!
//! npm's own cache and user config are pointed inside the store so an install writes nothing into
//! the user's home. A file lock per version keeps parallel tests from installing the same version
//! twice; an install goes to a staging folder and is renamed into place only when complete, so an
//! interrupted install never looks finished.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::command::CommandSpec;

/// The npm package of the Claude Code CLI.
pub const CLAUDE_CODE_PACKAGE: &str = "@anthropic-ai/claude-code";

/// The version every run uses unless told otherwise (`CLAUDE_CODE_VERSION` or `--version`).
pub const DEFAULT_CLAUDE_CODE_VERSION: &str = "2.1.331";

/// Environment variable that overrides [`DEFAULT_CLAUDE_CODE_VERSION`].
pub const VERSION_ENV: &str = "CLAUDE_CODE_VERSION";

/// Environment variable that moves the store.
pub const CACHE_DIR_ENV: &str = "HARNESS_CACHE_DIR";

/// The longest an install may take before it is abandoned (big native packages on a slow mirror).
const INSTALL_TIMEOUT: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum VersionError {
    #[error("`{0}` is not a version number: give an exact published version such as {DEFAULT_CLAUDE_CODE_VERSION} (`npm view {CLAUDE_CODE_PACKAGE} versions` lists them)")]
    Malformed(String),
    #[error("{CLAUDE_CODE_PACKAGE}@{version} is not published on the npm registry; `npm view {CLAUDE_CODE_PACKAGE} versions` lists the versions that exist")]
    NotPublished { version: String },
    #[error("npm could not install {CLAUDE_CODE_PACKAGE}@{version} (exit {status}); its output:\n{output}")]
    InstallFailed {
        version: String,
        status: String,
        output: String,
    },
    #[error("installing {CLAUDE_CODE_PACKAGE}@{version} took longer than {secs} s; check the network to the npm registry and retry", secs = INSTALL_TIMEOUT.as_secs())]
    InstallTimedOut { version: String },
    #[error("{CLAUDE_CODE_PACKAGE}@{version} installed, but it holds neither the native binary nor cli.js under {dir}; the package layout changed")]
    NoExecutable { version: String, dir: PathBuf },
    #[error("`npm` was not found on PATH; install Node.js and npm (on Debian: apt-get install -y nodejs npm)")]
    NpmMissing,
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

/// How a version ships its CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Packaging {
    /// A native executable in the platform package (newer versions).
    NativeBinary,
    /// `cli.js`, run with node (older versions).
    NodeScript,
}

/// One installed version and how to launch it.
#[derive(Debug, Clone)]
pub struct InstalledVersion {
    pub version: String,
    pub dir: PathBuf,
    pub packaging: Packaging,
    pub program: PathBuf,
    /// Arguments that come before the CLI's own (the script path when run with node).
    pub pre_args: Vec<String>,
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
}

/// The store of installed versions.
#[derive(Debug, Clone)]
pub struct VersionStore {
    root: PathBuf,
}

impl VersionStore {
    /// The store at `HARNESS_CACHE_DIR`, else `$XDG_CACHE_HOME/mcp-reconnect-harness`, else
    /// `~/.cache/mcp-reconnect-harness`.
    pub fn from_env() -> VersionStore {
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
        VersionStore { root }
    }

    pub fn at(root: impl Into<PathBuf>) -> VersionStore {
        VersionStore { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn version_dir(&self, version: &str) -> PathBuf {
        self.root.join("claude-code").join(version)
    }

    /// The installed version, if the store has it complete.
    pub fn installed(&self, version: &str) -> Result<Option<InstalledVersion>, VersionError> {
        check_version_syntax(version)?;
        let dir = self.version_dir(version);
        if !dir.join(COMPLETE_MARKER).is_file() {
            return Ok(None);
        }
        locate_executable(version, &dir).map(Some)
    }

    /// Returns the version, installing it first if the store lacks it. Progress goes to stderr.
    pub fn ensure(&self, version: &str) -> Result<InstalledVersion, VersionError> {
        check_version_syntax(version)?;
        if let Some(found) = self.installed(version)? {
            return Ok(found);
        }
        let versions_dir = self.root.join("claude-code");
        fs::create_dir_all(&versions_dir).map_err(io_err(&versions_dir))?;
        let lock_path = versions_dir.join(format!(".{version}.lock"));
        let lock = File::create(&lock_path).map_err(io_err(&lock_path))?;
        if lock.try_lock().is_err() {
            eprintln!(
                "harness: waiting for another process installing {CLAUDE_CODE_PACKAGE}@{version}…"
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

    fn install_locked(&self, version: &str) -> Result<InstalledVersion, VersionError> {
        let final_dir = self.version_dir(version);
        let staging = self
            .root
            .join("claude-code")
            .join(format!(".{version}.staging"));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io_err(&staging))?;
        }
        fs::create_dir_all(&staging).map_err(io_err(&staging))?;
        let npm_cache = self.root.join("npm-cache");
        let npmrc = self.root.join("npmrc");
        if !npmrc.exists() {
            fs::write(
                &npmrc,
                "# npm user config for the harness's installs (kept empty on purpose)\n",
            )
            .map_err(io_err(&npmrc))?;
        }
        eprintln!(
            "harness: installing {CLAUDE_CODE_PACKAGE}@{version} into {} (first use of this version)…",
            final_dir.display()
        );
        let started = Instant::now();
        let package = format!("{CLAUDE_CODE_PACKAGE}@{version}");
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
        let output = loop {
            match handle.try_wait() {
                Ok(Some(output)) => break output.clone(),
                Ok(None) if started.elapsed() > INSTALL_TIMEOUT => {
                    let _ = handle.kill();
                    return Err(VersionError::InstallTimedOut {
                        version: version.to_owned(),
                    });
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(200)),
                Err(source) => {
                    return Err(VersionError::Io {
                        path: staging.clone(),
                        source,
                    })
                }
            }
        };
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        if !output.status.success() {
            let _ = fs::remove_dir_all(&staging);
            if text.contains("ETARGET") || text.contains("No matching version found") {
                return Err(VersionError::NotPublished {
                    version: version.to_owned(),
                });
            }
            return Err(VersionError::InstallFailed {
                version: version.to_owned(),
                status: output.status.to_string(),
                output: text,
            });
        }
        locate_executable(version, &staging)?;
        fs::write(staging.join(COMPLETE_MARKER), version).map_err(io_err(&staging))?;
        if final_dir.exists() {
            fs::remove_dir_all(&final_dir).map_err(io_err(&final_dir))?;
        }
        fs::rename(&staging, &final_dir).map_err(io_err(&final_dir))?;
        eprintln!(
            "harness: installed {CLAUDE_CODE_PACKAGE}@{version} in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        locate_executable(version, &final_dir)
    }
}

const COMPLETE_MARKER: &str = ".harness-install-complete";

/// Accepts exact versions only (`2.1.331`, `1.0.0-beta.3`): ranges and tags would make runs
/// irreproducible, and the string becomes a path.
pub fn check_version_syntax(version: &str) -> Result<(), VersionError> {
    let (core, pre) = match version.split_once('-') {
        Some((core, pre)) => (core, Some(pre)),
        None => (version, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let core_ok = parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 9 && p.bytes().all(|b| b.is_ascii_digit()));
    let pre_ok = pre.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 40
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    });
    if core_ok && pre_ok {
        Ok(())
    } else {
        Err(VersionError::Malformed(version.to_owned()))
    }
}

/// `node` by absolute path: the sandbox's environment is cleaned, so the client is started with
/// a program path that does not depend on the sandbox's PATH.
fn node_program() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain(["/usr/local/bin".into(), "/usr/bin".into()])
        .map(|dir| dir.join("node"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("node"))
}

fn locate_executable(version: &str, dir: &Path) -> Result<InstalledVersion, VersionError> {
    let modules = dir.join("node_modules/@anthropic-ai");
    let native = modules.join(format!("claude-code-{}/claude", platform_suffix()));
    let script = modules.join("claude-code/cli.js");
    let wrapper_binary = modules.join("claude-code/bin/claude.exe");
    let (packaging, program, pre_args) = if native.is_file() {
        (Packaging::NativeBinary, native, Vec::new())
    } else if script.is_file() {
        (
            Packaging::NodeScript,
            node_program(),
            vec![script.to_string_lossy().into_owned()],
        )
    } else if wrapper_binary.is_file() {
        (Packaging::NativeBinary, wrapper_binary, Vec::new())
    } else {
        return Err(VersionError::NoExecutable {
            version: version.to_owned(),
            dir: dir.to_owned(),
        });
    };
    Ok(InstalledVersion {
        version: version.to_owned(),
        dir: dir.to_owned(),
        packaging,
        program,
        pre_args,
    })
}

fn platform_suffix() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "linux-arm64",
        _ => "linux-x64",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let store = VersionStore::at(dir.path());
        assert!(store.installed("2.1.331")?.is_none());
        Ok(())
    }
}
