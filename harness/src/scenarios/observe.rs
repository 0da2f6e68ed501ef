//! What a finished scenario run shows about its version's session-only features (`server/discover`
//! sent first, the `/mcp` menu's wording, a completed OAuth round trip), recorded in the version's
//! feature cache ([`crate::store::features`]).

use crate::checks;
use crate::scenarios::run::ScenarioReport;
use crate::scenarios::Scenario;
use crate::store::features::{Feature, FeatureCache, Observation};
use crate::store::usage::now_secs;
use crate::store::versions::InstalledVersion;

/// What a finished scenario shows about session-only features.
pub fn observe_report(report: &ScenarioReport, now: u64) -> Vec<(Feature, Observation)> {
    let mut found = Vec::new();
    let source = |what: &str| format!("scenario {}, {what}", report.scenario.name());
    let log = &report.access_log;

    if let Some(token) = checks::token_exchange(log) {
        found.push((
            Feature::OauthRoundTrip,
            Observation {
                present: true,
                value: None,
                source: source("access log"),
                evidence: checks::evidence_line(token),
                observed_at: now,
            },
        ));
    }

    let mcp_calls: Vec<_> = log
        .iter()
        .filter(|r| r.phase == mock_server::Phase::Mcp && r.rpc_method.is_some())
        .collect();
    if let Some(first) = mcp_calls.first() {
        let discover = mcp_calls
            .iter()
            .find(|r| r.rpc_method.as_deref() == Some("server/discover"));
        let first_method = first.rpc_method.as_deref().unwrap_or("");
        let verdict = if first_method == "server/discover" {
            Some(true)
        } else if first_method == "initialize" && discover.is_none() {
            Some(false)
        } else {
            None
        };
        if let Some(present) = verdict {
            found.push((
                Feature::ServerDiscoverFirst,
                Observation {
                    present,
                    value: None,
                    source: source("access log"),
                    evidence: if present {
                        format!("first MCP request: {}", checks::evidence_line(first))
                    } else {
                        format!(
                            "first MCP request: {}; no server/discover in {} MCP requests",
                            checks::evidence_line(first),
                            mcp_calls.len()
                        )
                    },
                    observed_at: now,
                },
            ));
        }
    }

    if report.scenario == Scenario::SLASH_MCP {
        if let Some(auth) = report.auth.as_ref().filter(|a| a.succeeded) {
            let lower = auth.client_message.to_lowercase();
            let wording = if lower.contains("signed in and connected") {
                Some("signed-in-and-connected")
            } else if lower.contains("authentication successful") {
                Some("authentication-successful")
            } else {
                None
            };
            if let Some(wording) = wording {
                found.push((
                    Feature::McpMenuWording,
                    Observation {
                        present: true,
                        value: Some(wording.to_owned()),
                        source: source("screen"),
                        evidence: auth.client_message.clone(),
                        observed_at: now,
                    },
                ));
            }
        }
    }
    found
}

/// Records what a scenario run showed about the version's session-only features. Best effort:
/// a failure to write the cache is reported on stderr and changes no verdict.
pub fn record_report(install: &InstalledVersion, report: &ScenarioReport) {
    let observations = observe_report(report, now_secs());
    if let Err(e) = FeatureCache::for_install(install).record(&observations) {
        crate::say!("harness: could not record features observed by the run: {e}");
    }
}
