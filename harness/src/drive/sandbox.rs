//! A sandbox per run: a temporary HOME and working directory that the client under test owns,
//! and an environment cleaned of everything inherited except what a process needs to run, with
//! one scripted browser every client finds: `BROWSER`, and an `xdg-open` first on `PATH` running
//! the same script, with `DISPLAY` set (some clients open a browser only through `xdg-open`, only
//! when a display is set, and never when `CI` is set, which the cleaned environment drops). What a
//! client needs besides (its config files, its API variables) is its own driver's business.
//!
//! A sandbox holds the client's config and its (loopback) tokens, so nothing of it outlives the
//! run: it is removed when dropped, moved into the failure bundle when the run failed
//! ([`Sandbox::move_into`]), and removed by the interrupt handler when the run is interrupted
//! ([`crate::drive::live`]).

use std::path::{Path, PathBuf};

use crate::drive::live;

/// Where the scripted browser finds the URLs the client asked it to open.
const BROWSER_LOG: &str = "browser-requests.log";

pub struct Sandbox {
    root: tempfile::TempDir,
    home: PathBuf,
    work: PathBuf,
    /// Variables a scenario adds for its server (all pointing at the run's own servers).
    extra_env: std::sync::Mutex<Vec<(String, String)>>,
    /// Lets an interrupt handler remove the directory.
    _tracked: live::Tracked,
}

impl Sandbox {
    /// A fresh sandbox under the system temporary directory.
    pub fn new(label: &str) -> std::io::Result<Sandbox> {
        let (root, tracked) = live::make_dir(
            || {
                tempfile::Builder::new()
                    .prefix(&format!("harness-{label}-"))
                    .tempdir()
            },
            |root| root.path().to_owned(),
        )?;
        let home = root.path().join("home");
        let work = root.path().join("work");
        for dir in [&home, &work, &root.path().join("tmp")] {
            std::fs::create_dir_all(dir)?;
        }
        let sandbox = Sandbox {
            root,
            home,
            work,
            extra_env: std::sync::Mutex::new(Vec::new()),
            _tracked: tracked,
        };
        sandbox.write_browser_script()?;
        Ok(sandbox)
    }

    pub fn root(&self) -> &Path {
        self.root.path()
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    pub fn browser_log(&self) -> PathBuf {
        self.root.path().join(BROWSER_LOG)
    }

    fn browser_script(&self) -> PathBuf {
        self.root.path().join("scripted-browser.sh")
    }

    /// First on the client's PATH: `xdg-open`, the scripted browser under the name desktop
    /// programs call.
    fn shim_dir(&self) -> PathBuf {
        self.root.path().join("bin")
    }

    /// Moves everything in the sandbox to `dest` (which must not exist yet), a failure bundle's
    /// folder: renamed when both are on one file system, else copied (symbolic links as links;
    /// sockets, pipes and files over [`LARGEST_KEPT_FILE`] left out and listed in
    /// `dest/LEFT-OUT.txt`). The sandbox is gone afterwards either way.
    pub fn move_into(self, dest: &Path) -> std::io::Result<()> {
        if std::fs::rename(self.root.path(), dest).is_ok() {
            return Ok(());
        }
        let mut left_out = Vec::new();
        copy_tree(self.root.path(), dest, &mut left_out)?;
        if !left_out.is_empty() {
            let list: String = left_out
                .iter()
                .map(|p| format!("{}\n", p.display()))
                .collect();
            std::fs::write(dest.join("LEFT-OUT.txt"), list)?;
        }
        Ok(())
        // `self` drops here and removes the original.
    }

    /// `BROWSER` points at this script: it only records the URL, and the harness's scripted
    /// browser acts on it, so no real browser ever starts.
    fn write_browser_script(&self) -> std::io::Result<()> {
        let script = format!(
            "#!/bin/sh\n# Written by the harness: records the URL the client wants opened.\nprintf '%s\\n' \"$*\" >> '{}'\n",
            self.browser_log().display()
        );
        let path = self.browser_script();
        std::fs::write(&path, &script)?;
        set_executable(&path)?;
        std::fs::create_dir_all(self.shim_dir())?;
        let xdg_open = self.shim_dir().join("xdg-open");
        std::fs::write(&xdg_open, script)?;
        set_executable(&xdg_open)
    }

    /// The complete environment for the client: nothing inherited but a minimal PATH, and
    /// everything pointing at the sandbox and the run's loopback servers.
    pub fn client_env(&self) -> Vec<(String, String)> {
        let home = self.home.to_string_lossy().into_owned();
        let tmp = self.root.path().join("tmp").to_string_lossy().into_owned();
        let mut env = vec![
            ("HOME".to_owned(), home.clone()),
            ("USER".to_owned(), "harness".to_owned()),
            (
                "PATH".to_owned(),
                format!("{}:{}", self.shim_dir().display(), minimal_path()),
            ),
            ("TERM".to_owned(), "xterm-256color".to_owned()),
            ("LANG".to_owned(), "C.UTF-8".to_owned()),
            ("TMPDIR".to_owned(), tmp),
            ("XDG_CONFIG_HOME".to_owned(), format!("{home}/.config")),
            ("XDG_CACHE_HOME".to_owned(), format!("{home}/.cache")),
            ("XDG_DATA_HOME".to_owned(), format!("{home}/.local/share")),
            ("XDG_STATE_HOME".to_owned(), format!("{home}/.local/state")),
            (
                "BROWSER".to_owned(),
                self.browser_script().to_string_lossy().into_owned(),
            ),
            // No display is needed: the browser is a script. Some clients look for one first.
            ("DISPLAY".to_owned(), ":99".to_owned()),
            ("NO_PROXY".to_owned(), "127.0.0.1,localhost,::1".to_owned()),
            ("no_proxy".to_owned(), "127.0.0.1,localhost,::1".to_owned()),
        ];
        env.extend(
            self.extra_env
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .iter()
                .cloned(),
        );
        env
    }

    /// One more variable for every later client command, e.g. where a server's client ID
    /// metadata document is; it must point at the run's own servers, never elsewhere.
    pub fn add_env(&self, name: &str, value: &str) {
        self.extra_env
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((name.to_owned(), value.to_owned()));
    }
}

/// Bigger files are left out of a failure bundle's copy of the sandbox (a client's cache is no
/// evidence).
pub const LARGEST_KEPT_FILE: u64 = 64 * 1024 * 1024;

fn copy_tree(from: &Path, to: &Path, left_out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            copy_tree(&source, &target, left_out)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&source)?, &target)?;
        } else if kind.is_file() && entry.metadata()?.len() <= LARGEST_KEPT_FILE {
            std::fs::copy(&source, &target)?;
        } else {
            left_out.push(source);
        }
    }
    Ok(())
}

