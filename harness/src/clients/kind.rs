//! What the harness knows of one kind of client before it runs one: its package, login paths,
//! model wire API, how servers are configured and where tokens live, and how to make a driver.

use crate::clients::{ClientUnderTest, LoginPath, ModelWire};
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
    /// The model API its requests speak.
    pub model_wire: ModelWire,
    /// How the harness gives it a server: its own subcommand, or a config file written directly
    /// (where the subcommand would start OAuth and block).
    pub configured_by: &'static str,
    /// Where it keeps MCP OAuth tokens, relative to HOME (inspected, and faults planted there).
    pub token_store: &'static str,
    /// The driver for one installed version.
    pub make: fn(InstalledVersion) -> Box<dyn ClientUnderTest>,
    /// What a version can do, probed once and cached, where the client has a probe (Claude
    /// Code's help texts); bisect skips versions that lack what a scenario needs.
    pub features: Option<FeatureProbe>,
    /// A reference client: no model, deterministic, driven only to judge the server (MCP
    /// Inspector's CLI, mcp-remote). When a check fails for an agent but passes for the reference
    /// clients on the same server, the fault is likely the agent's; when it fails for them too,
    /// likely the server's.
    pub reference: bool,
}

impl std::fmt::Debug for ClientKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}
