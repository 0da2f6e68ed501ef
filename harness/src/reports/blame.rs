//! Whose fault a failing check likely is, from the reference clients (model-less clients that
//! only connect, authenticate and list: MCP Inspector's CLI, mcp-remote). When a check fails for
//! an agent but passes for every reference client that judged it on the same server, the agent is
//! the likely culprit; when every one of them fails it too, the server is; when they differ, no
//! side is named.
//!
//! "The same server" is the mock with the same discovery variant (`scenario@variant`). The
//! check is looked for first in the reference clients' runs of the same scenario, then in any of
//! their scenarios on that variant: a reference client has no model, so it only runs the
//! scenarios without an agent, whose checks (`token-exchanged`, `tools-listed-after-token`,
//! `bearer-on-every-request`, …) are the ones agents fail on the way in.

use std::collections::BTreeMap;

use crate::matrix::{Cell, CheckVerdict};

/// What the reference clients said of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribution {
    /// Every reference client that judged the check passed it.
    LikelyClient { passed: Vec<String> },
    /// Every reference client that judged it failed it too.
    LikelyServer { failed: Vec<String> },
    /// Some passed, some failed: the reference clients themselves differ, so no side is named.
    Undecided {
        passed: Vec<String>,
        failed: Vec<String>,
    },
}

impl Attribution {
    /// The sentence the reports print after the failing check's name.
    pub fn sentence(&self, check: &str) -> String {
        match self {
            Attribution::LikelyClient { passed } => format!(
                "{check}: likely the client's fault: it passes for the reference client{} {} on the same server",
                if passed.len() == 1 { "" } else { "s" },
                passed.join(" and ")
            ),
            Attribution::LikelyServer { failed } => format!(
                "{check}: likely the server's fault: it fails for the reference client{} {} too",
                if failed.len() == 1 { "" } else { "s" },
                failed.join(" and ")
            ),
            Attribution::Undecided { passed, failed } => format!(
                "{check}: no call: the reference clients differ ({} pass{}, {} fail{})",
                passed.join(" and "),
                if passed.len() == 1 { "es" } else { "" },
                failed.join(" and "),
                if failed.len() == 1 { "s" } else { "" },
            ),
        }
    }
}

fn variant(scenario: &str) -> Option<&str> {
    scenario.split_once('@').map(|(_, v)| v)
}

fn base(scenario: &str) -> &str {
    scenario.split_once('@').map_or(scenario, |(s, _)| s)
}

/// The verdict of `check` over a cell's runs: a failure in any run is a failure; `None` when no
/// run judged it (absent or not applicable).
fn judged(cell: &Cell, check: &str) -> Option<bool> {
    let mut seen = None;
    for run in &cell.runs {
        for c in run.checks.iter().filter(|c| c.name == check) {
            match c.verdict {
                CheckVerdict::Fail => return Some(false),
                CheckVerdict::Pass => seen = Some(true),
                _ => {}
            }
        }
    }
    seen
}

/// The checks that judge the harness, not a client or a server: a `driver` failure on every
/// client says the harness could not run the scenario, never that the server is at fault.
const HARNESS_CHECKS: [&str; 4] = [
    "driver",
    "mock-access-log",
    "discovery-variant",
    "login-state",
];

