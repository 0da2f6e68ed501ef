//! The suite's `checks.json` (one array of check results per scenario run) as harness checks.
//!
//! Each suite check becomes `conformance:<scenario>/<id>`, its description the summary and its
//! `errorMessage` (or, without one, its `details`) the evidence, so the matrix, the expectations
//! file and bisect see them like any other check. The suite's statuses map as the suite itself
//! judges a scenario run (`client` exits 1 on a FAILURE or a WARNING):
//!
//! | suite status | verdict |
//! |---|---|
//! | `SUCCESS` | pass |
//! | `INFO` | left out: the suite's notes of the traffic it saw ("Received GET …"), which can never fail; the run's own access log and timeline show the same traffic |
//! | `FAILURE` | FAIL |
//! | `WARNING` | FAIL, the summary says it was a SHOULD-level warning |
//! | `SKIPPED` | n/a, with the suite's own reason as the evidence |
//! | anything else | FAIL: a status this version of the harness does not know |
//!
//! The suite records a check each time its rule is exercised (a client that fetches metadata
//! three times gets `prm-pathbased-requested` three times): one harness check per id, which fails
//! when any of them failed, with each distinct message once.
//!
//! A missing or unreadable file, or one with no checks at all, is one failing `driver` check:
//! the suite never judged the client, which is not a pass.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use crate::checks::{Check, Verdict};

/// The prefix of every check and scenario that comes from the suite.
pub const PREFIX: &str = "conformance:";

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuiteCheck {
    id: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    status: String,
    #[serde(default)]
    error_message: Option<String>,
    #[serde(default)]
    details: Option<Value>,
}

/// The harness check name of suite check `id` in `scenario` (`auth/metadata-default`).
pub fn check_name(scenario: &str, id: &str) -> String {
    format!("{PREFIX}{scenario}/{id}")
}

/// The checks in the text of a `checks.json` written for `scenario`.
pub fn parse(scenario: &str, text: &str) -> Vec<Check> {
    let parsed: Vec<SuiteCheck> = match serde_json::from_str(text) {
        Ok(checks) => checks,
        Err(e) => {
            return vec![Check::fail(
                "driver",
                "the conformance suite's checks.json is not the array of checks it should be",
                vec![e.to_string(), first_chars(text, 400)],
            )]
        }
    };
    if parsed.is_empty() {
        return vec![Check::fail(
            "driver",
            "the conformance suite recorded no checks for the scenario: it never judged the client",
            vec![format!("checks.json of {scenario} is an empty array")],
        )];
    }
    let mut out: Vec<Check> = Vec::new();
    for c in parsed.into_iter().filter(|c| c.status != "INFO") {
        let about = c
            .description
            .clone()
            .or(c.name.clone())
            .unwrap_or_else(|| c.id.clone());
        let mut evidence = Vec::new();
        if let Some(message) = &c.error_message {
            evidence.push(message.clone());
        } else if let Some(details) = c.details.as_ref().filter(|d| !d.is_null()) {
            evidence.push(first_chars(&details.to_string(), 600));
        }
        let (verdict, summary) = match c.status.as_str() {
            "SUCCESS" => (Verdict::Pass, about),
            "FAILURE" => (Verdict::Fail, about),
            "WARNING" => (Verdict::Fail, format!("(suite WARNING, a SHOULD) {about}")),
            "SKIPPED" => (
                Verdict::NotApplicable,
                format!("(the suite skipped it) {about}"),
            ),
            other => (
                Verdict::Fail,
                format!("(unknown suite status {other}) {about}"),
            ),
        };
        let name = check_name(scenario, &c.id);
        match out.iter_mut().find(|seen| seen.name == name) {
            Some(seen) => {
                // The worst verdict wins: a failure anywhere, else a pass, else skipped.
                let rank = |v: Verdict| match v {
                    Verdict::Fail => 2,
                    Verdict::Pass => 1,
                    Verdict::NotApplicable => 0,
                };
                if rank(verdict) > rank(seen.verdict) {
                    seen.verdict = verdict;
                    seen.summary = summary;
                }
                for line in evidence {
                    if !seen.evidence.contains(&line) {
                        seen.evidence.push(line);
                    }
                }
            }
            None => out.push(Check {
                name,
                verdict,
                summary,
                evidence,
            }),
        }
    }
    if out.is_empty() {
        return vec![Check::fail(
            "driver",
            "the conformance suite recorded only notes of traffic, no check of the client",
            vec![format!("checks.json of {scenario} has INFO entries only")],
        )];
    }
    out
}

/// The checks of the one `checks.json` under `results` (the suite writes it in a folder named
/// after the scenario and a timestamp); a driver failure when there is none.
pub fn read(scenario: &str, results: &Path) -> Vec<Check> {
    match find(results) {
        Some(path) => match std::fs::read_to_string(&path) {
            Ok(text) => parse(scenario, &text),
            Err(e) => vec![Check::fail(
                "driver",
                "cannot read the conformance suite's checks.json",
                vec![format!("{}: {e}", path.display())],
            )],
        },
        None => vec![Check::fail(
            "driver",
            "the conformance suite wrote no checks.json: it did not finish the scenario",
            vec![format!("nothing under {}", results.display())],
        )],
    }
}

