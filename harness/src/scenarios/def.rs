//! What a scenario is: a name, a description, the login path it needs, the faults its server
//! commits, and the story that drives the client. One file per scenario defines one
//! [`ScenarioDef`]; the registry in `mod.rs` lists them.

use serde::{Serialize, Serializer};

use crate::clients::{ClientUnderTest, DriveError, LoginPath};
use crate::scenarios::steps::{Ctx, Run};

/// The story: drives `client` through the scenario, recording commands and checks in the run.
pub type Drive = fn(&mut Run<'_>, &dyn ClientUnderTest, &Ctx<'_>) -> Result<(), DriveError>;

pub struct ScenarioDef {
    /// As the command line, reports and the expectations file name it: `slash_mcp`.
    pub name: &'static str,
    pub describe: &'static str,
    /// The login path the story authenticates through; a client without it earns "not
    /// applicable" with its evidence.
    pub login_path: LoginPath,
    /// Whether the scenario judges a reconnect inside one running client process.
    pub is_reconnect_check: bool,
    /// How the scenario's server knows its callers: OAuth (every scenario but one), or a static
    /// API key (`static_api_key`: a server that is not OAuth).
    pub credentials: mock_server::discovery::Credentials,
    /// The login paths' state before the login (cold or primed) when a run names none; `None`
    /// for a scenario whose story has no such choice.
    pub login_state: Option<crate::scenarios::login_state::LoginState>,
    /// The faults the scenario's server commits from the start (most commit none).
    pub faults: fn() -> mock_server::Faults,
    pub drive: Drive,
}

/// No faults: the server behaves.
pub fn no_faults() -> mock_server::Faults {
    mock_server::Faults::default()
}

/// A scenario, by reference to its definition: cheap to copy, compared by name.
#[derive(Clone, Copy)]
pub struct Scenario(&'static ScenarioDef);

impl Scenario {
    pub const fn new(def: &'static ScenarioDef) -> Scenario {
        Scenario(def)
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    /// The name as a file or folder name: the suite's scenario names have `:` and `/` in them
    /// (`conformance:auth/metadata-default` → `conformance-auth-metadata-default`).
    pub fn file_label(self) -> String {
        self.0.name.replace([':', '/'], "-")
    }

    pub fn describe(self) -> &'static str {
        self.0.describe
    }

    pub fn login_path(self) -> LoginPath {
        self.0.login_path
    }

    /// The state the story starts its login path from when a run names none; `None` when the
    /// story has no such choice.
    pub fn default_login_state(self) -> Option<crate::scenarios::login_state::LoginState> {
        self.0.login_state
    }

    /// Whether the scenario judges a reconnect inside one running session.
    pub fn is_reconnect_check(self) -> bool {
        self.0.is_reconnect_check
    }

    /// How the scenario's server knows its callers.
    pub fn credentials(self) -> mock_server::discovery::Credentials {
        self.0.credentials
    }

    /// The server a run of the scenario meets: the variant's when one is given, with the
    /// scenario's credentials; `None` for the default server.
    pub fn mock_discovery(
        self,
        variant: Option<mock_server::Discovery>,
    ) -> Option<mock_server::Discovery> {
        match (variant, self.credentials()) {
            (None, mock_server::discovery::Credentials::Oauth) => None,
            (variant, credentials) => Some(mock_server::Discovery {
                credentials,
                ..variant.unwrap_or_default()
            }),
        }
    }

    /// The faults the scenario's server commits (the story needs them; most need none).
    pub fn mock_faults(self) -> mock_server::Faults {
        (self.0.faults)()
    }

    pub(crate) fn drive(
        self,
        run: &mut Run<'_>,
        client: &dyn ClientUnderTest,
        ctx: &Ctx<'_>,
    ) -> Result<(), DriveError> {
        (self.0.drive)(run, client, ctx)
    }
}

impl PartialEq for Scenario {
    fn eq(&self, other: &Scenario) -> bool {
        self.0.name == other.0.name
    }
}

impl Eq for Scenario {}

impl std::hash::Hash for Scenario {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.name.hash(state);
    }
}

impl std::fmt::Debug for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.name)
    }
}

/// As JSON reports have always named scenarios: kebab-case (`slash-mcp`).
impl Serialize for Scenario {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.name.replace('_', "-"))
    }
}
