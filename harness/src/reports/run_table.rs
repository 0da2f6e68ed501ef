//! Rendering scenario reports for people (a check table and a timeline) and machines (JSON).

use crate::scenarios::ScenarioReport;

/// The verdict table: one row per check, evidence indented below it.
pub fn render_table(reports: &[ScenarioReport]) -> String {
    let mut out = String::new();
    for r in reports {
        out.push_str(&format!(
            "\n{} {} · scenario {}{} · login path {} · {:.1} s{}\n",
            r.client,
            r.version,
            r.scenario.name(),
            r.discovery
                .map(|v| format!(" · discovery variant {} (class {})", v.name(), v.class()))
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
