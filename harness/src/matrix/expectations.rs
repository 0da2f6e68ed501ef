//! Known failures of real client versions: per scenario × check × login path, the versions known
//! to fail, each with a one-line note and the evidence (a committed snapshot or log excerpt).
//!
//! A run matches the file when every failing check is listed for its version and every listed
//! check failed. Anything else is a change to review like a snapshot: a **new failure**, or a
//! **known failure that now passes** (or was not run), and the comparison says which.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::checks::{Check, Verdict};
use crate::clients::LoginPath;
use crate::scenarios::login_state::LoginState;
use crate::scenarios::variants::ScenarioSpec;
use crate::scenarios::{Scenario, ScenarioReport};
use crate::store::versions::check_version_syntax;

#[derive(Debug, thiserror::Error)]
pub enum ExpectationError {
    #[error("cannot read the expectations file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin} is not a valid expectations file: {message}")]
    Syntax { origin: String, message: String },
    #[error("{origin}, entry {index} ({scenario} / {check}): {problem}")]
    Entry {
        origin: String,
        index: usize,
        scenario: String,
        check: String,
        problem: String,
    },
}

/// One known failure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownFailure {
    /// The client ([`crate::clients::catalog`] names them); Claude Code when left out.
    #[serde(default = "default_client")]
    pub client: String,
    pub scenario: String,
    pub check: String,
    pub login_path: LoginPath,
    /// The discovery variant the server ran (`harness run --discovery`), when not the default.
    #[serde(default)]
    pub discovery: Option<String>,
    /// The login path's starting state (`cold` or `primed`); left out, the scenario's default.
    #[serde(default)]
    pub state: Option<LoginState>,
    pub versions: Vec<String>,
    /// One line: what goes wrong.
    pub note: String,
    /// Paths from the repository root to committed snapshots or log excerpts that show it.
    pub evidence: Vec<String>,
}

fn default_client() -> String {
    crate::clients::catalog::default_kind().name.to_owned()
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    #[serde(default, rename = "failure")]
    pub failures: Vec<KnownFailure>,
}

