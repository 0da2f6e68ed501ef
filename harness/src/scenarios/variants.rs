//! The server variants that expose the failure classes before the token, one per class, as
//! `harness run --discovery <variant>` and the discovery tests name them.

use mock_server::discovery::{Registration, ResourceMetadataAt, ResponseShape, ServerMetadataBy};
use mock_server::Discovery;
use serde::Serialize;

use crate::checks::discovery as checks;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DiscoveryVariant {
    /// Class 1: the resource metadata only at the URL the 401 challenge announces.
    ChallengeOnly,
    /// Class 1, the fallback: a bare challenge, the metadata only at the path-specific
    /// well-known location of an endpoint under /mcp.
    BareChallenge,
    /// Class 2: the authorization server on another origin, named only by
    /// `authorization_servers`.
    SeparateAuthServer,
    /// Class 3: an issuer with a path (RFC 8414 path insertion).
    IssuerPath,
    /// Class 3: OpenID Connect Discovery only.
    OpenidOnly,
    /// Class 4: the MCP endpoint (and so the resource) under /mcp.
    McpPath,
    /// Classes 5 and 6 with a client ID given: no registration endpoint.
    PreRegistered,
    /// Class 5 with client ID metadata documents (2025-11-25): the client's ID is a URL, no
    /// registration endpoint; the mock resolves its own document URLs without fetching.
    ClientIdMetadata,
    /// Class 7: token responses without `expires_in` (RFC 6749 §5.1: RECOMMENDED only).
    TokenWithoutExpiresIn,
    /// Class 7: `"expires_in": "3600"`, a string.
    TokenExpiresInString,
    /// Class 7: token responses with members no RFC defines (the client MUST ignore them).
    TokenExtraFields,
    /// Class 7: a `Basic` challenge before the `Bearer` one, a `scope` parameter, odd spacing.
    SeveralChallenges,
    /// Class 8: 404s and registration errors as HTML pages, not JSON.
    HtmlErrors,
}

impl DiscoveryVariant {
    // The mock's form-encoded token response (`--response-shape token-form-encoded`) is not a
    // variant: RFC 6749 §5.1 says JSON, so a client that refuses it is right, and no check
    // could fail it fairly.
    pub const ALL: [DiscoveryVariant; 13] = [
        DiscoveryVariant::ChallengeOnly,
        DiscoveryVariant::BareChallenge,
        DiscoveryVariant::SeparateAuthServer,
        DiscoveryVariant::IssuerPath,
        DiscoveryVariant::OpenidOnly,
        DiscoveryVariant::McpPath,
        DiscoveryVariant::PreRegistered,
        DiscoveryVariant::ClientIdMetadata,
        DiscoveryVariant::TokenWithoutExpiresIn,
        DiscoveryVariant::TokenExpiresInString,
        DiscoveryVariant::TokenExtraFields,
        DiscoveryVariant::SeveralChallenges,
        DiscoveryVariant::HtmlErrors,
    ];

