//! What kind of server the mock plays: a [`Profile`] (whose tools, capabilities and identity),
//! the MCP [`Revision`]s it offers, and encoding [`Quirk`]s real servers ship. [`MockConfig`]
//! gathers them, with the [`Faults`], into the one configuration a test, a file (`--config`,
//! TOML or JSON) or the binary's flags select.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::faults::Faults;

/// Which server the mock impersonates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// The harness's own small server: five tools, `tools` capability only, the three legacy
    /// revisions. What every scenario used before profiles existed.
    #[default]
    Default,
    /// The server of the seed bug report, as far as its text allows: serverInfo with
    /// description and icons, capabilities logging / completions / prompts / resources / tools
    /// (all `listChanged`), 24 tools across several providers, 2025-06-18 only, permissive
    /// CORS, and a token response with `Cache-Control: no-cache, private` and no `Pragma`.
    Seed,
    /// The fixtures the official MCP conformance suite's server scenarios call
    /// (`test_simple_text`, `test_simple_prompt`, `test://static-text`, …; see
    /// `mcp::fixtures`): tools, prompts, resources and completions, every revision.
    Conformance,
}

impl Profile {
    pub const ALL: [Profile; 3] = [Profile::Default, Profile::Seed, Profile::Conformance];

    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Default => "default",
            Profile::Seed => "seed",
            Profile::Conformance => "conformance",
        }
    }

    /// The revisions the profile offers unless told otherwise, newest first.
    pub fn default_revisions(self) -> Vec<Revision> {
        match self {
            Profile::Default => vec![
                Revision::V2025_11_25,
                Revision::V2025_06_18,
                Revision::V2025_03_26,
            ],
            // The report: `protocolVersion: "2025-06-18"`, "the MCP spec 2025-06-18".
            Profile::Seed => vec![Revision::V2025_06_18],
            Profile::Conformance => vec![
                Revision::V2026_07_28,
                Revision::V2025_11_25,
                Revision::V2025_06_18,
                Revision::V2025_03_26,
            ],
        }
    }

    /// Whether the MCP endpoint sends the report's CORS headers and answers preflights.
    pub fn cors(self) -> bool {
        self == Profile::Seed
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| format!("unknown profile {s:?} (known: default, seed, conformance)"))
    }
}

/// An MCP specification revision. Revision ids are dates, so their order is time order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Revision {
    #[serde(rename = "2025-03-26")]
    V2025_03_26,
    #[serde(rename = "2025-06-18")]
    V2025_06_18,
    #[serde(rename = "2025-11-25")]
    V2025_11_25,
    /// The stateless revision: no `initialize`, no session, no GET stream; `server/discover`;
    /// protocol version and client capabilities in every request's `_meta`.
    #[serde(rename = "2026-07-28")]
    V2026_07_28,
}

impl Revision {
    pub const ALL: [Revision; 4] = [
        Revision::V2025_03_26,
        Revision::V2025_06_18,
        Revision::V2025_11_25,
        Revision::V2026_07_28,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Revision::V2025_03_26 => "2025-03-26",
            Revision::V2025_06_18 => "2025-06-18",
            Revision::V2025_11_25 => "2025-11-25",
            Revision::V2026_07_28 => "2026-07-28",
        }
    }

    pub fn parse(s: &str) -> Option<Revision> {
        Revision::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// MCP 2026-07-28, Basic › Versioning › "Terminology": *modern* revisions carry version,
    /// identity and capabilities in every request's `_meta` (2026-07-28 and later); *legacy*
    /// ones open a session with `initialize` (2025-11-25 and earlier).
    pub fn is_modern(self) -> bool {
        self >= Revision::V2026_07_28
    }

    /// Whether a revision id names a modern revision (also for ids this mock does not know).
    pub fn is_modern_id(id: &str) -> bool {
        id >= Revision::V2026_07_28.as_str()
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Revision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Revision::parse(s).ok_or_else(|| {
            format!("unknown MCP revision {s:?} (known: 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28)")
        })
    }
}

/// Encodings real servers ship that a strict client may reject. Each can be put on any profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Quirk {
    /// All three `EmptyObjectAs…` quirks at once: every empty JSON object in tool input
    /// properties, capabilities and serverInfo goes out as `[]` (PHP's `json_encode([])`).
    EmptyObjectAsArray,
    /// A tool without arguments lists `"inputSchema": {"type": "object", "properties": []}`.
    EmptyPropertiesAsArray,
    /// Capability entries without sub-fields go out as `[]`, e.g. `"logging": []` (the default
    /// profile, which has none, then declares `"completions": []`).
    EmptyCapabilitiesAsArray,
    /// serverInfo carries an empty object member, sent as `[]` (`"_meta": []`).
    EmptyServerInfoAsArray,
    /// Tool names with dots, `<provider>.<tool>` (the report's `tools/call <name>.hello`);
    /// `hello` keeps its bare name so scenarios can call it.
    DottedToolNames,
    /// An `outputSchema` with a JSON Schema type that does not exist (`"type": "mixed"`, what a
    /// PHP reflector makes of `mixed`).
    UnknownOutputSchemaType,
    /// The `initialize` answer carries no `Mcp-Session-Id`: the server is sessionless (MCP
    /// 2025-06-18, Transports › Streamable HTTP › "Session Management": a server MAY assign a
    /// session id), so later requests without one are served.
    NoSessionId,
}

