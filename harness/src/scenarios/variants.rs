//! The server variants that expose the failure classes before the token, one per class, as
//! `harness run --discovery <variant>` and the discovery tests name them.

use mock_server::discovery::{Registration, ResourceMetadataAt, ResponseShape, ServerMetadataBy};
use mock_server::Discovery;
use serde::Serialize;

use crate::checks::discovery as checks;
use crate::scenarios::login_state::LoginState;

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

/// The fields of a [`Discovery`] that `from` sets away from the default, copied onto `onto`;
/// returns their names. Written field by field (not through serde) so the merge cannot fail; the
/// test `every_variant_is_its_own_overlay_on_the_default` catches a field this list forgets.
fn overlay(onto: &mut Discovery, from: &Discovery) -> Vec<&'static str> {
    let default = Discovery::default();
    let mut set = Vec::new();
    macro_rules! field {
        ($($name:ident),*) => {$(
            if from.$name != default.$name {
                onto.$name = from.$name.clone();
                set.push(stringify!($name));
            }
        )*};
    }
    field!(
        resource_metadata_at,
        challenge_names_metadata,
        server_metadata_by,
        issuer_path,
        separate_authorization_server,
        mcp_path,
        registration,
        authorization_response_iss,
        strict_redirect_port,
        response_shape
    );
    set
}

/// Why two variants do not make a combination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CombinationError {
    #[error("`{0}` is unknown; variants: {known}", known = variant_names())]
    Unknown(String),
    #[error("`{0}+{0}` combines a variant with itself; name it once")]
    Same(&'static str),
    #[error("`{a}+{b}` cannot combine: both set the server's {field} (one value at a time), so the pair is not a server either one describes")]
    Conflict {
        a: &'static str,
        b: &'static str,
        field: &'static str,
    },
    #[error("`{a}+{b}` adds nothing: `{a}` already sets everything `{b}` sets; run `{a}`")]
    Included { a: &'static str, b: &'static str },
    #[error("`{a}+{b}` is not a server the mock can serve: {reason}")]
    Invalid {
        a: &'static str,
        b: &'static str,
        reason: String,
    },
    #[error("`{0}` names more than two variants; combinations are pairs (`a+b`)")]
    TooMany(String),
}

fn variant_names() -> String {
    DiscoveryVariant::ALL.map(|v| v.name()).join(", ")
}

/// Two discovery variants at once (`mcp-path+pre-registered`): a server that has both
/// variants' traits, so a client must get through both in one run. Only pairs whose
/// configurations compose exist: each sets fields of [`Discovery`] the other leaves at their
/// defaults (or sets to the same value, adding something of its own), and the merged server
/// validates. The pair is kept in [`DiscoveryVariant::ALL`]'s order, so `b+a` names `a+b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Combination {
    first: DiscoveryVariant,
    second: DiscoveryVariant,
}

impl Combination {
    /// The pair, or why it does not compose.
    pub fn new(a: DiscoveryVariant, b: DiscoveryVariant) -> Result<Combination, CombinationError> {
        let index = |v: DiscoveryVariant| DiscoveryVariant::ALL.iter().position(|x| *x == v);
        let (first, second) = if index(a) <= index(b) { (a, b) } else { (b, a) };
        if first == second {
            return Err(CombinationError::Same(first.name()));
        }
        let mut merged = first.discovery();
        let first_sets = overlay(&mut Discovery::default(), &first.discovery());
        let second_sets = overlay(&mut merged, &second.discovery());
        // A field both set is fine only when both set the same value.
        if let Some(field) = first_sets.iter().find(|f| {
            second_sets.contains(f) && differs(&first.discovery(), &second.discovery(), f)
        }) {
            return Err(CombinationError::Conflict {
                a: first.name(),
                b: second.name(),
                field,
            });
        }
        for (a, b) in [(first, second), (second, first)] {
            if merged == a.discovery() {
                return Err(CombinationError::Included {
                    a: a.name(),
                    b: b.name(),
                });
            }
        }
        merged
            .validate()
            .map_err(|reason| CombinationError::Invalid {
                a: first.name(),
                b: second.name(),
                reason,
            })?;
        Ok(Combination { first, second })
    }

    /// Every pair that composes, in [`DiscoveryVariant::ALL`]'s order: the `combinations` group.
    pub fn all() -> Vec<Combination> {
        let mut out = Vec::new();
        for (i, a) in DiscoveryVariant::ALL.iter().enumerate() {
            for b in &DiscoveryVariant::ALL[i + 1..] {
                if let Ok(c) = Combination::new(*a, *b) {
                    out.push(c);
                }
            }
        }
        out
    }

    pub fn parts(self) -> [DiscoveryVariant; 2] {
        [self.first, self.second]
    }

    pub fn name(self) -> String {
        format!("{}+{}", self.first.name(), self.second.name())
    }

