//! Determinism: the core scenarios back to back on one version, each run's canonical access log
//! (and model view, where the scenario has one) compared with the committed snapshots. Every
//! difference is a flake to remove or a finding about the client; the goal is none.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use mock_server::MockServer;

use crate::clients::catalog::ClientKind;
use crate::clients::ClientUnderTest;
use crate::drive::isolation::ConnectReport;
use crate::scenarios::{self, RunOptions, Scenario, ScenarioReport};

/// The scenarios `make soak` runs by default: the five core ones.
pub const CORE_SCENARIOS: [Scenario; 5] = [
    Scenario::SLASH_MCP,
    Scenario::LOGIN_THEN_LIST,
    Scenario::AUTHENTICATE_TOOL,
    Scenario::AUTHENTICATE_PASTE,
    Scenario::PRINT_AFTER_AUTH,
];

#[derive(Debug, Clone)]
pub struct SoakPlan {
    pub scenarios: Vec<Scenario>,
    /// At most this many rounds (a round runs every scenario once).
    pub runs: usize,
    /// No new round starts after this long.
    pub budget: Duration,
    pub snapshots: PathBuf,
    /// The known failures: a run is a failure when it does not match them (when absent, when a
    /// check fails). A client's known failures are not flakes; a change in them is.
    pub expectations: Option<crate::matrix::expectations::Expectations>,
    /// Where differing texts and diffs are written.
    pub out: PathBuf,
    /// Run each scenario in the loopback-only namespace (see `isolation`).
    pub isolate: bool,
}

/// One scenario's tally over the soak.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Tally {
    pub runs: usize,
    pub failures: usize,
    /// Failing checks, by name, with how often.
    pub failed_checks: BTreeMap<String, usize>,
    pub log_diffs: usize,
    pub model_view_diffs: usize,
    /// Distinct canonical logs seen (1 when deterministic).
    pub log_variants: usize,
    pub model_view_variants: usize,
    /// Whether a committed snapshot existed to compare with.
    pub log_snapshot: bool,
    pub model_view_snapshot: bool,
    pub durations: Vec<f64>,
    /// Isolated runs: connect() calls per run, and those to destinations not the run's own.
    pub connects: Vec<usize>,
    pub foreign_connects: usize,
    /// Files with the differing text and its diff.
    pub diff_files: Vec<PathBuf>,
    #[serde(skip)]
    logs_seen: BTreeMap<String, usize>,
    #[serde(skip)]
    views_seen: BTreeMap<String, usize>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct SoakSummary {
    pub client: String,
    pub version: String,
    pub rounds: usize,
    pub elapsed_secs: f64,
    pub by_scenario: BTreeMap<String, Tally>,
}

impl SoakSummary {
    pub fn clean(&self) -> bool {
        self.by_scenario
            .values()
            .all(|t| t.failures == 0 && t.log_diffs == 0 && t.model_view_diffs == 0)
    }

