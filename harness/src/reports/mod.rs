//! The matrix report's forms for people and dashboards, all rendered from [`MatrixReport`]'s JSON:
//! a terminal table, Markdown (pull-request comments, issues), JUnit XML (CI dashboards) and a
//! self-contained HTML page with a sequence diagram per cell.

pub mod blame;
pub mod run_table;

pub mod html;
pub mod junit;
pub mod markdown;
pub mod sequence;
pub mod table;

use crate::matrix::{Change, Comparison, MatrixReport};

/// Escapes text for HTML and XML (text and attribute values).
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 forbids (terminal screens can hold them).
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' && c != '\r' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// `2.1.331 session_lost: pass → FAIL (failed: …)`.
pub fn change_line(c: &Change) -> String {
    let against = if c.before_version == c.version {
        String::new()
    } else {
        format!(" (baseline: {})", c.before_version)
    };
    format!(
        "{} {}: {} → {}{against} — {}",
        c.version,
        c.scenario,
        c.before.as_str(),
        c.after.as_str(),
        c.summary
    )
}

/// A one-line headline: counts, and against the baseline, what changed.
pub fn headline(report: &MatrixReport) -> String {
    use crate::matrix::CellVerdict::*;
    let mut line = format!(
        "{} cells ({} versions × {} scenarios): {} pass, {} fail, {} flaky, {} n/a; {:.0} s wall clock, -j {}, --repeat {}",
        report.cells.len(),
        report.versions.len(),
        report.scenarios.len(),
        report.count(Pass),
        report.count(Fail),
        report.count(Flaky),
        report.count(NotApplicable),
        report.wall_secs,
        report.jobs,
        report.repeat
    );
    if let Some(c) = &report.comparison {
        line.push_str(&format!(
            "; against {}: {} new failure(s), {} new fix(es)",
            c.baseline,
            c.new_failures.len(),
            c.new_fixes.len()
        ));
    }
    line
}

/// The comparison as plain lines (new failures first).
pub fn comparison_lines(c: &Comparison) -> Vec<String> {
    let mut out = Vec::new();
    for ch in &c.new_failures {
        out.push(format!("NEW FAILURE  {}", change_line(ch)));
    }
    for ch in &c.new_fixes {
        out.push(format!("NEW FIX      {}", change_line(ch)));
    }
    for ch in &c.other_changes {
        out.push(format!("changed      {}", change_line(ch)));
    }
    out
}