impl Quirk {
    pub const ALL: [Quirk; 7] = [
        Quirk::EmptyObjectAsArray,
        Quirk::EmptyPropertiesAsArray,
        Quirk::EmptyCapabilitiesAsArray,
        Quirk::EmptyServerInfoAsArray,
        Quirk::DottedToolNames,
        Quirk::UnknownOutputSchemaType,
        Quirk::NoSessionId,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Quirk::EmptyObjectAsArray => "empty-object-as-array",
            Quirk::EmptyPropertiesAsArray => "empty-properties-as-array",
            Quirk::EmptyCapabilitiesAsArray => "empty-capabilities-as-array",
            Quirk::EmptyServerInfoAsArray => "empty-server-info-as-array",
            Quirk::DottedToolNames => "dotted-tool-names",
            Quirk::UnknownOutputSchemaType => "unknown-output-schema-type",
            Quirk::NoSessionId => "no-session-id",
        }
    }
}

impl fmt::Display for Quirk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Quirk {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Quirk::ALL
            .into_iter()
            .find(|q| q.as_str() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Quirk::ALL.iter().map(|q| q.as_str()).collect();
                format!("unknown quirk {s:?} (known: {})", known.join(", "))
            })
    }
}

/// The quirks in force, with the umbrella quirk expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quirks(Vec<Quirk>);

impl Quirks {
    pub fn new(quirks: &[Quirk]) -> Quirks {
        let mut all = quirks.to_vec();
        all.sort();
        all.dedup();
        Quirks(all)
    }

    pub fn has(&self, quirk: Quirk) -> bool {
        self.0.contains(&quirk)
            || (self.0.contains(&Quirk::EmptyObjectAsArray)
                && matches!(
                    quirk,
                    Quirk::EmptyPropertiesAsArray
                        | Quirk::EmptyCapabilitiesAsArray
                        | Quirk::EmptyServerInfoAsArray
                ))
    }

    pub fn list(&self) -> &[Quirk] {
        &self.0
    }
}

/// The mock's configuration as one value: what a test's builder, a `--config` file and the
/// binary's flags all produce.
///
/// ```toml
/// profile = "seed"
/// revisions = ["2025-06-18", "2026-07-28"]
/// quirks = ["dotted-tool-names"]
///
/// [faults]
/// forget_sessions = false
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MockConfig {
    pub profile: Profile,
    /// Offered revisions, any order (served newest first); empty means the profile's own.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub revisions: Vec<Revision>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub quirks: Vec<Quirk>,
    pub faults: Faults,
    /// Where metadata lives, where the authorization server runs, how clients register.
    pub discovery: crate::discovery::Discovery,
    /// Another server's shape, as `harness capture` recorded it: its identity, capabilities
    /// and tools instead of the profile's.
    #[serde(skip_serializing_if = "ServerShape::is_empty")]
    pub shape: ServerShape,
}

/// What a captured server said about itself, each part as the JSON text it sent, so its
/// encoding survives unchanged (`[]` for an empty map stays `[]`; TOML alone could not keep
/// every JSON value, `null` for one). An absent part means the profile's own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerShape {
    /// `serverInfo` of the `initialize` result, a JSON object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_info: Option<String>,
    /// `capabilities` of the `initialize` result, a JSON object.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// `tools` of the `tools/list` result, a JSON array, listed first; calling one of them
    /// answers a text saying the tool was captured, not its real result. The mock's own tools
    /// follow (the scenarios' scripts call `hello`), unless a captured one has the name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<String>,
}

impl ServerShape {
    pub fn is_empty(&self) -> bool {
        *self == ServerShape::default()
    }

    fn parsed(text: Option<&str>) -> Option<serde_json::Value> {
        serde_json::from_str(text?).ok()
    }

    pub fn server_info(&self) -> Option<serde_json::Value> {
        Self::parsed(self.server_info.as_deref())
    }

    pub fn capabilities(&self) -> Option<serde_json::Value> {
        Self::parsed(self.capabilities.as_deref())
    }

    pub fn tools(&self) -> Option<Vec<serde_json::Value>> {
        Self::parsed(self.tools.as_deref())?.as_array().cloned()
    }