    pub fn render(&self) -> String {
        let mut out = format!(
            "soak: {} {} · {} round(s) in {:.0} s\n{:<20} {:>5} {:>8} {:>9} {:>10} {:>9}  {}\n",
            self.client,
            self.version,
            self.rounds,
            self.elapsed_secs,
            "scenario",
            "runs",
            "failures",
            "log diffs",
            "view diffs",
            "variants",
            "duration min/median/max"
        );
        for (name, t) in &self.by_scenario {
            let mut d = t.durations.clone();
            d.sort_by(f64::total_cmp);
            let (min, med, max) = match d.len() {
                0 => (0.0, 0.0, 0.0),
                n => (d[0], d[n / 2], d[n - 1]),
            };
            let log_diffs = if t.log_snapshot {
                t.log_diffs.to_string()
            } else {
                "no snap".to_owned()
            };
            let view_diffs = if t.model_view_snapshot {
                t.model_view_diffs.to_string()
            } else {
                "-".to_owned()
            };
            out.push_str(&format!(
                "{:<20} {:>5} {:>8} {:>9} {:>10} {:>9}  {:.1}/{:.1}/{:.1} s\n",
                name,
                t.runs,
                t.failures,
                log_diffs,
                view_diffs,
                format!("{}/{}", t.log_variants, t.model_view_variants),
                min,
                med,
                max
            ));
            if let (Some(min), Some(max)) = (t.connects.iter().min(), t.connects.iter().max()) {
                out.push_str(&format!(
                    "    isolated: {min}–{max} connect() calls per run, {} not to the run's own servers\n",
                    t.foreign_connects
                ));
            }
            for (check, n) in &t.failed_checks {
                out.push_str(&format!("    failed check {check} ×{n}\n"));
            }
            for f in &t.diff_files {
                out.push_str(&format!("    diff: {}\n", f.display()));
            }
        }
        out.push_str(if self.clean() {
            "soak: no failures, no snapshot differences\n"
        } else {
            "soak: NOT CLEAN (see the diffs above)\n"
        });
        out
    }
}

/// The body of an insta snapshot file (everything after the `---` header), or `None` if absent.
pub fn read_snapshot(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let text = text.replace("\r\n", "\n");
    let body = match text.strip_prefix("---\n") {
        Some(rest) => rest.split_once("\n---\n").map(|(_, b)| b).unwrap_or(rest),
        None => &text,
    };
    Some(body.trim_end().to_owned())
}

/// A line diff (longest common subsequence): `-` expected only, `+` actual only, ` ` both.
pub fn line_diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = String::new();
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        } else {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        }
    }
    out
}

/// `<client>__<scenario>__[<what>]<version>.snap`, the client's name with `_` for `-`, as the
/// suite names them.
fn snapshot_path(
    dir: &Path,
    client: &str,
    scenario: Scenario,
    what: &str,
    version: &str,
) -> PathBuf {
    dir.join(format!(
        "{}__{}__{what}{version}.snap",
        client.replace('-', "_"),
        scenario.name()
    ))
}

/// Runs the plan; progress goes to stderr.
pub fn soak(
    client: &dyn ClientUnderTest,
    kind: &'static ClientKind,
    plan: &SoakPlan,
) -> std::io::Result<SoakSummary> {
    std::fs::create_dir_all(&plan.out)?;
    let version = client.install().version.clone();
    let started = Instant::now();
    let mut by_scenario: BTreeMap<String, Tally> = BTreeMap::new();
    let mut rounds = 0;
    while rounds < plan.runs && started.elapsed() < plan.budget {
        rounds += 1;
        for &s in &plan.scenarios {
            crate::say!(
                "soak: round {rounds}/{} · {} · {:.0} s elapsed",
                plan.runs,
                s.name(),
                started.elapsed().as_secs_f64()
            );
            let (report, connects) = run_one(client, kind, s, plan.isolate)?;
            let tally = by_scenario.entry(s.name().to_owned()).or_default();
            if let Some(c) = connects {
                tally.connects.push(c.connects);
                tally.foreign_connects += c.foreign.values().sum::<usize>();
            }
            record(tally, &report, plan, rounds, &version)?;
            crate::say!(
                "soak: round {rounds} · {} · {} in {:.1} s",
                s.name(),
                if report.passed() { "pass" } else { "FAIL" },
                report.duration_secs
            );
        }
    }
    Ok(SoakSummary {
        client: kind.name.to_owned(),
        version,
        rounds,
        elapsed_secs: started.elapsed().as_secs_f64(),
        by_scenario,
    })
}