    /// The server with both variants' traits (validated when the pair was made).
    pub fn discovery(self) -> Discovery {
        let mut merged = self.first.discovery();
        overlay(&mut merged, &self.second.discovery());
        merged
    }

    /// `a+b` (either order), or why not.
    pub fn parse(name: &str) -> Result<Combination, CombinationError> {
        let parts: Vec<&str> = name.split('+').map(str::trim).collect();
        let [a, b] = parts[..] else {
            return Err(CombinationError::TooMany(name.to_owned()));
        };
        let variant = |n: &str| {
            DiscoveryVariant::parse(n).ok_or_else(|| CombinationError::Unknown(n.to_owned()))
        };
        Combination::new(variant(a)?, variant(b)?)
    }
}

/// Whether `a` and `b` hold different values in the field named `field`.
fn differs(a: &Discovery, b: &Discovery, field: &str) -> bool {
    let value = |d: &Discovery| {
        serde_json::to_value(d)
            .ok()
            .and_then(|v| v.get(field).cloned())
    };
    value(a) != value(b)
}

/// The server a run meets when it is not the default: one discovery variant, or a combination
/// of two. Named `mcp-path` or `mcp-path+pre-registered` everywhere (`--discovery`, specs,
/// the expectations file, reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerVariant {
    One(DiscoveryVariant),
    Pair(Combination),
}

impl From<DiscoveryVariant> for ServerVariant {
    fn from(v: DiscoveryVariant) -> Self {
        ServerVariant::One(v)
    }
}

impl From<Combination> for ServerVariant {
    fn from(c: Combination) -> Self {
        ServerVariant::Pair(c)
    }
}

impl ServerVariant {
    pub fn name(self) -> String {
        match self {
            ServerVariant::One(v) => v.name().to_owned(),
            ServerVariant::Pair(c) => c.name(),
        }
    }

    pub fn discovery(self) -> Discovery {
        match self {
            ServerVariant::One(v) => v.discovery(),
            ServerVariant::Pair(c) => c.discovery(),
        }
    }

    pub fn parts(self) -> Vec<DiscoveryVariant> {
        match self {
            ServerVariant::One(v) => vec![v],
            ServerVariant::Pair(c) => c.parts().to_vec(),
        }
    }

    /// The classes the server exposes: `1`, or `1+5` for a pair.
    pub fn classes(self) -> String {
        self.parts()
            .iter()
            .map(|v| v.class().to_string())
            .collect::<Vec<_>>()
            .join("+")
    }

    /// The checks that judge the variants' own classes (every discovery check runs anyway).
    pub fn key_checks(self) -> Vec<&'static str> {
        let mut out: Vec<&'static str> = Vec::new();
        for check in self.parts().iter().map(|v| v.key_check()) {
            if !out.contains(&check) {
                out.push(check);
            }
        }
        out
    }

    /// `mcp-path` or `mcp-path+pre-registered`, or why not.
    pub fn parse(name: &str) -> Result<ServerVariant, CombinationError> {
        let name = name.trim();
        if name.contains('+') {
            return Combination::parse(name).map(ServerVariant::Pair);
        }
        DiscoveryVariant::parse(name)
            .map(ServerVariant::One)
            .ok_or_else(|| CombinationError::Unknown(name.to_owned()))
    }

    /// For clap's `value_parser`: the error says what to do.
    pub fn parse_arg(name: &str) -> Result<ServerVariant, String> {
        ServerVariant::parse(name).map_err(|e| e.to_string())
    }
}

/// As the reports have always named a variant: its name (`mcp-path`, `mcp-path+pre-registered`).
impl Serialize for ServerVariant {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.name())
    }
}

impl std::fmt::Display for ServerVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod combination_tests {
    use super::*;

    #[test]
    fn every_variant_is_its_own_overlay_on_the_default() {
        for variant in DiscoveryVariant::ALL {
            let mut onto = Discovery::default();
            overlay(&mut onto, &variant.discovery());
            assert_eq!(
                onto,
                variant.discovery(),
                "{variant:?}: overlay misses a field"
            );
        }
    }

    #[test]
    fn every_listed_combination_validates_round_trips_and_ignores_order() {
        let all = Combination::all();
        assert!(all.len() > 40, "only {} pairs compose", all.len());
        for c in &all {
            let discovery = c.discovery();
            assert_eq!(discovery.validate(), Ok(()), "{}", c.name());
            let [a, b] = c.parts();
            // The merged server keeps both variants' traits.
            for part in [a, b] {
                let mut only = Discovery::default();
                for field in overlay(&mut only, &part.discovery()) {
                    assert!(!differs(&discovery, &only, field), "{}: {field}", c.name());
                }
                assert_ne!(discovery, part.discovery(), "{}", c.name());
            }
            assert_eq!(Combination::parse(&c.name()), Ok(*c));
            let reversed = format!("{}+{}", b.name(), a.name());
            assert_eq!(Combination::parse(&reversed), Ok(*c));
            let variant = ServerVariant::parse(&c.name()).map(|v| v.name());
            assert_eq!(variant, Ok(c.name()));
        }
    }