    /// The variants of classes 7 and 8: shapes of responses, not of discovery.
    pub const SHAPES: [DiscoveryVariant; 5] = [
        DiscoveryVariant::TokenWithoutExpiresIn,
        DiscoveryVariant::TokenExpiresInString,
        DiscoveryVariant::TokenExtraFields,
        DiscoveryVariant::SeveralChallenges,
        DiscoveryVariant::HtmlErrors,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DiscoveryVariant::ChallengeOnly => "challenge-only",
            DiscoveryVariant::BareChallenge => "bare-challenge",
            DiscoveryVariant::SeparateAuthServer => "separate-auth-server",
            DiscoveryVariant::IssuerPath => "issuer-path",
            DiscoveryVariant::OpenidOnly => "openid-only",
            DiscoveryVariant::McpPath => "mcp-path",
            DiscoveryVariant::PreRegistered => "pre-registered",
            DiscoveryVariant::ClientIdMetadata => "client-id-metadata",
            DiscoveryVariant::TokenWithoutExpiresIn => "token-without-expires-in",
            DiscoveryVariant::TokenExpiresInString => "token-expires-in-string",
            DiscoveryVariant::TokenExtraFields => "token-extra-fields",
            DiscoveryVariant::SeveralChallenges => "several-challenges",
            DiscoveryVariant::HtmlErrors => "html-errors",
        }
    }

    /// The failure class (1–6 in docs/discovery.md) the variant is built to expose.
    pub fn class(self) -> u8 {
        match self {
            DiscoveryVariant::ChallengeOnly | DiscoveryVariant::BareChallenge => 1,
            DiscoveryVariant::SeparateAuthServer => 2,
            DiscoveryVariant::IssuerPath | DiscoveryVariant::OpenidOnly => 3,
            DiscoveryVariant::McpPath => 4,
            DiscoveryVariant::PreRegistered | DiscoveryVariant::ClientIdMetadata => 5,
            DiscoveryVariant::TokenWithoutExpiresIn
            | DiscoveryVariant::TokenExpiresInString
            | DiscoveryVariant::TokenExtraFields
            | DiscoveryVariant::SeveralChallenges => 7,
            DiscoveryVariant::HtmlErrors => 8,
        }
    }

    /// The check that judges the variant's own class (every discovery check runs anyway).
    pub fn key_check(self) -> &'static str {
        match self {
            DiscoveryVariant::ChallengeOnly | DiscoveryVariant::BareChallenge => {
                checks::RESOURCE_METADATA_FOUND
            }
            DiscoveryVariant::SeparateAuthServer => checks::AUTHORIZATION_SERVER_FROM_METADATA,
            DiscoveryVariant::IssuerPath | DiscoveryVariant::OpenidOnly => {
                checks::SERVER_METADATA_FOUND
            }
            DiscoveryVariant::McpPath => checks::RESOURCE_INDICATOR,
            DiscoveryVariant::PreRegistered => checks::GIVEN_CLIENT_ID_USED,
            DiscoveryVariant::ClientIdMetadata => checks::CLIENT_ID_METADATA_USED,
            // The shapes are judged by whether the client got through: authenticated tools/list.
            DiscoveryVariant::TokenWithoutExpiresIn
            | DiscoveryVariant::TokenExpiresInString
            | DiscoveryVariant::TokenExtraFields
            | DiscoveryVariant::SeveralChallenges
            | DiscoveryVariant::HtmlErrors => crate::checks::TOOLS_LISTED_AFTER_TOKEN,
        }
    }

    pub fn discovery(self) -> Discovery {
        let default = Discovery::default();
        match self {
            DiscoveryVariant::ChallengeOnly => Discovery {
                resource_metadata_at: ResourceMetadataAt::ChallengeOnly,
                ..default
            },
            DiscoveryVariant::BareChallenge => Discovery {
                resource_metadata_at: ResourceMetadataAt::PathSpecific,
                challenge_names_metadata: false,
                mcp_path: "/mcp".to_owned(),
                ..default
            },
            DiscoveryVariant::SeparateAuthServer => Discovery {
                separate_authorization_server: true,
                ..default
            },
            DiscoveryVariant::IssuerPath => Discovery {
                issuer_path: Some("/tenant1".to_owned()),
                ..default
            },
            DiscoveryVariant::OpenidOnly => Discovery {
                server_metadata_by: ServerMetadataBy::Openid,
                ..default
            },
            DiscoveryVariant::McpPath => Discovery {
                mcp_path: "/mcp".to_owned(),
                ..default
            },
            DiscoveryVariant::PreRegistered => Discovery {
                registration: Registration::PreRegistered,
                ..default
            },
            DiscoveryVariant::ClientIdMetadata => Discovery {
                registration: Registration::ClientIdMetadata,
                ..default
            },
            DiscoveryVariant::TokenWithoutExpiresIn => Discovery {
                response_shape: ResponseShape::TokenWithoutExpiresIn,
                ..default
            },
            DiscoveryVariant::TokenExpiresInString => Discovery {
                response_shape: ResponseShape::TokenExpiresInString,
                ..default
            },
            DiscoveryVariant::TokenExtraFields => Discovery {
                response_shape: ResponseShape::TokenExtraFields,
                ..default
            },
            DiscoveryVariant::SeveralChallenges => Discovery {
                response_shape: ResponseShape::SeveralChallenges,
                ..default
            },
            DiscoveryVariant::HtmlErrors => Discovery {
                response_shape: ResponseShape::HtmlErrors,
                ..default
            },
        }
    }

    pub fn parse(name: &str) -> Option<DiscoveryVariant> {
        DiscoveryVariant::ALL
            .into_iter()
            .find(|v| v.name() == name.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_is_a_valid_configuration_with_a_name_that_parses() {
        for variant in DiscoveryVariant::ALL {
            assert_eq!(variant.discovery().validate(), Ok(()), "{variant:?}");
            assert_eq!(DiscoveryVariant::parse(variant.name()), Some(variant));
            assert_ne!(variant.discovery(), Discovery::default(), "{variant:?}");
        }
    }
}

/// A scenario, on the default server or on a discovery variant: what a matrix cell runs, named
/// `slash_mcp` or `slash_mcp@mcp-path` (the name the expectations file and reports use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioSpec {
    pub scenario: crate::scenarios::Scenario,
    pub discovery: Option<DiscoveryVariant>,
}

impl From<crate::scenarios::Scenario> for ScenarioSpec {
    fn from(scenario: crate::scenarios::Scenario) -> Self {
        ScenarioSpec {
            scenario,
            discovery: None,
        }
    }
}

impl ScenarioSpec {
    pub fn name(self) -> String {
        match self.discovery {
            Some(variant) => format!("{}@{}", self.scenario.name(), variant.name()),
            None => self.scenario.name().to_owned(),
        }
    }

    /// `slash_mcp`, or `slash_mcp@mcp-path`; `None` when either half is unknown.
    pub fn parse(name: &str) -> Option<ScenarioSpec> {
        let (scenario, variant) = match name.split_once('@') {
            Some((scenario, variant)) => (scenario, Some(DiscoveryVariant::parse(variant)?)),
            None => (name, None),
        };
        Some(ScenarioSpec {
            scenario: crate::scenarios::Scenario::parse(scenario)?,
            discovery: variant,
        })
    }
}

#[cfg(test)]
mod spec_tests {
    use super::*;
    use crate::scenarios::def::Scenario;

    #[test]
    fn a_spec_name_round_trips_and_unknown_halves_are_refused() {
        let spec = ScenarioSpec {
            scenario: Scenario::SLASH_MCP,
            discovery: Some(DiscoveryVariant::McpPath),
        };
        assert_eq!(spec.name(), "slash_mcp@mcp-path");
        assert_eq!(ScenarioSpec::parse("slash_mcp@mcp-path"), Some(spec));
        assert_eq!(
            ScenarioSpec::parse("session_lost"),
            Some(Scenario::SESSION_LOST.into())
        );
        assert_eq!(ScenarioSpec::parse("slash_mcp@nowhere"), None);
        assert_eq!(ScenarioSpec::parse("nothing@mcp-path"), None);
    }
}
