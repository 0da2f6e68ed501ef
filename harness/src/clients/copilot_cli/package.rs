//! GitHub Copilot CLI's npm package and where each era keeps its executable.

use std::path::Path;

use crate::store::package::{platform_suffix, ClientPackage, Launch};

/// `@github/copilot`: up to 0.0.369 a node script (`index.js`); from 0.0.370 the package holds
/// only `npm-loader.js`, which starts a native executable from the optional dependency
/// `@github/copilot-<platform>` of the same version (`@github/copilot-linux-x64@1.0.102`, its
/// executable `copilot` at the package's root; `linuxmusl-*` on musl systems, from 1.0.x). The
/// registry reachable here lacks that package for some versions (0.0.370, 1.0.0, 1.0.7, …): the
/// listing leaves them out as not installable. The executable unpacks its runtime into
/// `~/.cache/copilot/pkg/<platform>/<version>` (about 235 MB, 2 s) on its first start in a HOME.
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "copilot-cli",
    npm: "@github/copilot",
    pinned: "1.0.102",
    version_env: "COPILOT_CLI_VERSION",
    prereleases: false,
    platform_build: Some(platform_build),
    locate,
};

/// The first version whose executable ships in a platform package (`npm view @github/copilot@0.0.370
/// optionalDependencies`; 0.0.369's `bin` is still `index.js`).
const FIRST_PLATFORM_PACKAGE: (u64, u64, u64) = (0, 0, 370);

/// `major.minor.patch` of a release version; None for anything else (pre-releases, builds).
fn release_triple(version: &str) -> Option<(u64, u64, u64)> {
    if version.contains('-') || version.contains('+') {
        return None;
    }
    let mut parts = version.split('.').map(|p| p.parse::<u64>().ok());
    let triple = (parts.next()??, parts.next()??, parts.next()??);
    parts.next().is_none().then_some(triple)
}

/// The platform package's name for this machine.
fn platform_package() -> String {
    format!("@github/copilot-{}", platform_suffix())
}

fn platform_build(version: &str) -> Option<String> {
    release_triple(version)
        .filter(|t| *t >= FIRST_PLATFORM_PACKAGE)
        .map(|_| format!("{}@{version}", platform_package()))
}

fn locate(dir: &Path) -> Option<Launch> {
    let modules = dir.join("node_modules/@github");
    let native = modules
        .join(format!("copilot-{}", platform_suffix()))
        .join("copilot");
    if native.is_file() {
        return Some(Launch::native(native));
    }
    let script = modules.join("copilot/index.js");
    script.is_file().then(|| Launch::node_script(&script))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_packages_start_at_0_0_370() {
        let package = platform_package();
        assert_eq!(
            platform_build("1.0.102"),
            Some(format!("{package}@1.0.102"))
        );
        assert_eq!(
            platform_build("0.0.370"),
            Some(format!("{package}@0.0.370"))
        );
        assert_eq!(platform_build("0.0.369"), None);
        assert_eq!(platform_build("1.0.89-0"), None);
    }

    #[test]
    fn the_native_executable_is_preferred_to_the_script() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let script = dir.path().join("node_modules/@github/copilot/index.js");
        std::fs::create_dir_all(script.parent().expect("a parent"))?;
        std::fs::write(&script, "")?;
        assert_eq!(
            locate(dir.path()).map(|l| l.pre_args),
            Some(vec![script.to_string_lossy().into_owned()])
        );
        let native = dir.path().join(format!(
            "node_modules/@github/copilot-{}/copilot",
            platform_suffix()
        ));
        std::fs::create_dir_all(native.parent().expect("a parent"))?;
        std::fs::write(&native, "")?;
        assert_eq!(locate(dir.path()).map(|l| l.program), Some(native));
        assert_eq!(locate(tempfile::tempdir()?.path()), None);
        Ok(())
    }
}