/// For each failing check of `cell` (an agent's), what the reference clients in `cells` said
/// of it; checks no reference client judged, and the harness's own, are left out. Empty for a reference client's own
/// cell.
pub fn attribute(
    cells: &[Cell],
    cell: &Cell,
    is_reference: impl Fn(&str) -> bool,
) -> Vec<(String, Attribution)> {
    if is_reference(&cell.client) {
        return Vec::new();
    }
    let failing: Vec<&str> = cell
        .runs
        .iter()
        .flat_map(|r| r.checks.iter())
        .filter(|c| c.verdict == CheckVerdict::Fail)
        .map(|c| c.name.as_str())
        .filter(|name| !HARNESS_CHECKS.contains(name))
        .fold(Vec::new(), |mut acc, name| {
            if !acc.contains(&name) {
                acc.push(name);
            }
            acc
        });
    let same_server: Vec<&Cell> = cells
        .iter()
        .filter(|c| is_reference(&c.client) && variant(&c.scenario) == variant(&cell.scenario))
        .collect();
    let mut out = Vec::new();
    for check in failing {
        // Per reference client (and version): its verdict on the same scenario if it judged the
        // check there, else over every scenario of the same server that judged it (a failure in
        // any of them counts: the reference client does not always get it right).
        let mut by_client: BTreeMap<String, bool> = BTreeMap::new();
        for prefer_same_scenario in [true, false] {
            let mut found: BTreeMap<String, bool> = BTreeMap::new();
            for c in &same_server {
                let key = format!("{}@{}", c.client, c.version);
                if by_client.contains_key(&key)
                    || (prefer_same_scenario && base(&c.scenario) != base(&cell.scenario))
                {
                    continue;
                }
                if let Some(passed) = judged(c, check) {
                    let all = found.entry(key).or_insert(true);
                    *all &= passed;
                }
            }
            by_client.extend(found);
        }
        if by_client.is_empty() {
            continue;
        }
        let (passed, failed): (Vec<_>, Vec<_>) = by_client.into_iter().partition(|(_, ok)| *ok);
        let passed: Vec<String> = passed.into_iter().map(|(k, _)| k).collect();
        let failed: Vec<String> = failed.into_iter().map(|(k, _)| k).collect();
        let attribution = match (passed.is_empty(), failed.is_empty()) {
            (_, true) => Attribution::LikelyClient { passed },
            (true, false) => Attribution::LikelyServer { failed },
            (false, false) => Attribution::Undecided { passed, failed },
        };
        out.push((check.to_owned(), attribution));
    }
    out
}

/// The sentences for a cell, one per failing check the reference clients judged.
pub fn sentences(cells: &[Cell], cell: &Cell, is_reference: impl Fn(&str) -> bool) -> Vec<String> {
    attribute(cells, cell, is_reference)
        .into_iter()
        .map(|(check, a)| a.sentence(&check))
        .collect()
}

/// Whether `client` is a reference client of the catalog.
pub fn is_reference_client(client: &str) -> bool {
    crate::clients::catalog::by_name(client).is_ok_and(|k| k.reference)
}