    #[test]
    fn pairs_that_do_not_compose_are_refused_with_the_reason() {
        use DiscoveryVariant::*;
        let refused = |a, b| {
            Combination::new(a, b)
                .expect_err("a pair that must not compose")
                .to_string()
        };
        assert!(
            refused(PreRegistered, ClientIdMetadata).contains("both set the server's registration")
        );
        assert!(refused(TokenExtraFields, HtmlErrors).contains("response_shape"));
        assert!(refused(ChallengeOnly, BareChallenge).contains("resource_metadata_at"));
        assert!(refused(BareChallenge, McpPath).contains("already sets everything `mcp-path` sets"));
        assert!(refused(McpPath, McpPath).contains("with itself"));
        assert_eq!(
            Combination::parse("mcp-path+nowhere"),
            Err(CombinationError::Unknown("nowhere".to_owned()))
        );
        assert!(matches!(
            Combination::parse("mcp-path+issuer-path+openid-only"),
            Err(CombinationError::TooMany(_))
        ));
        for c in Combination::all() {
            let [a, b] = c.parts();
            assert!(
                a != b && !(a.class() == 7 && b.class() == 7),
                "{}",
                c.name()
            );
        }
    }
}

/// A scenario, from a login state, on the default server or on a server variant: what a matrix
/// cell runs, named `slash_mcp`, `slash_mcp~primed`, `slash_mcp@mcp-path` or
/// `slash_mcp~primed@mcp-path+pre-registered` (the name the expectations file and reports use).
/// The state is named only when it is not the scenario's default, and `login_then_list~cold` is
/// `login_cold` (its name since before states, kept so its expectations and snapshots keep
/// their key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioSpec {
    pub scenario: crate::scenarios::Scenario,
    /// The login path's starting state; `None` = the scenario's default.
    pub state: Option<LoginState>,
    pub discovery: Option<ServerVariant>,
}

impl From<crate::scenarios::Scenario> for ScenarioSpec {
    fn from(scenario: crate::scenarios::Scenario) -> Self {
        ScenarioSpec {
            scenario,
            state: None,
            discovery: None,
        }
    }
}

impl ScenarioSpec {
    /// The spec in its canonical form: a state equal to the scenario's default is dropped, and
    /// the login command's two twins name each other's state.
    pub fn new(
        scenario: crate::scenarios::Scenario,
        state: Option<LoginState>,
        discovery: Option<ServerVariant>,
    ) -> ScenarioSpec {
        use crate::scenarios::Scenario;
        let (scenario, state) = match (scenario, state) {
            (s, Some(LoginState::Cold)) if s == Scenario::LOGIN_THEN_LIST => {
                (Scenario::LOGIN_COLD, None)
            }
            (s, Some(LoginState::Primed)) if s == Scenario::LOGIN_COLD => {
                (Scenario::LOGIN_THEN_LIST, None)
            }
            (s, state) if state == s.default_login_state() => (s, None),
            other => other,
        };
        ScenarioSpec {
            scenario,
            state,
            discovery,
        }
    }

    /// The state the run starts from: the one named, else the scenario's default.
    pub fn effective_state(self) -> Option<LoginState> {
        self.state.or(self.scenario.default_login_state())
    }

    pub fn name(self) -> String {
        let mut name = self.scenario.name().to_owned();
        if let Some(state) = self.state {
            name = format!("{name}~{}", state.name());
        }
        if let Some(variant) = self.discovery {
            name = format!("{name}@{}", variant.name());
        }
        name
    }

    /// `slash_mcp`, `slash_mcp~primed`, `slash_mcp@mcp-path`, `slash_mcp~cold@a+b`; `None` when
    /// a part is unknown, the pair does not compose or the scenario has no login state
    /// ([`ScenarioSpec::parse_or_why`] says which).
    pub fn parse(name: &str) -> Option<ScenarioSpec> {
        ScenarioSpec::parse_or_why(name).ok()
    }