fn run_one(
    client: &dyn ClientUnderTest,
    kind: &'static ClientKind,
    s: Scenario,
    isolate: bool,
) -> std::io::Result<(ScenarioReport, Option<ConnectReport>)> {
    let (report, connects) = if isolate {
        let (report, connects) = crate::scenarios::isolated::run_scenario_isolated(
            s,
            {
                let install = client.install().clone();
                move || (kind.make)(install)
            },
            s.mock_faults(),
            &RunOptions::default(),
        )
        .map_err(std::io::Error::other)?;
        (report, Some(connects))
    } else {
        let mock = MockServer::builder()
            .faults(s.mock_faults())
            .start_blocking()
            .map_err(std::io::Error::other)?;
        (scenarios::run(s, client, &mock), None)
    };
    crate::scenarios::observe::record_report(client.install(), &report);
    Ok((report, connects))
}

fn record(
    tally: &mut Tally,
    report: &ScenarioReport,
    plan: &SoakPlan,
    round: usize,
    version: &str,
) -> std::io::Result<()> {
    let s = report.scenario;
    tally.runs += 1;
    tally.durations.push(report.duration_secs);
    let as_expected = match &plan.expectations {
        Some(known) => known.compare(report).matches(),
        None => report.passed(),
    };
    if !as_expected {
        tally.failures += 1;
        for c in report
            .checks
            .iter()
            .filter(|c| c.verdict == crate::checks::Verdict::Fail)
        {
            *tally.failed_checks.entry(c.name.clone()).or_default() += 1;
        }
    }
    let log = report.canonical_log().trim_end().to_owned();
    *tally.logs_seen.entry(log.clone()).or_default() += 1;
    tally.log_variants = tally.logs_seen.len();
    let expected = read_snapshot(&snapshot_path(
        &plan.snapshots,
        &report.client,
        s,
        "",
        version,
    ));
    tally.log_snapshot = expected.is_some();
    if let Some(expected) = expected.filter(|e| *e != log) {
        tally.log_diffs += 1;
        let path = plan
            .out
            .join(format!("round{round:02}-{}.access-log.diff", s.name()));
        std::fs::write(&path, line_diff(&expected, &log))?;
        tally.diff_files.push(path);
    }
    let view_snapshot = read_snapshot(&snapshot_path(
        &plan.snapshots,
        &report.client,
        s,
        "model_view__",
        version,
    ));
    tally.model_view_snapshot = view_snapshot.is_some();
    if let Some(expected) = view_snapshot {
        let view = report.canonical_model_view().trim_end().to_owned();
        *tally.views_seen.entry(view.clone()).or_default() += 1;
        tally.model_view_variants = tally.views_seen.len();
        if expected != view {
            tally.model_view_diffs += 1;
            let path = plan
                .out
                .join(format!("round{round:02}-{}.model-view.diff", s.name()));
            std::fs::write(&path, line_diff(&expected, &view))?;
            tally.diff_files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_is_compared_with_its_own_snapshots() {
        let dir = Path::new("snapshots");
        let session_lost = Scenario::SESSION_LOST;
        assert_eq!(
            snapshot_path(dir, "gemini-cli", session_lost, "", "0.61.0"),
            dir.join("gemini_cli__session_lost__0.61.0.snap")
        );
        assert_eq!(
            snapshot_path(dir, "claude-code", session_lost, "model_view__", "2.1.331"),
            dir.join("claude_code__session_lost__model_view__2.1.331.snap")
        );
    }

    #[test]
    fn a_snapshot_body_is_what_follows_the_header() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("x.snap");
        std::fs::write(&path, "---\nsource: a.rs\n---\nline 1\nline 2\n")?;
        assert_eq!(read_snapshot(&path).as_deref(), Some("line 1\nline 2"));
        assert_eq!(read_snapshot(&dir.path().join("absent.snap")), None);
        Ok(())
    }

    #[test]
    fn the_diff_marks_what_moved() {
        let diff = line_diff("a\nb\nc", "a\nc\nb");
        assert_eq!(diff, "  a\n+ c\n  b\n- c\n");
        assert_eq!(line_diff("x", "x"), "  x\n");
    }
}
