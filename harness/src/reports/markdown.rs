//! Markdown for a pull-request comment or an issue: changes first, the grid, then what failed.

use crate::matrix::{CellVerdict, MatrixReport};

fn icon(v: CellVerdict) -> &'static str {
    match v {
        CellVerdict::Pass => "✅",
        CellVerdict::Fail => "❌",
        CellVerdict::Flaky => "⚠️",
        CellVerdict::NotApplicable => "➖",
    }
}

fn cell_text(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn render(report: &MatrixReport) -> String {
    let mut out = String::from("## MCP OAuth reconnect matrix\n\n");
    out.push_str(&format!("{}\n\n", super::headline(report)));
    if let Some(c) = &report.comparison {
        if c.new_failures.is_empty() && c.new_fixes.is_empty() {
            out.push_str(&format!(
                "No new failures or fixes against `{}`.\n\n",
                c.baseline
            ));
        }
        if !c.new_failures.is_empty() {
            out.push_str("### ❌ New failures\n\n");
            for ch in &c.new_failures {
                out.push_str(&format!("- {}\n", cell_text(&super::change_line(ch))));
            }
            out.push('\n');
        }
        if !c.new_fixes.is_empty() {
            out.push_str("### ✅ New fixes\n\n");
            for ch in &c.new_fixes {
                out.push_str(&format!("- {}\n", cell_text(&super::change_line(ch))));
            }
            out.push('\n');
        }
        if !c.other_changes.is_empty() {
            out.push_str("### Other changes\n\n");
            for ch in &c.other_changes {
                out.push_str(&format!("- {}\n", cell_text(&super::change_line(ch))));
            }
            out.push('\n');
        }
    }
    out.push_str("| scenario | login path |");
    for v in &report.versions {
        out.push_str(&format!(" {v} |"));
    }
    out.push_str("\n|---|---|");
    for _ in &report.versions {
        out.push_str("---|");
    }
    out.push('\n');
    for s in &report.scenarios {
        out.push_str(&format!("| `{s}` | {} |", report.login_path(s)));
        for v in &report.versions {
            match report.cell(v, s) {
                Some(c) => out.push_str(&format!(" {} {} |", icon(c.verdict), c.label())),
                None => out.push_str(" – |"),
            }
        }
        out.push('\n');
    }
    let not_passing: Vec<_> = report
        .cells
        .iter()
        .filter(|c| matches!(c.verdict, CellVerdict::Fail | CellVerdict::Flaky))
        .collect();
    if !not_passing.is_empty() {
        out.push_str("\n### Failing and flaky cells\n");
        for c in not_passing {
            out.push_str(&format!(
                "\n<details><summary>{} <code>{}</code> on {}: {}</summary>\n\n",
                icon(c.verdict),
                c.scenario,
                c.column(),
                super::escape(&c.summary)
            ));
            for sentence in super::blame::for_cell(&report.cells, c) {
                out.push_str(&format!("> {}\n\n", super::escape(&sentence)));
            }
            if let Some(run) = c.shown_run() {
                out.push_str("| check | verdict | summary |\n|---|---|---|\n");
                for ch in &run.checks {
                    out.push_str(&format!(
                        "| `{}` | {} | {} |\n",
                        ch.name,
                        ch.verdict.as_str(),
                        cell_text(&ch.summary)
                    ));
                }
                let evidence: Vec<&String> = run
                    .checks
                    .iter()
                    .filter(|ch| ch.verdict == crate::matrix::CheckVerdict::Fail)
                    .flat_map(|ch| ch.evidence.iter())
                    .collect();
                if !evidence.is_empty() {
                    out.push_str("\nEvidence of the failing checks:\n\n```\n");
                    for e in evidence {
                        out.push_str(&e.replace("```", "'''"));
                        out.push('\n');
                    }
                    out.push_str("```\n");
                }
            }
            out.push_str("\n</details>\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use crate::matrix::tests::synthetic;

    #[test]
    fn failing_cells_render_as_failing() {
        let md = super::render(&synthetic());
        let row = md
            .lines()
            .find(|l| l.starts_with("| `session_lost`"))
            .expect("present in the synthetic report");
        assert_eq!(row, "| `session_lost` | slash-mcp | ❌ FAIL | ✅ pass |");
        assert!(md.contains("⚠️ flaky 1/2"));
        assert!(md.contains(
            "<code>session_lost</code> on 2.1.81: failed: reinitialized-after-session-loss"
        ));
        assert!(md.contains("| `reinitialized-after-session-loss` | FAIL |"));
        // The passing cells are not detailed.
        assert!(!md.contains("<code>slash_mcp</code>"));
    }

    #[test]
    fn new_failures_come_first() {
        let mut r = synthetic();
        let mut before = synthetic();
        before.cells[1].verdict = crate::matrix::CellVerdict::Pass;
        r.comparison = Some(crate::matrix::compare(&r, &before, "prev.json"));
        let md = super::render(&r);
        let failures = md
            .find("### ❌ New failures")
            .expect("present in the synthetic report");
        assert!(
            failures
                < md.find("| scenario |")
                    .expect("present in the synthetic report")
        );
        assert!(md.contains("- 2.1.81 session_lost: pass → FAIL"));
    }
}
