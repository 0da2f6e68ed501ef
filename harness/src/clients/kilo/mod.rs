//! Kilo (`@kilocode/cli`), opencode's fork, as a client under test: opencode's driver
//! ([`crate::clients::opencode::Opencode`]) with Kilo's names: `kilo mcp auth`, `kilo mcp
//! list`, `kilo run`, `kilo serve`, `$XDG_CONFIG_HOME/kilo/kilo.json`, `KILO_*` variables and
//! tokens in `$XDG_DATA_HOME/kilo/mcp-auth.json`.

pub mod package;

pub use package::PACKAGE;

use crate::clients::catalog::ClientKind;
use crate::clients::opencode::{Flavor, Opencode};
use crate::clients::{LoginPath, ModelWire};
use crate::store::versions::InstalledVersion;

/// Kilo's names.
pub static KILO: Flavor = Flavor {
    name: "kilo",
    command: "kilo",
    config: ".config/kilo/kilo.json",
    tokens: ".local/share/kilo/mcp-auth.json",
    env_prefix: "KILO",
    schema: "https://app.kilo.ai/config.json",
    // Kilo's own reporting and indexing (7.7.7 reads these), off: nothing leaves the sandbox.
    also_disable: &[
        "DISABLE_SESSION_INGEST",
        "DISABLE_PRESENCE",
        "DISABLE_CODEBASE_INDEXING",
    ],
};

/// Kilo in the client catalog.
pub static KIND: ClientKind = ClientKind {
    name: "kilo",
    summary:
        "Kilo's CLI, an opencode fork (OpenAI Chat Completions through @ai-sdk/openai-compatible)",
    package: &package::PACKAGE,
    login_paths: &[LoginPath::LoginCommand, LoginPath::SlashMcp],
    model_wire: ModelWire::OpenaiChat,
    configured_by:
        "$XDG_CONFIG_HOME/kilo/kilo.json written by the harness (`kilo mcp add --url` cannot set the `oauth.callbackPort` each run gives its server)",
    token_store: ".local/share/kilo/mcp-auth.json",
    make: |install| Box::new(kilo(install)),
    features: None,
    reference: false,
};

/// The driver for an installed Kilo version.
pub fn kilo(install: InstalledVersion) -> Opencode {
    Opencode::with_flavor(install, &KILO)
}