    /// Each part parses as the JSON it must be.
    pub fn validate(&self) -> Result<(), String> {
        let check = |name: &str, text: &Option<String>, want: &str| -> Result<(), String> {
            let Some(text) = text else { return Ok(()) };
            let value: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| format!("[shape] {name}: not JSON ({e})"))?;
            let ok = match want {
                "object" => value.is_object(),
                _ => value.is_array(),
            };
            if ok {
                Ok(())
            } else {
                Err(format!("[shape] {name}: must be a JSON {want}, is {value}"))
            }
        };
        check("server_info", &self.server_info, "object")?;
        check("capabilities", &self.capabilities, "object")?;
        check("tools", &self.tools, "array")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

impl MockConfig {
    /// Reads a TOML file, or JSON when the name ends in `.json`.
    pub fn from_file(path: &Path) -> Result<MockConfig, ConfigFileError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: shown.clone(),
            source,
        })?;
        let is_json = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let parsed = if is_json {
            MockConfig::from_json(&text)
        } else {
            MockConfig::from_toml(&text)
        };
        parsed.map_err(|message| ConfigFileError::Parse {
            path: shown,
            message,
        })
    }

    pub fn from_toml(text: &str) -> Result<MockConfig, String> {
        let config: MockConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        config.discovery.validate()?;
        config.faults.validate()?;
        config.shape.validate()?;
        Ok(config)
    }

    pub fn from_json(text: &str) -> Result<MockConfig, String> {
        let config: MockConfig = serde_json::from_str(text).map_err(|e| e.to_string())?;
        config.discovery.validate()?;
        config.faults.validate()?;
        config.shape.validate()?;
        Ok(config)
    }

    /// The offered revisions, newest first.
    pub fn offered_revisions(&self) -> Vec<Revision> {
        let mut revisions = if self.revisions.is_empty() {
            self.profile.default_revisions()
        } else {
            self.revisions.clone()
        };
        revisions.sort_by(|a, b| b.cmp(a));
        revisions.dedup();
        revisions
    }

    /// A short name for reports and snapshot files: `seed`, `default+no-session-id`,
    /// `default@2026-07-28`.
    pub fn label(&self) -> String {
        let mut label = self.profile.as_str().to_owned();
        if !self.revisions.is_empty() {
            let revisions: Vec<&str> = self
                .offered_revisions()
                .iter()
                .map(|r| r.as_str())
                .collect();
            label.push('@');
            label.push_str(&revisions.join(","));
        }
        for quirk in &self.quirks {
            label.push('+');
            label.push_str(quirk.as_str());
        }
        let discovery = self.discovery.label();
        if !discovery.is_empty() {
            label.push('[');
            label.push_str(&discovery);
            label.push(']');
        }
        label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_toml_file_and_a_json_file_say_the_same_thing() -> anyhow::Result<()> {
        let toml = MockConfig::from_toml(
            r#"
            profile = "seed"
            revisions = ["2025-06-18", "2026-07-28"]
            quirks = ["dotted-tool-names", "no-session-id"]
            [faults]
            forget_sessions = true
            "#,
        )
        .map_err(anyhow::Error::msg)?;
        let json = MockConfig::from_json(
            r#"{"profile":"seed","revisions":["2025-06-18","2026-07-28"],
                "quirks":["dotted-tool-names","no-session-id"],"faults":{"forget_sessions":true}}"#,
        )
        .map_err(anyhow::Error::msg)?;
        assert_eq!(toml, json);
        assert_eq!(
            toml.offered_revisions(),
            vec![Revision::V2026_07_28, Revision::V2025_06_18]
        );
        assert!(toml.faults.forget_sessions);
        Ok(())
    }

    #[test]
    fn the_discovery_section_reads_as_the_readme_shows_it() -> anyhow::Result<()> {
        let config = MockConfig::from_toml(
            r#"
            [discovery]
            resource_metadata_at = "challenge-only"
            challenge_names_metadata = true
            server_metadata_by = "oauth"
            issuer_path = "/tenant1"
            separate_authorization_server = false
            mcp_path = "/mcp"
            registration = "client-id-metadata"
            authorization_response_iss = "sent"
            "#,
        )
        .map_err(anyhow::Error::msg)?;
        assert_eq!(
            config.discovery.resource_metadata_at,
            crate::discovery::ResourceMetadataAt::ChallengeOnly
        );
        assert_eq!(config.discovery.mcp_path, "/mcp");
        assert_eq!(
            config.label(),
            "default[prm=challenge-only,issuer-path=/tenant1,mcp=/mcp,registration=client-id-metadata]"
        );
        // An impossible combination is refused with the reason.
        let error = MockConfig::from_toml(
            "[discovery]\nresource_metadata_at = \"challenge-only\"\nchallenge_names_metadata = false",
        )
        .err()
        .unwrap_or_default();
        assert!(error.contains("needs a challenge"), "{error}");
        Ok(())
    }

    #[test]
    fn the_iss_switches_read_the_same_from_toml_and_json() -> anyhow::Result<()> {
        use crate::discovery::AuthorizationResponseIss;
        for (value, expected, label) in [
            ("sent", AuthorizationResponseIss::Sent, "default"),
            (
                "omitted",
                AuthorizationResponseIss::Omitted,
                "default[iss=omitted]",
            ),
            (
                "wrong",
                AuthorizationResponseIss::Wrong,
                "default[iss=wrong]",
            ),
        ] {
            let toml = MockConfig::from_toml(&format!(
                "[discovery]\nauthorization_response_iss = \"{value}\""
            ))
            .map_err(anyhow::Error::msg)?;
            let json = MockConfig::from_json(&format!(
                r#"{{"discovery": {{"authorization_response_iss": "{value}"}}}}"#
            ))
            .map_err(anyhow::Error::msg)?;
            assert_eq!(toml.discovery.authorization_response_iss, expected);
            assert_eq!(toml, json);
            assert_eq!(toml.label(), label);
        }
        assert!(
            MockConfig::from_toml("[discovery]\nauthorization_response_iss = \"maybe\"").is_err()
        );
        Ok(())
    }

    #[test]
    fn every_fault_reads_the_same_from_toml_and_json() -> anyhow::Result<()> {
        let toml = MockConfig::from_toml(
            r#"
            [faults]
            forget_sessions = true
            tools_call_scope = "mcp:write"
            ignore_requested_scope = true
            refresh_error = "invalid_grant"
            access_token_ttl_secs = 5
            slow_responses_ms = 1500
            mcp_errors = { status = 500, count = 2 }
            drop_connections = { count = 1 }
            "#,
        )
        .map_err(anyhow::Error::msg)?;
        let json = MockConfig::from_json(
            r#"{"faults":{"forget_sessions":true,"tools_call_scope":"mcp:write",
                "ignore_requested_scope":true,"refresh_error":"invalid_grant",
                "access_token_ttl_secs":5,"slow_responses_ms":1500,
                "mcp_errors":{"status":500,"count":2},"drop_connections":{"count":1}}}"#,
        )
        .map_err(anyhow::Error::msg)?;
        assert_eq!(toml, json);
        let faults = &toml.faults;
        assert_eq!(faults.slow_responses_ms, Some(1500));
        assert_eq!(
            faults.mcp_errors,
            Some(crate::faults::McpErrors {
                status: 500,
                count: 2
            })
        );
        assert_eq!(
            faults.drop_connections,
            Some(crate::faults::DropConnections { count: 1 })
        );
        // The status defaults to 503; a status that is not 5xx is refused.
        let default_status = MockConfig::from_toml("[faults]\nmcp_errors = { count = 1 }")
            .map_err(anyhow::Error::msg)?;
        assert_eq!(
            default_status.faults.mcp_errors.map(|e| e.status),
            Some(503)
        );
        assert!(
            MockConfig::from_toml("[faults]\nmcp_errors = { status = 200, count = 1 }").is_err()
        );
        assert!(
            MockConfig::from_json(r#"{"faults":{"mcp_errors":{"status":404,"count":1}}}"#).is_err()
        );
        Ok(())
    }

    #[test]
    fn unknown_keys_and_values_are_refused() {
        assert!(MockConfig::from_toml("profil = \"seed\"").is_err());
        assert!(MockConfig::from_toml("profile = \"php\"").is_err());
        assert!(MockConfig::from_toml("revisions = [\"2024-11-05\"]").is_err());
        assert!(MockConfig::from_toml("[faults]\nno_such_fault = true").is_err());
    }

    #[test]
    fn an_empty_file_is_the_default_profile() -> anyhow::Result<()> {
        let config = MockConfig::from_toml("").map_err(anyhow::Error::msg)?;
        assert_eq!(config, MockConfig::default());
        assert_eq!(
            config.offered_revisions(),
            Profile::Default.default_revisions()
        );
        Ok(())
    }

    #[test]
    fn the_umbrella_quirk_expands() {
        let quirks = Quirks::new(&[Quirk::EmptyObjectAsArray]);
        assert!(quirks.has(Quirk::EmptyCapabilitiesAsArray));
        assert!(!quirks.has(Quirk::DottedToolNames));
    }

    #[test]
    fn names_round_trip() {
        for quirk in Quirk::ALL {
            assert_eq!(quirk.as_str().parse::<Quirk>(), Ok(quirk));
        }
        for revision in Revision::ALL {
            assert_eq!(revision.as_str().parse::<Revision>(), Ok(revision));
        }
        assert!(Revision::V2026_07_28.is_modern() && !Revision::V2025_11_25.is_modern());
    }
}
