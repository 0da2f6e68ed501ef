//! opencode's npm package and where an installed version keeps its executable.

use std::path::Path;

use crate::store::package::{platform_suffix, ClientPackage, Launch};

/// `opencode-ai`: a native (Bun-compiled) binary, run directly. The wrapper package names one
/// optional dependency per platform, each the same version (`opencode-linux-x64@1.18.33`, and
/// from 1.0 a `-baseline` build for CPUs without AVX2), with the executable at `bin/opencode`;
/// 1.18's postinstall also hard-links the one it picks to the wrapper's `bin/opencode.exe`.
/// npm installs a wrapper whose platform package is missing without complaint, so the listing
/// checks the platform package's versions (`platform_build`).
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "opencode",
    npm: "opencode-ai",
    pinned: "1.18.33",
    version_env: "OPENCODE_VERSION",
    prereleases: false,
    platform_build: Some(platform_build),
    locate,
};

/// The platform package of a release version, as another package: `opencode-linux-x64@<v>`.
fn platform_build(version: &str) -> Option<String> {
    (!version.contains('-') && !version.contains('+'))
        .then(|| format!("opencode-{}@{version}", platform_suffix()))
}

fn locate(dir: &Path) -> Option<Launch> {
    locate_in(dir, "opencode", "opencode", "opencode-ai/bin/opencode.exe")
}

/// The executable of an opencode-shaped package, whose platform packages are
/// `<platform_prefix>-<platform>` with the binary at `bin/<binary>`: the platform package's own
/// build first, then its baseline build, then the copy the postinstall made in the wrapper
/// (`wrapper_bin`, under `node_modules`).
pub fn locate_in(
    dir: &Path,
    platform_prefix: &str,
    binary: &str,
    wrapper_bin: &str,
) -> Option<Launch> {
    let modules = dir.join("node_modules");
    let platform = format!("{platform_prefix}-{}", platform_suffix());
    [
        modules.join(&platform).join("bin").join(binary),
        modules
            .join(format!("{platform}-baseline"))
            .join("bin")
            .join(binary),
        modules.join(wrapper_bin),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .map(Launch::native)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_is_built_in_the_platform_package_of_the_same_version() {
        assert_eq!(
            platform_build("1.18.33").as_deref(),
            Some(format!("opencode-{}@1.18.33", platform_suffix()).as_str())
        );
        assert_eq!(platform_build("1.19.0-beta.1"), None);
    }

    #[test]
    fn the_platform_packages_binary_is_found_first() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let wrapper = dir.path().join("node_modules/opencode-ai/bin/opencode.exe");
        std::fs::create_dir_all(wrapper.parent().expect("a parent"))?;
        std::fs::write(&wrapper, "")?;
        assert_eq!(locate(dir.path()).map(|l| l.program), Some(wrapper));
        let native = dir.path().join(format!(
            "node_modules/opencode-{}/bin/opencode",
            platform_suffix()
        ));
        std::fs::create_dir_all(native.parent().expect("a parent"))?;
        std::fs::write(&native, "")?;
        assert_eq!(locate(dir.path()).map(|l| l.program), Some(native));
        assert_eq!(locate(tempfile::tempdir()?.path()), None);
        Ok(())
    }
}