/// The newest `checks.json` anywhere under `dir`.
pub fn find(dir: &Path) -> Option<std::path::PathBuf> {
    let mut found: Vec<(std::time::SystemTime, std::path::PathBuf)> = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if entry.file_name() == "checks.json" {
                let at = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .unwrap_or(std::time::UNIX_EPOCH);
                found.push((at, path));
            }
        }
    }
    found.into_iter().max_by_key(|(at, _)| *at).map(|(_, p)| p)
}

fn first_chars(text: &str, n: usize) -> String {
    text.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCENARIO: &str = "auth/scope-from-www-authenticate";

    #[test]
    fn a_passing_check_becomes_a_pass_named_after_the_scenario_and_id() {
        let checks = parse(
            SCENARIO,
            r#"[{"id":"prm-discovery","name":"PRM","description":"Client fetched PRM","status":"SUCCESS","timestamp":"t"}]"#,
        );
        assert_eq!(checks.len(), 1);
        assert_eq!(
            checks[0].name,
            "conformance:auth/scope-from-www-authenticate/prm-discovery"
        );
        assert_eq!(checks[0].verdict, Verdict::Pass);
        assert_eq!(checks[0].summary, "Client fetched PRM");
    }

    #[test]
    fn a_failure_keeps_the_suites_message_as_evidence() {
        let checks = parse(
            SCENARIO,
            r#"[{"id":"scope-used","description":"Scope from WWW-Authenticate","status":"FAILURE","errorMessage":"requested scope 'a b', expected 'mcp:basic'"}]"#,
        );
        assert_eq!(checks[0].verdict, Verdict::Fail);
        assert_eq!(
            checks[0].evidence,
            vec!["requested scope 'a b', expected 'mcp:basic'".to_owned()]
        );
    }

    #[test]
    fn a_warning_fails_as_the_suite_counts_it_and_says_it_was_a_should() {
        let checks = parse(
            SCENARIO,
            r#"[{"id":"w","description":"d","status":"WARNING","details":{"why":"no PKCE S256 advertised"}}]"#,
        );
        assert_eq!(checks[0].verdict, Verdict::Fail);
        assert!(checks[0].summary.contains("WARNING"));
        assert!(checks[0].evidence[0].contains("no PKCE S256 advertised"));
    }

    #[test]
    fn skipped_is_not_applicable_with_the_suites_reason_and_unknown_statuses_fail() {
        let checks = parse(
            SCENARIO,
            r#"[{"id":"s","description":"d","status":"SKIPPED","errorMessage":"the client never called skills/list"},
               {"id":"u","description":"d","status":"MAYBE"},
               {"id":"i","description":"d","status":"INFO"}]"#,
        );
        assert_eq!(checks.len(), 2, "the INFO note is left out");
        assert_eq!(checks[0].verdict, Verdict::NotApplicable);
        assert_eq!(
            checks[0].evidence,
            vec!["the client never called skills/list"]
        );
        assert_eq!(checks[1].verdict, Verdict::Fail);
    }

    #[test]
    fn a_check_recorded_several_times_is_one_check_that_fails_if_any_did() {
        let checks = parse(
            SCENARIO,
            r#"[{"id":"prm","description":"d","status":"SUCCESS"},
               {"id":"prm","description":"d","status":"FAILURE","errorMessage":"wrong path"},
               {"id":"prm","description":"d","status":"FAILURE","errorMessage":"wrong path"},
               {"id":"ok","description":"d","status":"SUCCESS"},
               {"id":"ok","description":"d","status":"SUCCESS"}]"#,
        );
        assert_eq!(checks.len(), 2);
        assert_eq!(checks[0].verdict, Verdict::Fail);
        assert_eq!(checks[0].evidence, vec!["wrong path"]);
        assert_eq!(checks[1].verdict, Verdict::Pass);
    }

    #[test]
    fn no_file_an_empty_array_or_garbage_is_a_driver_failure() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let missing = read(SCENARIO, dir.path());
        assert_eq!(missing.len(), 1);
        assert_eq!(missing[0].name, "driver");
        assert_eq!(missing[0].verdict, Verdict::Fail);
        for text in [
            "[]",
            "{\"not\":\"an array\"}",
            "garbage",
            r#"[{"id":"i","status":"INFO"}]"#,
        ] {
            let checks = parse(SCENARIO, text);
            assert_eq!(checks.len(), 1, "{text}");
            assert_eq!(checks[0].name, "driver", "{text}");
            assert_eq!(checks[0].verdict, Verdict::Fail, "{text}");
        }
        Ok(())
    }

    #[test]
    fn the_file_is_found_in_the_suites_per_run_folder() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let nested = dir
            .path()
            .join("auth/scope-from-www-authenticate-2026-12-02T07-00-00-000Z");
        std::fs::create_dir_all(&nested)?;
        std::fs::write(
            nested.join("checks.json"),
            r#"[{"id":"a","description":"d","status":"SUCCESS"}]"#,
        )?;
        let checks = read(SCENARIO, dir.path());
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].verdict, Verdict::Pass);
        Ok(())
    }
}
