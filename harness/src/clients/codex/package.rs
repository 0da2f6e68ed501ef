//! Codex CLI's npm package and where each era keeps its executable.

use std::path::Path;

use crate::store::package::{platform_suffix, ClientPackage, Launch};

/// `@openai/codex`: a native binary, run directly (no node). 0.50.0 vendors it in the main
/// package; from 0.99.0 it is a separate version of the same package (`0.171.0-linux-x64`),
/// installed as the optional dependency `@openai/codex-linux-x64`, with the binary under
/// `vendor/<triple>/codex/codex` (0.100) or `vendor/<triple>/bin/codex` (0.171).
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "codex",
    npm: "@openai/codex",
    pinned: "0.171.0",
    version_env: "CODEX_VERSION",
    prereleases: false,
    platform_build: Some(platform_build),
    locate,
};

/// The first version whose executable ships as a platform build of the package.
const FIRST_PLATFORM_BUILD: (u64, u64, u64) = (0, 99, 0);

/// `major.minor.patch` of a release version; None for anything else (pre-releases, builds).
fn release_triple(version: &str) -> Option<(u64, u64, u64)> {
    if version.contains('-') || version.contains('+') {
        return None;
    }
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    let triple = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(triple)
}

fn platform_build(version: &str) -> Option<String> {
    release_triple(version)
        .filter(|t| *t >= FIRST_PLATFORM_BUILD)
        .map(|_| format!("{version}-{}", platform_suffix()))
}

/// The Rust target triple npm's builds are named by (musl: statically linked).
fn target_triple() -> &'static str {
    match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-musl",
        _ => "x86_64-unknown-linux-musl",
    }
}

fn locate(dir: &Path) -> Option<Launch> {
    let modules = dir.join("node_modules/@openai");
    let triple = target_triple();
    let platform = modules.join(format!("codex-{}", platform_suffix()));
    [
        platform.join(format!("vendor/{triple}/bin/codex")),
        platform.join(format!("vendor/{triple}/codex/codex")),
        modules.join(format!("codex/vendor/{triple}/codex/codex")),
        modules.join(format!("codex/vendor/{triple}/bin/codex")),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .map(Launch::native)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_builds_start_at_0_99_0() {
        assert_eq!(
            platform_build("0.171.0").as_deref(),
            Some("0.171.0-linux-x64")
        );
        assert_eq!(
            platform_build("0.99.0").as_deref(),
            Some("0.99.0-linux-x64")
        );
        assert_eq!(platform_build("0.98.9"), None);
        assert_eq!(platform_build("0.50.0"), None);
        assert_eq!(platform_build("0.171.0-linux-x64"), None);
        assert_eq!(platform_build("0.172.0-alpha.1"), None);
    }

    #[test]
    fn each_layout_is_found() -> std::io::Result<()> {
        let triple = target_triple();
        for layout in [
            format!(
                "@openai/codex-{}/vendor/{triple}/bin/codex",
                platform_suffix()
            ),
            format!(
                "@openai/codex-{}/vendor/{triple}/codex/codex",
                platform_suffix()
            ),
            format!("@openai/codex/vendor/{triple}/codex/codex"),
        ] {
            let dir = tempfile::tempdir()?;
            let binary = dir.path().join("node_modules").join(&layout);
            std::fs::create_dir_all(binary.parent().expect("a parent"))?;
            std::fs::write(&binary, "")?;
            assert_eq!(locate(dir.path()).map(|l| l.program), Some(binary));
        }
        assert_eq!(locate(tempfile::tempdir()?.path()), None);
        Ok(())
    }
}