impl Expectations {
    /// Parses and validates: known scenario, exact versions, a one-line note, some evidence.
    pub fn parse(text: &str, origin: &str) -> Result<Expectations, ExpectationError> {
        let parsed: Expectations = toml::from_str(text).map_err(|e| ExpectationError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string(),
        })?;
        for (i, f) in parsed.failures.iter().enumerate() {
            let problem = |problem: String| ExpectationError::Entry {
                origin: origin.to_owned(),
                index: i + 1,
                scenario: f.scenario.clone(),
                check: f.check.clone(),
                problem,
            };
            crate::clients::catalog::by_name(&f.client).map_err(problem)?;
            let Some(scenario) = Scenario::parse(&f.scenario) else {
                return Err(problem(format!("no scenario named `{}`", f.scenario)));
            };
            if scenario.login_path() != f.login_path {
                return Err(problem(format!(
                    "scenario {} uses login path {}, not {}",
                    scenario.name(),
                    scenario.login_path().as_str(),
                    f.login_path.as_str()
                )));
            }
            if f.state.is_some() && scenario.default_login_state().is_none() {
                return Err(problem(format!(
                    "scenario {} has no login state; drop `state`",
                    scenario.name()
                )));
            }
            if f.check.trim().is_empty() {
                return Err(problem("the check is empty".to_owned()));
            }
            if f.versions.is_empty() {
                return Err(problem("it lists no versions".to_owned()));
            }
            for v in &f.versions {
                check_version_syntax(v).map_err(|e| problem(e.to_string()))?;
            }
            if f.note.trim().is_empty() || f.note.contains('\n') {
                return Err(problem("the note must be one non-empty line".to_owned()));
            }
            if f.evidence.iter().all(|e| e.trim().is_empty()) {
                return Err(problem(
                    "it has no evidence: name a committed snapshot or log excerpt".to_owned(),
                ));
            }
        }
        Ok(parsed)
    }

    pub fn load(path: &Path) -> Result<Expectations, ExpectationError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpectationError::Read {
            path: path.to_owned(),
            source,
        })?;
        Expectations::parse(&text, &path.display().to_string())
    }

    /// Every evidence path exists under `root` (the repository).
    pub fn check_evidence_exists(&self, root: &Path) -> Result<(), ExpectationError> {
        for (i, f) in self.failures.iter().enumerate() {
            for e in &f.evidence {
                if !root.join(e).is_file() {
                    return Err(ExpectationError::Entry {
                        origin: root.display().to_string(),
                        index: i + 1,
                        scenario: f.scenario.clone(),
                        check: f.check.clone(),
                        problem: format!("its evidence `{e}` is not a file in the repository"),
                    });
                }
            }
        }
        Ok(())
    }

    /// The entries that expect `check` to fail for this scenario, login path and version. A run
    /// against a discovery variant names its scenario `<scenario>@<variant>`, one from a login
    /// state not its scenario's default `<scenario>~<state>`; an entry's `state` matches only
    /// runs from that state (`login_then_list` with `state = "cold"` is `login_cold`).
    pub fn expected(
        &self,
        client: &str,
        scenario: &str,
        login_path: LoginPath,
        version: &str,
    ) -> Vec<&KnownFailure> {
        let (scenario, discovery) = match scenario.split_once('@') {
            Some((scenario, variant)) => (scenario, Some(variant)),
            None => (scenario, None),
        };
        let (scenario, state) = match scenario.split_once('~') {
            Some((scenario, state)) => (scenario, LoginState::parse(state)),
            None => (scenario, None),
        };
        // Both sides in their canonical form, so the twins' names and a default state match.
        let key = |scenario: &str, state: Option<LoginState>| {
            Scenario::parse(scenario).map(|s| ScenarioSpec::new(s, state, None).name())
        };
        let wanted = key(scenario, state);
        self.failures
            .iter()
            .filter(|f| {
                f.client == client
                    && key(&f.scenario, f.state) == wanted
                    && wanted.is_some()
                    && f.discovery.as_deref() == discovery
                    && f.login_path == login_path
                    && f.versions.iter().any(|v| v == version)
            })
            .collect()
    }

    /// Compares a run's checks with the file.
    pub fn compare_checks(
        &self,
        client: &str,
        scenario: &str,
        login_path: LoginPath,
        version: &str,
        checks: &[Check],
    ) -> Comparison {
        let expected = self.expected(client, scenario, login_path, version);
        let mut comparison = Comparison {
            scenario: scenario.to_owned(),
            login_path: Some(login_path),
            version: version.to_owned(),
            ..Comparison::default()
        };
        for c in checks.iter().filter(|c| c.verdict == Verdict::Fail) {
            match expected.iter().find(|f| f.check == c.name) {
                Some(f) => comparison.known.push((c.name.clone(), f.note.clone())),
                None => comparison.new_failures.push(c.clone()),
            }
        }
        for f in expected {
            let verdict = checks.iter().find(|c| c.name == f.check).map(|c| c.verdict);
            if verdict != Some(Verdict::Fail) {
                comparison.no_longer_failing.push((
                    f.check.clone(),
                    f.note.clone(),
                    match verdict {
                        Some(v) => v.as_str().to_owned(),
                        None => "not run".to_owned(),
                    },
                ));
            }
        }
        comparison
    }

    pub fn compare(&self, report: &ScenarioReport) -> Comparison {
        self.compare_checks(
            &report.client,
            &report.expectation_key(),
            report.login_path,
            &report.version,
            &report.checks,
        )
    }
}

