//! What the store needs to know of one client's npm package: its name, the pinned version, and
//! where an installed version keeps its executable. Each client's folder under `clients/`
//! defines its own [`ClientPackage`]; the store knows none of them by name.

use std::path::{Path, PathBuf};

/// How a version ships its executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Packaging {
    /// A native executable (in a platform package, or vendored in the package).
    NativeBinary,
    /// A JavaScript entry point, run with node.
    NodeScript,
}

/// How to start an installed version: `program pre_args… <the client's own arguments>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launch {
    pub packaging: Packaging,
    pub program: PathBuf,
    pub pre_args: Vec<String>,
}

impl Launch {
    pub fn native(program: PathBuf) -> Launch {
        Launch {
            packaging: Packaging::NativeBinary,
            program,
            pre_args: Vec::new(),
        }
    }

    /// A script run with node, by absolute path.
    pub fn node_script(script: &Path) -> Launch {
        Launch {
            packaging: Packaging::NodeScript,
            program: node_program(),
            pre_args: vec![script.to_string_lossy().into_owned()],
        }
    }
}

/// One client's package on the npm registry.
#[derive(Debug)]
pub struct ClientPackage {
    /// The client's name in the harness (`claude-code`): the store's folder and the reports' key.
    pub client: &'static str,
    /// The npm package (`@anthropic-ai/claude-code`).
    pub npm: &'static str,
    /// The version runs use unless told otherwise.
    pub pinned: &'static str,
    /// The environment variable that overrides [`ClientPackage::pinned`].
    pub version_env: &'static str,
    /// Whether pre-release versions (`1.0.0-beta.3`) count as published versions.
    pub prereleases: bool,
    /// For a version whose executable is published as another version of the same package (a
    /// platform build such as `0.171.0-linux-x64`), that version; or, when it is published in
    /// another package (opencode's `opencode-linux-x64`), `<package>@<version>`. A version whose
    /// platform build is missing from the registry is not installable.
    pub platform_build: Option<fn(&str) -> Option<String>>,
    /// Where an installed version (npm prefix `dir`) keeps its executable.
    pub locate: fn(&Path) -> Option<Launch>,
}

impl ClientPackage {
    /// The version to run: [`ClientPackage::version_env`] when set, else the pinned one.
    pub fn version_under_test(&self) -> String {
        std::env::var(self.version_env)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| self.pinned.to_owned())
    }
}

/// `node` by absolute path: the sandbox's environment is cleaned, so a script is started with a
/// program path that does not depend on the sandbox's PATH.
pub fn node_program() -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .chain(["/usr/local/bin".into(), "/usr/bin".into()])
        .map(|dir| dir.join("node"))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| PathBuf::from("node"))
}

/// The script a package's `package.json` names for the executable `name` (`bin` as an object),
/// when it exists.
pub fn bin_script(package: &Path, name: &str) -> Option<std::path::PathBuf> {
    let manifest = std::fs::read_to_string(package.join("package.json")).ok()?;
    let manifest: serde_json::Value = serde_json::from_str(&manifest).ok()?;
    let relative = manifest.get("bin")?.get(name)?.as_str()?;
    let script = package.join(relative);
    script.is_file().then_some(script)
}

/// This machine's platform as npm packages name it (`linux-x64`).
pub fn platform_suffix() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "linux-arm64",
        _ => "linux-x64",
    }
}
