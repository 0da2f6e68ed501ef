//! Every client the harness can drive, by name: its package, its login paths, and how to make a
//! driver for an installed version. A new client is a folder under `clients/` and a line here.

use crate::clients::{ClientUnderTest, LoginPath};
use crate::store::features::{FeatureError, Features};
use crate::store::package::ClientPackage;
use crate::store::versions::InstalledVersion;

/// Probes what an installed version can do.
pub type FeatureProbe = fn(&InstalledVersion) -> Result<Features, FeatureError>;

/// One kind of client.
pub struct ClientKind {
    /// As `--client` names it: `claude-code`.
    pub name: &'static str,
    /// One line for `harness clients`.
    pub summary: &'static str,
    pub package: &'static ClientPackage,
    /// The login paths the client has at all (a version may still lack one: it says so with
    /// evidence at run time).
    pub login_paths: &'static [LoginPath],
    /// The driver for one installed version.
    pub make: fn(InstalledVersion) -> Box<dyn ClientUnderTest>,
    /// What a version can do, probed once and cached, where the client has a probe (Claude
    /// Code's help texts); bisect skips versions that lack what a scenario needs.
    pub features: Option<FeatureProbe>,
}

impl std::fmt::Debug for ClientKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// Every client, in the order tables show them.
pub static ALL: &[&ClientKind] = &[
    &crate::clients::claude_code::KIND,
    &crate::clients::codex::KIND,
];

/// The client named `name`, or an error that lists the ones there are.
pub fn by_name(name: &str) -> Result<&'static ClientKind, String> {
    ALL.iter().copied().find(|k| k.name == name).ok_or_else(|| {
        format!(
            "`{name}` is not a client the harness drives; `harness clients` lists them: {}",
            ALL.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The default client.
pub fn default_kind() -> &'static ClientKind {
    ALL[0]
}

/// `--client a,b,c` (or `all`), each name checked.
pub fn parse_list(text: &str) -> Result<Vec<&'static ClientKind>, String> {
    if text.trim() == "all" {
        return Ok(ALL.to_vec());
    }
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(by_name)
        .collect()
}