/// System directories plus wherever `node` lives (older versions run as `node cli.js`).
fn minimal_path() -> String {
    let mut dirs: Vec<String> = ["/usr/local/bin", "/usr/bin", "/bin"]
        .iter()
        .map(|d| (*d).to_owned())
        .collect();
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("node").is_file() {
                let dir = dir.to_string_lossy().into_owned();
                if !dirs.contains(&dir) {
                    dirs.insert(0, dir);
                }
                break;
            }
        }
    }
    dirs.join(":")
}

fn set_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_environment_names_no_inherited_secret_and_points_home_at_the_sandbox(
    ) -> std::io::Result<()> {
        let sandbox = Sandbox::new("env-test")?;
        let env = sandbox.client_env();
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(
            get("HOME").as_deref(),
            Some(&*sandbox.home().to_string_lossy())
        );
        assert!(env.iter().all(|(k, _)| k != "CI"
            && k != "DEBIAN_FRONTEND"
            && k != "ANTHROPIC_AUTH_TOKEN"
            && k != "CLAUDE_CONFIG_DIR"));
        // Both browser entry points record the URL in the browser's log.
        let path = get("PATH").unwrap_or_default();
        let shim = Path::new(path.split(':').next().unwrap_or("")).join("xdg-open");
        let browser = PathBuf::from(get("BROWSER").unwrap_or_default());
        for opener in [shim, browser] {
            let status = std::process::Command::new(&opener)
                .arg("http://127.0.0.1:1/authorize?x=1")
                .status()?;
            assert!(status.success(), "{}", opener.display());
        }
        let log = std::fs::read_to_string(sandbox.browser_log())?;
        assert_eq!(log.lines().count(), 2, "{log}");
        assert_eq!(get("DISPLAY").as_deref(), Some(":99"));
        Ok(())
    }

    #[test]
    fn a_sandbox_moved_into_a_bundle_is_there_and_gone_from_temp() -> std::io::Result<()> {
        let sandbox = Sandbox::new("move-test")?;
        let root = sandbox.root().to_owned();
        std::fs::write(sandbox.home().join(".client.json"), "{\"token\":\"at-1\"}")?;
        let bundle = tempfile::tempdir()?;
        let dest = bundle.path().join("sandbox");
        sandbox.move_into(&dest)?;
        assert!(!root.exists(), "{} is still there", root.display());
        assert_eq!(
            std::fs::read_to_string(dest.join("home/.client.json"))?,
            "{\"token\":\"at-1\"}"
        );
        assert!(dest.join("bin/xdg-open").is_file());
        Ok(())
    }

    #[test]
    fn a_copied_sandbox_keeps_its_links_and_lists_what_it_left_out() -> std::io::Result<()> {
        let from = tempfile::tempdir()?;
        std::fs::create_dir_all(from.path().join("home/.config"))?;
        std::fs::write(from.path().join("home/.config/settings.json"), "{}")?;
        std::os::unix::fs::symlink("settings.json", from.path().join("home/.config/link"))?;
        let _socket = std::os::unix::net::UnixListener::bind(from.path().join("home/agent.sock"))?;
        let to = tempfile::tempdir()?;
        let mut left_out = Vec::new();
        copy_tree(from.path(), &to.path().join("copy"), &mut left_out)?;
        let copy = to.path().join("copy/home");
        assert_eq!(std::fs::read_to_string(copy.join(".config/link"))?, "{}");
        assert!(std::fs::symlink_metadata(copy.join(".config/link"))?
            .file_type()
            .is_symlink());
        assert_eq!(left_out, vec![from.path().join("home/agent.sock")]);
        Ok(())
    }
}
