//! Rendering scenario reports for people (a check table, a summary grid and a timeline) and
//! machines (JSON).

use crate::checks::Verdict;
use crate::matrix::{verdict_of, CellVerdict};
use crate::scenarios::ScenarioReport;

/// Which evidence a verdict table shows under its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    /// Under every check (`-v`, test output).
    All,
    /// Only under the checks that did not pass: why a check failed, or why it does not apply.
    /// A passing check's evidence is in the JSON report and, with `-v`, on screen.
    NotPassing,
}

/// The verdict table with every check's evidence.
pub fn render_table(reports: &[ScenarioReport]) -> String {
    render_table_with(reports, Evidence::All)
}

/// The verdict table: one row per check, evidence indented below it.
pub fn render_table_with(reports: &[ScenarioReport], evidence: Evidence) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "\n{} {} · scenario {}{} · login path {} · {:.1} s{}\n",
            r.client,
            r.version,
            r.scenario.name(),
            r.discovery
                .map(|v| format!(" · discovery variant {} (class {})", v.name(), v.classes()))
                .unwrap_or_default(),
            r.login_path.as_str(),
            r.duration_secs,
            if r.is_reconnect_check {
                ""
            } else {
                " · (not a reconnect check)"
            }
        ));
        for c in &r.checks {
            out.push_str(&format!(
                "  {:<5} {:<28} {}\n",
                c.verdict.as_str(),
                c.name,
                c.summary
            ));
            if evidence == Evidence::NotPassing && c.verdict == Verdict::Pass {
                continue;
            }
            for e in &c.evidence {
                for line in e.lines() {
                    out.push_str(&format!("          {line}\n"));
                }
            }
        }
        if let Some(b) = &r.bundle {
            out.push_str(&format!("  failure bundle: {}\n", b.display()));
        }
    }
    out
}

/// A report's verdict, as the matrix would give its cell.
pub fn verdict(report: &ScenarioReport) -> CellVerdict {
    verdict_of(report.checks.iter().map(|c| c.verdict.into()))
}

/// The closing grid of `harness run`: one row per scenario (login path, verdict, its checks'
/// verdicts counted, time), a line of totals, and one line per scenario that did not pass.
pub fn render_summary(reports: &[ScenarioReport]) -> String {
    let names = reports
        .iter()
        .map(|r| r.expectation_key().len())
        .max()
        .unwrap_or(0)
        .max(19);
    let mut out = String::from("\n");
    if let Some(first) = reports.first() {
        out.push_str(&format!("summary: {} {}\n", first.client, first.version));
    }
    out.push_str(&format!(
        "{:<names$} {:<20} {:<7} {:<22} {:>8}\n",
        "scenario", "login path", "verdict", "checks", "time"
    ));
    for r in reports {
        let count = |v: Verdict| r.checks.iter().filter(|c| c.verdict == v).count();
        let checks: Vec<String> = [Verdict::Pass, Verdict::Fail, Verdict::NotApplicable]
            .into_iter()
            .filter(|v| count(*v) > 0)
            .map(|v| format!("{} {}", count(v), v.as_str()))
            .collect();
        out.push_str(&format!(
            "{:<names$} {:<20} {:<7} {:<22} {:>6.1} s\n",
            r.expectation_key(),
            r.login_path.as_str(),
            verdict(r).as_str(),
            checks.join(", "),
            r.duration_secs
        ));
    }
    let count = |v: CellVerdict| reports.iter().filter(|r| verdict(r) == v).count();
    out.push_str(&format!(
        "\n{} scenario(s): {} pass, {} fail, {} n/a; {:.1} s of runs\n",
        reports.len(),
        count(CellVerdict::Pass),
        count(CellVerdict::Fail),
        count(CellVerdict::NotApplicable),
        reports.iter().map(|r| r.duration_secs).sum::<f64>()
    ));
    for r in reports.iter().filter(|r| verdict(r) == CellVerdict::Fail) {
        let failed: Vec<&str> = r
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Fail)
            .map(|c| c.name.as_str())
            .collect();
        out.push_str(&format!(
            "FAIL {}: {}{}\n",
            r.expectation_key(),
            failed.join(", "),
            r.bundle
                .as_ref()
                .map(|b| format!(" · bundle {}", b.display()))
                .unwrap_or_default()
        ));
    }
    out
}
