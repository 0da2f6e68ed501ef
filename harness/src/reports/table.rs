//! The terminal table: one row per scenario (with its login path), one column per version.

use crate::matrix::MatrixReport;

pub fn render(report: &MatrixReport) -> String {
    let mut out = String::new();
    if let Some(c) = &report.comparison {
        let lines = super::comparison_lines(c);
        if lines.is_empty() {
            out.push_str(&format!("no changes against {}\n", c.baseline));
        }
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
        out.push('\n');
    }
    let width = report
        .versions
        .iter()
        .map(|v| v.len())
        .max()
        .unwrap_or(0)
        .max(10);
    // Scenarios on a discovery variant have longer names (`login_then_list@separate-auth-server`).
    let names = report
        .scenarios
        .iter()
        .map(|s| s.len())
        .max()
        .unwrap_or(0)
        .max(19);
    out.push_str(&format!("{:<names$} {:<18}", "scenario", "login path"));
    for v in &report.versions {
        out.push_str(&format!(" {v:<width$}"));
    }
    out.push('\n');
    for s in &report.scenarios {
        out.push_str(&format!("{:<names$} {:<18}", s, report.login_path(s)));
        for v in &report.versions {
            let label = report
                .cell(v, s)
                .map(|c| c.label())
                .unwrap_or_else(|| "-".to_owned());
            out.push_str(&format!(" {label:<width$}"));
        }
        out.push('\n');
    }
    let failing: Vec<_> = report
        .cells
        .iter()
        .filter(|c| c.verdict != crate::matrix::CellVerdict::Pass)
        .collect();
    if !failing.is_empty() {
        out.push('\n');
        for c in failing {
            out.push_str(&format!(
                "{:<6} {} {}: {}\n",
                c.label(),
                c.column(),
                c.scenario,
                c.summary
            ));
            for sentence in super::blame::for_cell(&report.cells, c) {
                out.push_str(&format!("       {sentence}\n"));
            }
            for run in c.runs.iter().filter_map(|r| r.bundle.as_ref()) {
                out.push_str(&format!("       bundle {run}\n"));
            }
        }
    }
    out.push('\n');
    out.push_str(&super::headline(report));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use crate::matrix::tests::synthetic;

    #[test]
    fn the_grid_shows_each_verdict() {
        let text = super::render(&synthetic());
        let row = text
            .lines()
            .find(|l| l.starts_with("session_lost"))
            .expect("present in the synthetic report");
        assert!(row.contains("FAIL") && row.contains("pass"), "{row}");
        assert!(text.contains("flaky 1/2"));
        assert!(text.contains("n/a"));
        assert!(text.contains("1 fail, 1 flaky, 1 n/a"), "{text}");
    }
}
