//! Kilo's npm package and where an installed version keeps its executable.

use std::path::Path;

use crate::clients::opencode::package::locate_in;
use crate::store::package::{platform_suffix, ClientPackage, Launch};

/// `@kilocode/cli`: opencode's fork, packaged as opencode is: a native (Bun-compiled) binary in
/// one optional dependency per platform (`@kilocode/cli-linux-x64@7.7.7`, binary `bin/kilo`),
/// which the postinstall also links to the wrapper's `bin/kilo`. Some wrapper versions have no
/// platform package of the same version (7.8.1 here): the listing leaves them out.
pub static PACKAGE: ClientPackage = ClientPackage {
    client: "kilo",
    npm: "@kilocode/cli",
    pinned: "7.7.7",
    version_env: "KILO_VERSION",
    prereleases: false,
    platform_build: Some(platform_build),
    locate,
};

/// The platform package of a release version: `@kilocode/cli-linux-x64@<v>`.
fn platform_build(version: &str) -> Option<String> {
    (!version.contains('-') && !version.contains('+'))
        .then(|| format!("@kilocode/cli-{}@{version}", platform_suffix()))
}

fn locate(dir: &Path) -> Option<Launch> {
    locate_in(dir, "@kilocode/cli", "kilo", "@kilocode/cli/bin/kilo")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_package_is_a_scoped_package_of_the_same_version() {
        let build = platform_build("7.7.7").expect("a build");
        assert_eq!(
            crate::store::registry::build_in_other_package(&build),
            Some((
                format!("@kilocode/cli-{}", platform_suffix()).as_str(),
                "7.7.7"
            ))
        );
    }

    #[test]
    fn the_platform_packages_binary_is_found() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let native = dir.path().join(format!(
            "node_modules/@kilocode/cli-{}/bin/kilo",
            platform_suffix()
        ));
        std::fs::create_dir_all(native.parent().expect("a parent"))?;
        std::fs::write(&native, "")?;
        assert_eq!(locate(dir.path()).map(|l| l.program), Some(native));
        assert_eq!(locate(tempfile::tempdir()?.path()), None);
        Ok(())
    }
}
