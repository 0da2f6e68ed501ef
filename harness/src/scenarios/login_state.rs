//! What the client did with the server before the login path: nothing (cold), or one connection
//! attempt that met the 401 and may have cached what it discovered (primed). A login path can
//! behave differently from each, so every login path runs from both; spec names, reports and the
//! expectations file name the state (`slash_mcp~primed`) when it is not the scenario's default.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LoginState {
    /// Add the server, then the login path directly: nothing discovered is cached.
    Cold,
    /// Add the server, one health check (`mcp list`: a connection attempt that meets the 401),
    /// then the login path.
    Primed,
}

impl LoginState {
    pub const ALL: [LoginState; 2] = [LoginState::Cold, LoginState::Primed];

    pub fn name(self) -> &'static str {
        match self {
            LoginState::Cold => "cold",
            LoginState::Primed => "primed",
        }
    }

    pub fn parse(name: &str) -> Option<LoginState> {
        LoginState::ALL
            .into_iter()
            .find(|s| s.name() == name.trim())
    }
}

impl std::fmt::Display for LoginState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_name_parses_back_and_unknown_names_do_not() {
        for state in LoginState::ALL {
            assert_eq!(LoginState::parse(state.name()), Some(state));
        }
        assert_eq!(LoginState::parse("warm"), None);
    }
}