/// [`sentences`] with the catalog's reference clients.
pub fn for_cell(cells: &[Cell], cell: &Cell) -> Vec<String> {
    sentences(cells, cell, is_reference_client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::{CellVerdict, CheckRecord, RunRecord};

    fn cell(client: &str, scenario: &str, checks: &[(&str, CheckVerdict)]) -> Cell {
        let run = RunRecord {
            verdict: if checks.iter().any(|(_, v)| *v == CheckVerdict::Fail) {
                CellVerdict::Fail
            } else {
                CellVerdict::Pass
            },
            duration_secs: 1.0,
            checks: checks
                .iter()
                .map(|(name, verdict)| CheckRecord {
                    name: (*name).to_owned(),
                    verdict: *verdict,
                    summary: String::new(),
                    evidence: Vec::new(),
                })
                .collect(),
            access_log: Vec::new(),
            model_views: Vec::new(),
            final_screen: String::new(),
            commands: Vec::new(),
            bundle: None,
        };
        Cell {
            client: client.to_owned(),
            version: "1.0.0".to_owned(),
            scenario: scenario.to_owned(),
            login_path: "login-command".to_owned(),
            verdict: run.verdict,
            summary: String::new(),
            runs: vec![run],
        }
    }

    fn is_reference(client: &str) -> bool {
        client.starts_with("ref-")
    }

    use CheckVerdict::{Fail, NotApplicable, Pass};

    #[test]
    fn a_check_both_reference_clients_pass_is_likely_the_agents_fault() {
        let agent = cell("agent", "login_then_list", &[("token-exchanged", Fail)]);
        let cells = vec![
            agent.clone(),
            cell("ref-a", "login_at_connect", &[("token-exchanged", Pass)]),
            cell("ref-b", "login_at_connect", &[("token-exchanged", Pass)]),
        ];
        let said = sentences(&cells, &agent, is_reference);
        assert_eq!(
            said,
            ["token-exchanged: likely the client's fault: it passes for the reference clients ref-a@1.0.0 and ref-b@1.0.0 on the same server"]
        );
    }

    #[test]
    fn a_driver_failure_everyone_shares_blames_no_side() {
        let agent = cell("agent", "login_then_list", &[("driver", Fail)]);
        let cells = vec![
            agent.clone(),
            cell("ref-a", "login_then_list", &[("driver", Fail)]),
            cell("ref-b", "login_then_list", &[("driver", Fail)]),
        ];
        assert!(sentences(&cells, &agent, is_reference).is_empty());
    }

    #[test]
    fn a_check_the_reference_clients_fail_too_is_likely_the_servers_fault() {
        let check = "tools-listed-after-token";
        let agent = cell("agent", "login_at_connect", &[(check, Fail)]);
        let cells = vec![
            agent.clone(),
            cell("ref-a", "login_at_connect", &[(check, Fail)]),
            cell("ref-b", "login_at_connect", &[(check, Fail)]),
        ];
        let said = attribute(&cells, &agent, is_reference);
        let failed = vec!["ref-a@1.0.0".to_owned(), "ref-b@1.0.0".to_owned()];
        assert_eq!(
            said,
            [(check.to_owned(), Attribution::LikelyServer { failed })]
        );
    }

    #[test]
    fn reference_clients_that_disagree_name_no_side() {
        let check = "bearer-on-every-request";
        let agent = cell("agent", "login_at_connect", &[(check, Fail)]);
        let cells = vec![
            agent.clone(),
            cell("ref-a", "login_at_connect", &[(check, Fail)]),
            cell("ref-b", "login_at_connect", &[(check, Pass)]),
        ];
        let said = sentences(&cells, &agent, is_reference);
        assert_eq!(
            said,
            ["bearer-on-every-request: no call: the reference clients differ (ref-b@1.0.0 passes, ref-a@1.0.0 fails)"]
        );
    }

    #[test]
    fn the_same_scenario_is_preferred_and_another_server_variant_is_not_the_same_server() {
        let agent = cell(
            "agent",
            "login_at_connect@mcp-path",
            &[("token-exchanged", Fail)],
        );
        let cells = vec![
            agent.clone(),
            // Another variant: not the same server.
            cell("ref-a", "login_at_connect", &[("token-exchanged", Fail)]),
            // Same variant, other scenario fails; the same scenario passes and wins.
            cell(
                "ref-b",
                "print_after_auth@mcp-path",
                &[("token-exchanged", Fail)],
            ),
            cell(
                "ref-b",
                "login_at_connect@mcp-path",
                &[("token-exchanged", Pass)],
            ),
        ];
        let said = attribute(&cells, &agent, is_reference);
        assert_eq!(
            said,
            [(
                "token-exchanged".to_owned(),
                Attribution::LikelyClient {
                    passed: vec!["ref-b@1.0.0".to_owned()]
                }
            )]
        );
    }

    #[test]
    fn on_other_scenarios_a_failure_in_any_of_them_counts() {
        let check = "bearer-on-every-request";
        let agent = cell("agent", "login_then_list", &[(check, Fail)]);
        let cells = vec![
            agent.clone(),
            cell("ref-a", "login_at_connect", &[(check, Pass)]),
            cell("ref-a", "stored_token_rerun", &[(check, Fail)]),
            cell("ref-b", "login_at_connect", &[(check, Pass)]),
        ];
        let said = attribute(&cells, &agent, is_reference);
        let expected = Attribution::Undecided {
            passed: vec!["ref-b@1.0.0".to_owned()],
            failed: vec!["ref-a@1.0.0".to_owned()],
        };
        assert_eq!(said, [(check.to_owned(), expected)]);
    }

    #[test]
    fn nothing_is_said_without_a_reference_verdict_or_for_a_reference_clients_own_cell() {
        let agent = cell("agent", "slash_mcp", &[("client-reported-success", Fail)]);
        let reference = cell("ref-a", "login_at_connect", &[("token-exchanged", Fail)]);
        let na = cell(
            "ref-b",
            "slash_mcp",
            &[("client-reported-success", NotApplicable)],
        );
        let cells = vec![agent.clone(), reference.clone(), na];
        assert!(sentences(&cells, &agent, is_reference).is_empty());
        assert!(sentences(&cells, &reference, is_reference).is_empty());
    }
}