    /// As [`ScenarioSpec::parse`], with what is wrong.
    pub fn parse_or_why(name: &str) -> Result<ScenarioSpec, String> {
        let (scenario, variant) = match name.split_once('@') {
            Some((scenario, variant)) => (
                scenario,
                Some(ServerVariant::parse(variant).map_err(|e| e.to_string())?),
            ),
            None => (name, None),
        };
        let (scenario, state) = match scenario.split_once('~') {
            Some((scenario, state)) => (
                scenario,
                Some(
                    LoginState::parse(state)
                        .ok_or_else(|| format!("no login state `{state}`; states: cold, primed"))?,
                ),
            ),
            None => (scenario, None),
        };
        let found = crate::scenarios::Scenario::parse(scenario)
            .ok_or_else(|| format!("no scenario `{scenario}`"))?;
        if state.is_some() && found.default_login_state().is_none() {
            return Err(format!(
                "`{scenario}` has no login state (cold or primed): only the login paths' \
                 scenarios do (slash_mcp, login_then_list, print_after_auth, login_at_connect, \
                 authenticate_tool); drop `~{}`",
                state.map(|s| s.name()).unwrap_or_default()
            ));
        }
        Ok(ScenarioSpec::new(found, state, variant))
    }
}

#[cfg(test)]
mod spec_tests {
    use super::*;
    use crate::scenarios::def::Scenario;

    #[test]
    fn a_spec_name_round_trips_and_unknown_halves_are_refused() {
        let spec = Scenario::SLASH_MCP.on(DiscoveryVariant::McpPath.into());
        assert_eq!(spec.name(), "slash_mcp@mcp-path");
        assert_eq!(ScenarioSpec::parse("slash_mcp@mcp-path"), Some(spec));
        assert_eq!(
            ScenarioSpec::parse("session_lost"),
            Some(Scenario::SESSION_LOST.into())
        );
        assert_eq!(ScenarioSpec::parse("slash_mcp@nowhere"), None);
        assert_eq!(ScenarioSpec::parse("nothing@mcp-path"), None);
    }

    #[rstest::rstest]
    #[case("slash_mcp~primed", "slash_mcp~primed")]
    #[case("slash_mcp~cold", "slash_mcp")]
    #[case("slash-mcp~primed@mcp-path", "slash_mcp~primed@mcp-path")]
    #[case(
        "print_after_auth~primed@pre-registered+mcp-path",
        "print_after_auth~primed@mcp-path+pre-registered"
    )]
    #[case("login_at_connect~primed", "login_at_connect~primed")]
    #[case("authenticate_tool~primed", "authenticate_tool~primed")]
    #[case("login_then_list~cold", "login_cold")]
    #[case(
        "login_then_list~primed@challenge-only",
        "login_then_list@challenge-only"
    )]
    #[case("login_cold~primed", "login_then_list")]
    #[case("login_cold~cold@mcp-path", "login_cold@mcp-path")]
    fn a_spec_with_a_login_state_parses_to_its_canonical_name_which_round_trips(
        #[case] given: &str,
        #[case] canonical: &str,
    ) {
        let spec = ScenarioSpec::parse_or_why(given).expect("a spec");
        assert_eq!(spec.name(), canonical);
        assert_eq!(ScenarioSpec::parse(canonical), Some(spec));
    }

    #[test]
    fn a_login_state_is_refused_when_unknown_or_on_a_scenario_without_one() {
        let why = ScenarioSpec::parse_or_why("slash_mcp~warm").expect_err("unknown state");
        assert!(why.contains("cold, primed"), "{why}");
        let why = ScenarioSpec::parse_or_why("token_expiry~primed").expect_err("no state");
        assert!(why.contains("has no login state"), "{why}");
    }

    #[test]
    fn the_effective_state_is_the_named_one_else_the_scenarios_default() {
        let primed = ScenarioSpec::parse("slash_mcp~primed").expect("a spec");
        assert_eq!(primed.effective_state(), Some(LoginState::Primed));
        let cold = ScenarioSpec::from(Scenario::SLASH_MCP);
        assert_eq!(cold.effective_state(), Some(LoginState::Cold));
        let listed = ScenarioSpec::from(Scenario::LOGIN_THEN_LIST);
        assert_eq!(listed.effective_state(), Some(LoginState::Primed));
        assert_eq!(
            ScenarioSpec::from(Scenario::SESSION_LOST).effective_state(),
            None
        );
    }

    #[test]
    fn a_spec_on_a_combination_round_trips_in_its_canonical_order() {
        let spec = ScenarioSpec::parse("login_then_list@pre-registered+mcp-path");
        assert_eq!(
            spec.map(|s| s.name()).as_deref(),
            Some("login_then_list@mcp-path+pre-registered")
        );
        let why = ScenarioSpec::parse_or_why("login_then_list@pre-registered+client-id-metadata");
        assert!(why
            .expect_err("registration twice")
            .contains("registration"));
    }
}

impl crate::scenarios::Scenario {
    /// The scenario on a server variant.
    pub fn on(self, variant: ServerVariant) -> ScenarioSpec {
        ScenarioSpec::new(self, None, Some(variant))
    }

    /// The scenario from a login state, on the default server.
    pub fn from_state(self, state: LoginState) -> ScenarioSpec {
        ScenarioSpec::new(self, Some(state), None)
    }
}