/// How a run compares with the expectations.
#[derive(Debug, Clone, Default)]
pub struct Comparison {
    pub scenario: String,
    pub login_path: Option<LoginPath>,
    pub version: String,
    /// Failing checks the file lists: (check, note).
    pub known: Vec<(String, String)>,
    /// Failing checks the file does not list.
    pub new_failures: Vec<Check>,
    /// Listed checks that did not fail: (check, note, what they were instead).
    pub no_longer_failing: Vec<(String, String, String)>,
}

impl Comparison {
    /// Reality matches the file.
    pub fn matches(&self) -> bool {
        self.new_failures.is_empty() && self.no_longer_failing.is_empty()
    }

    /// One line per known failure, for the log of a green run.
    pub fn summary(&self) -> String {
        if self.known.is_empty() {
            return format!(
                "{} on {}: no known failures, none seen",
                self.scenario, self.version
            );
        }
        let lines: Vec<String> = self
            .known
            .iter()
            .map(|(check, note)| format!("  known failure {check}: {note}"))
            .collect();
        format!(
            "{} on {}: failing as expected\n{}",
            self.scenario,
            self.version,
            lines.join("\n")
        )
    }

    /// What changed, precisely; empty when nothing did.
    pub fn mismatch_message(&self) -> String {
        let mut out = String::new();
        let path = self.login_path.map(LoginPath::as_str).unwrap_or("?");
        for c in &self.new_failures {
            out.push_str(&format!(
                "NEW FAILURE: scenario {} · check {} · login path {} · version {}: {}\n",
                self.scenario, c.name, path, self.version, c.summary
            ));
            for e in c.evidence.iter().take(6) {
                out.push_str(&format!("    {e}\n"));
            }
            out.push_str("  (a regression to investigate; list it in suites/expectations.toml only with a note and committed evidence)\n");
        }
        for (check, note, now) in &self.no_longer_failing {
            out.push_str(&format!(
                "KNOWN FAILURE NOW PASSES: scenario {} · check {check} · login path {path} · version {}: expected to fail ({note}) but the check was {now}\n  (remove {} from this entry in suites/expectations.toml if the fix is real)\n",
                self.scenario, self.version, self.version
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A synthetic file: 9.9.9 is said to fail the reconnect check.
    const SYNTHETIC: &str = r#"
[[failure]]
scenario = "slash_mcp"
check = "reinitialized-after-token"
login_path = "slash-mcp"
versions = ["9.9.9", "9.9.8"]
note = "no initialize after the token exchange"
evidence = ["snapshots/synthetic.snap"]
"#;

    fn checks(failing: &[&str]) -> Vec<Check> {
        [
            "token-exchanged",
            "reinitialized-after-token",
            "tools-listed-after-token",
        ]
        .iter()
        .map(|name| {
            if failing.contains(name) {
                Check::fail(
                    name,
                    "it failed",
                    vec!["#7 POST /oauth/token -> 200".to_owned()],
                )
            } else {
                Check::pass(name, "it passed", vec![])
            }
        })
        .collect()
    }

    fn synthetic() -> Expectations {
        Expectations::parse(SYNTHETIC, "synthetic").expect("the synthetic file is valid")
    }

    #[rstest::rstest]
    #[case("slash_mcp~primed", true)]
    #[case("slash_mcp~primed@mcp-path", false)]
    #[case("slash_mcp", false)]
    #[case("slash_mcp~cold", false)]
    fn an_entry_keyed_by_state_matches_only_runs_from_that_state(
        #[case] run: &str,
        #[case] matches: bool,
    ) -> Result<(), ExpectationError> {
        let keyed = SYNTHETIC.replace(
            "login_path = \"slash-mcp\"",
            "login_path = \"slash-mcp\"\nstate = \"primed\"",
        );
        let file = Expectations::parse(&keyed, "keyed")?;
        let found = file.expected("claude-code", run, LoginPath::SlashMcp, "9.9.9");
        assert_eq!(!found.is_empty(), matches, "{run}");
        Ok(())
    }

    #[rstest::rstest]
    #[case("login_cold", true)]
    #[case("login_then_list~cold", true)]
    #[case("login_then_list", false)]
    fn a_cold_entry_for_the_login_command_is_the_login_cold_twin(
        #[case] run: &str,
        #[case] matches: bool,
    ) -> Result<(), ExpectationError> {
        let keyed = SYNTHETIC
            .replace("\"slash_mcp\"", "\"login_then_list\"")
            .replace("\"slash-mcp\"", "\"login-command\"\nstate = \"cold\"");
        let file = Expectations::parse(&keyed, "keyed")?;
        let found = file.expected("claude-code", run, LoginPath::LoginCommand, "9.9.9");
        assert_eq!(!found.is_empty(), matches, "{run}");
        Ok(())
    }

    #[test]
    fn a_state_on_a_scenario_without_one_is_refused() {
        let keyed = SYNTHETIC
            .replace("\"slash_mcp\"", "\"session_lost\"")
            .replace(
                "login_path = \"slash-mcp\"",
                "login_path = \"slash-mcp\"\nstate = \"cold\"",
            );
        let err = Expectations::parse(&keyed, "keyed").expect_err("no state there");
        assert!(err.to_string().contains("has no login state"), "{err}");
    }

    #[test]
    fn a_known_failure_that_still_fails_matches_and_is_named_in_the_summary() {
        let c = synthetic().compare_checks(
            "claude-code",
            "slash_mcp",
            LoginPath::SlashMcp,
            "9.9.9",
            &checks(&["reinitialized-after-token"]),
        );
        assert!(c.matches(), "{}", c.mismatch_message());
        assert!(c
            .summary()
            .contains("known failure reinitialized-after-token: no initialize"));
    }

    #[test]
    fn an_entry_for_one_client_says_nothing_of_another() -> Result<(), ExpectationError> {
        let file = Expectations::parse(
            r#"
[[failure]]
client = "claude-code"
scenario = "slash_mcp"
check = "reinitialized-after-token"
login_path = "slash-mcp"
versions = ["9.9.9"]
note = "no initialize after the token exchange"
evidence = ["x"]
"#,
            "test",
        )?;
        assert_eq!(
            file.expected("claude-code", "slash_mcp", LoginPath::SlashMcp, "9.9.9")
                .len(),
            1
        );
        assert!(file
            .expected(
                "no-such-client-here",
                "slash_mcp",
                LoginPath::SlashMcp,
                "9.9.9"
            )
            .is_empty());
        let unknown = Expectations::parse(
            "[[failure]]\nclient = \"nope\"\nscenario = \"slash_mcp\"\ncheck = \"c\"\nlogin_path = \"slash-mcp\"\nversions = [\"1.0.0\"]\nnote = \"n\"\nevidence = [\"x\"]\n",
            "test",
        );
        assert!(unknown.is_err());
        Ok(())
    }

    #[test]
    fn a_new_failure_is_reported_with_scenario_check_path_and_version() {
        let c = synthetic().compare_checks(
            "claude-code",
            "slash_mcp",
            LoginPath::SlashMcp,
            "9.9.9",
            &checks(&["reinitialized-after-token", "tools-listed-after-token"]),
        );
        assert!(!c.matches());
        let message = c.mismatch_message();
        assert!(message.starts_with("NEW FAILURE: scenario slash_mcp · check tools-listed-after-token · login path slash-mcp · version 9.9.9: it failed"), "{message}");
        assert!(!message.contains("NOW PASSES"), "{message}");
    }

    #[test]
    fn a_failure_on_a_version_the_file_does_not_list_is_new() {
        let c = synthetic().compare_checks(
            "claude-code",
            "slash_mcp",
            LoginPath::SlashMcp,
            "2.1.331",
            &checks(&["reinitialized-after-token"]),
        );
        assert!(c
            .mismatch_message()
            .contains("NEW FAILURE: scenario slash_mcp · check reinitialized-after-token"));
    }

    #[test]
    fn a_known_failure_that_now_passes_is_reported() {
        let c = synthetic().compare_checks(
            "claude-code",
            "slash_mcp",
            LoginPath::SlashMcp,
            "9.9.8",
            &checks(&[]),
        );
        assert!(!c.matches());
        assert_eq!(
            c.mismatch_message().lines().next(),
            Some("KNOWN FAILURE NOW PASSES: scenario slash_mcp · check reinitialized-after-token · login path slash-mcp · version 9.9.8: expected to fail (no initialize after the token exchange) but the check was pass")
        );
    }

    #[test]
    fn a_known_failure_whose_check_did_not_run_is_reported_too() {
        let c = synthetic().compare_checks(
            "claude-code",
            "slash_mcp",
            LoginPath::SlashMcp,
            "9.9.9",
            &[],
        );
        assert!(c.mismatch_message().contains("but the check was not run"));
    }

    #[test]
    fn a_clean_run_of_an_unlisted_version_matches_an_empty_file() {
        let empty = Expectations::parse("", "empty").expect("an empty file is valid");
        let c = empty.compare_checks(
            "claude-code",
            "login_then_list",
            LoginPath::LoginCommand,
            "2.1.331",
            &checks(&[]),
        );
        assert!(c.matches());
    }

    #[test]
    fn entries_without_evidence_or_note_or_with_unknown_names_are_refused() {
        let without_evidence = SYNTHETIC.replace(
            r#"evidence = ["snapshots/synthetic.snap"]"#,
            "evidence = []",
        );
        let without_note = SYNTHETIC.replace("no initialize after the token exchange", " ");
        let unknown_scenario =
            SYNTHETIC.replace(r#"scenario = "slash_mcp""#, r#"scenario = "slash_mpc""#);
        let wrong_path = SYNTHETIC.replace(
            r#"login_path = "slash-mcp""#,
            r#"login_path = "login-command""#,
        );
        let range = SYNTHETIC.replace(r#""9.9.8""#, r#""9.9.x""#);
        let unknown_field = format!("{SYNTHETIC}reason = \"x\"\n");
        for (what, text) in [
            ("no evidence", without_evidence),
            ("no note", without_note),
            ("unknown scenario", unknown_scenario),
            ("wrong login path", wrong_path),
            ("a version range", range),
            ("an unknown field", unknown_field),
        ] {
            assert!(
                Expectations::parse(&text, "synthetic").is_err(),
                "{what} was accepted"
            );
        }
    }

    #[test]
    fn evidence_that_is_not_a_file_in_the_repository_is_refused() -> Result<(), ExpectationError> {
        let dir = tempfile::tempdir().map_err(|source| ExpectationError::Read {
            path: PathBuf::from("tmp"),
            source,
        })?;
        let file = synthetic();
        let err = file
            .check_evidence_exists(dir.path())
            .expect_err("the evidence does not exist");
        assert!(
            err.to_string().contains("snapshots/synthetic.snap"),
            "{err}"
        );
        std::fs::create_dir_all(dir.path().join("snapshots")).map_err(|source| {
            ExpectationError::Read {
                path: dir.path().to_owned(),
                source,
            }
        })?;
        std::fs::write(dir.path().join("snapshots/synthetic.snap"), "x").map_err(|source| {
            ExpectationError::Read {
                path: dir.path().to_owned(),
                source,
            }
        })?;
        file.check_evidence_exists(dir.path())
    }
}

#[cfg(test)]
mod committed_file_tests {
    use super::*;

    #[test]
    fn the_committed_expectations_file_parses_and_its_evidence_exists(
    ) -> Result<(), ExpectationError> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let file = Expectations::load(&root.join("suites/expectations.toml"))?;
        file.check_evidence_exists(&root)?;
        let primed = file.expected("codex", "slash_mcp~primed", LoginPath::SlashMcp, "0.171.0");
        assert_eq!(primed.len(), 1, "the primed entry matches its state only");
        Ok(())
    }
}
