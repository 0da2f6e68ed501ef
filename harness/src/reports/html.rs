//! A self-contained HTML page (no scripts, no external files): the version × scenario grid,
//! coloured by verdict, each cell a link to its detail (checks with evidence, the access log as
//! an SVG sequence diagram, the model's view per turn, the final terminal screen). Details are
//! shown with the CSS `:target` selector, so `page.html#cell-2.1.81-session_lost` opens one.

use crate::matrix::{Cell, CellVerdict, MatrixReport, RunRecord};

use super::escape;

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;background:#fafafa}
h1{font-size:20px;margin:0 0 6px} h2{font-size:16px;margin:18px 0 6px} h3{font-size:14px;margin:14px 0 4px}
.headline{color:#555;margin-bottom:12px}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
table.grid td.cell{text-align:center;font-weight:600;min-width:56px;white-space:nowrap}
table.grid td,table.grid th{white-space:nowrap}
table.grid td.cell a{display:block;color:inherit;text-decoration:none}
td.pass,span.pass{background:#c8f0c8;color:#135d13}
td.fail,span.fail{background:#f7c1c1;color:#8a1010}
td.flaky,span.flaky{background:#fde7a6;color:#7a5200}
td.na,span.na{background:#e4e4e4;color:#555}
span.v{padding:1px 6px;border-radius:3px;font-weight:600}
.legend span{margin-right:8px}
.changes li{margin:2px 0} .newfail{color:#8a1010;font-weight:600} .newfix{color:#135d13;font-weight:600}
section.detail{display:none;border:2px solid #888;background:#fff;padding:10px 14px;margin-top:16px}
section.detail:target{display:block}
pre{background:#1e1e1e;color:#ddd;padding:8px;overflow:auto;max-height:480px;font:12px/1.25 ui-monospace,monospace}
pre.evidence{background:#f3f3f3;color:#222;max-height:200px;margin:2px 0}
svg.seq{background:#fff;border:1px solid #ddd}
svg.seq .lane{fill:#eef;stroke:#99b} svg.seq .lanename{font:600 12px sans-serif}
svg.seq .life{stroke:#bbb;stroke-dasharray:4 3}
svg.seq .msg line{stroke:#333} svg.seq .msg.err line{stroke:#c00}
svg.seq .label{font:11px ui-monospace,monospace;fill:#222} svg.seq .msg.err .label{fill:#a00}
svg.seq .reply{font:11px ui-monospace,monospace;fill:#666} svg.seq .at{font:10px ui-monospace,monospace;fill:#888}
a.close{float:right}
"#;

/// The fragment that opens a cell's detail.
pub fn cell_id(cell: &Cell) -> String {
    format!("cell-{}-{}", cell.column(), cell.scenario)
}

pub fn render(report: &MatrixReport) -> String {
    let mut out =
        String::from("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n");
    out.push_str("<title>MCP OAuth reconnect matrix</title>\n<style>");
    out.push_str(STYLE);
    out.push_str("</style></head><body>\n<h1>MCP OAuth reconnect matrix</h1>\n");
    out.push_str(&format!(
        "<div class=\"headline\">{} · started {} · <code>{}</code></div>\n",
        escape(&super::headline(report)),
        escape(&report.started),
        escape(&report.command)
    ));
    if let Some(c) = &report.comparison {
        out.push_str(&format!(
            "<h2>Against {}</h2>\n<ul class=\"changes\">\n",
            escape(&c.baseline)
        ));
        if c.new_failures.is_empty() && c.new_fixes.is_empty() {
            out.push_str("<li>no new failures or fixes</li>\n");
        }
        for ch in &c.new_failures {
            out.push_str(&format!(
                "<li class=\"newfail\">new failure: <a href=\"#cell-{}-{}\">{}</a></li>\n",
                escape(&ch.version),
                escape(&ch.scenario),
                escape(&super::change_line(ch))
            ));
        }
        for ch in &c.new_fixes {
            out.push_str(&format!(
                "<li class=\"newfix\">new fix: <a href=\"#cell-{}-{}\">{}</a></li>\n",
                escape(&ch.version),
                escape(&ch.scenario),
                escape(&super::change_line(ch))
            ));
        }
        for ch in &c.other_changes {
            out.push_str(&format!(
                "<li>changed: {}</li>\n",
                escape(&super::change_line(ch))
            ));
        }
        out.push_str("</ul>\n");
    }
    out.push_str("<div class=\"legend\"><span class=\"v pass\">pass</span><span class=\"v fail\">FAIL</span><span class=\"v flaky\">flaky</span><span class=\"v na\">n/a</span> click a cell for its detail</div>\n");
    out.push_str("<table class=\"grid\"><thead><tr><th>scenario</th><th>login path</th>");
    for v in &report.versions {
        out.push_str(&format!("<th>{}</th>", escape(v)));
    }
    out.push_str("</tr></thead><tbody>\n");
    for s in &report.scenarios {
        out.push_str(&format!(
            "<tr><th><code>{}</code></th><td>{}</td>",
            escape(s),
            escape(&report.login_path(s))
        ));
        for v in &report.versions {
            match report.cell(v, s) {
                Some(c) => out.push_str(&format!(
                    "<td class=\"cell {}\" data-verdict=\"{}\" title=\"{}\"><a href=\"#{}\">{}</a></td>",
                    c.verdict.css(),
                    c.verdict.css(),
                    escape(&c.summary),
                    escape(&cell_id(c)),
                    escape(&c.label())
                )),
                None => out.push_str("<td class=\"cell\">–</td>"),
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table>\n");
    for cell in &report.cells {
        detail(&mut out, cell, &report.cells);
    }
    out.push_str("</body></html>\n");
    out
}

fn verdict_span(v: CellVerdict) -> String {
    format!("<span class=\"v {}\">{}</span>", v.css(), v.as_str())
}

fn detail(out: &mut String, cell: &Cell, cells: &[Cell]) {
    out.push_str(&format!(
        "<section class=\"detail\" id=\"{}\"><a class=\"close\" href=\"#\">close ✕</a>\n<h2>{} on {} {} · login path {} · {}</h2>\n<p>{}</p>\n",
        escape(&cell_id(cell)),
        escape(&cell.scenario),
        escape(&cell.client),
        escape(&cell.version),
        escape(&cell.login_path),
        verdict_span(cell.verdict),
        escape(&cell.summary)
    ));
    for sentence in super::blame::for_cell(cells, cell) {
        out.push_str(&format!("<p class=\"blame\">{}</p>\n", escape(&sentence)));
    }
    if cell.runs.len() > 1 {
        out.push_str("<p>runs: ");
        for (i, r) in cell.runs.iter().enumerate() {
            out.push_str(&format!(
                "#{} {} ({:.1} s) ",
                i + 1,
                verdict_span(r.verdict),
                r.duration_secs
            ));
        }
        out.push_str("</p>\n");
    }
    let Some(run) = cell.shown_run() else {
        out.push_str("</section>\n");
        return;
    };
    if cell.runs.len() > 1 {
        let index = cell
            .runs
            .iter()
            .position(|r| std::ptr::eq(r, run))
            .unwrap_or(0);
        out.push_str(&format!("<p>shown below: run #{}</p>\n", index + 1));
    }
    run_detail(out, run);
    out.push_str("</section>\n");
}

fn run_detail(out: &mut String, run: &RunRecord) {
    out.push_str(&format!("<h3>Checks ({:.1} s)</h3>\n<table class=\"checks\"><tr><th>check</th><th>verdict</th><th>summary and evidence</th></tr>\n", run.duration_secs));
    for c in &run.checks {
        let css = match c.verdict {
            crate::matrix::CheckVerdict::Pass => "pass",
            crate::matrix::CheckVerdict::Fail => "fail",
            crate::matrix::CheckVerdict::NotApplicable => "na",
        };
        out.push_str(&format!(
            "<tr><td><code>{}</code></td><td class=\"{css}\">{}</td><td>{}",
            escape(&c.name),
            c.verdict.as_str(),
            escape(&c.summary)
        ));
        if !c.evidence.is_empty() {
            out.push_str(&format!(
                "<pre class=\"evidence\">{}</pre>",
                escape(&c.evidence.join("\n"))
            ));
        }
        out.push_str("</td></tr>\n");
    }
    out.push_str("</table>\n");
    out.push_str(&format!(
        "<h3>Sequence ({} requests to the mock, {} to the model API)</h3>\n<p class=\"note\">Lanes: {}. Model turns are placed after the MCP <code>tools/call</code> whose result they carry, or after the server's first authenticated <code>tools/list</code> when they offer its tools, else after the previous turn: the model API shares no clock with the mock, so their place among the MCP requests is inferred.</p>\n",
        run.access_log.len(),
        run.model_views.len(),
        super::sequence::LANES.join(" · ")
    ));
    out.push_str(&super::sequence::render(&run.access_log, &run.model_views));
    out.push('\n');
    if !run.model_views.is_empty() {
        out.push_str("<h3>The model's view per turn</h3>\n<table class=\"model\"><tr><th>#</th><th>kind</th><th>tools offered</th><th>told about auth</th><th>tool results</th><th>answer</th></tr>\n");
        for v in &run.model_views {
            let results: Vec<String> = v
                .tool_results
                .iter()
                .map(|t| {
                    format!(
                        "{}{}: {}",
                        t.tool_name.as_deref().unwrap_or("?"),
                        if t.is_error { " (error)" } else { "" },
                        t.text.chars().take(160).collect::<String>()
                    )
                })
                .collect();
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                v.seq,
                escape(&format!("{:?}", v.kind)),
                escape(&v.tools_offered.join(", ")),
                escape(&v.needs_auth_lines.join(" / ")),
                escape(&results.join(" / ")),
                escape(&v.answer.chars().take(200).collect::<String>())
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str(&format!(
        "<h3>Final terminal screen</h3>\n<pre class=\"screen\">{}</pre>\n",
        escape(&run.final_screen)
    ));
    if !run.commands.is_empty() {
        out.push_str(&format!(
            "<h3>To reproduce</h3>\n<pre class=\"evidence\">{}</pre>\n",
            escape(&run.commands.join("\n"))
        ));
    }
    if let Some(b) = &run.bundle {
        out.push_str(&format!(
            "<p>failure bundle: <code>{}</code></p>\n",
            escape(b)
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::tests::synthetic;

    #[test]
    fn the_grid_colours_each_verdict_and_links_its_detail() {
        let mut report = synthetic();
        let (log, views) = crate::reports::sequence::tests::sample();
        report.cells[1].runs[0].access_log = log;
        report.cells[1].runs[0].model_views = views;
        let html = render(&report);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<script"), "self-contained, no scripts");
        assert!(
            !html.contains("http://") || !html.contains("src=\"http"),
            "no external resources"
        );
        // The failing cell renders as failing, linked to its detail.
        assert!(html.contains("<td class=\"cell fail\" data-verdict=\"fail\" title=\"failed: reinitialized-after-session-loss\"><a href=\"#cell-2.1.81-session_lost\">FAIL</a></td>"), "{html}");
        assert!(html.contains("<td class=\"cell flaky\" data-verdict=\"flaky\""));
        assert!(html.contains("<td class=\"cell na\" data-verdict=\"na\""));
        assert_eq!(html.matches("data-verdict=\"pass\"").count(), 5);
        // Its detail: checks with evidence, the diagram, the model's view, the screen (escaped).
        let start = html
            .find("<section class=\"detail\" id=\"cell-2.1.81-session_lost\">")
            .expect("present in the synthetic report");
        let end = start
            + html[start..]
                .find("</section>")
                .expect("present in the synthetic report");
        let detail = &html[start..end];
        assert!(detail.contains("<td class=\"fail\">FAIL</td>"));
        assert!(detail.contains("summary &lt;&amp;&gt;"));
        assert!(detail.contains("<svg class=\"seq\""));
        assert!(detail.contains(">model API</text>"));
        assert!(detail.contains("The model's view per turn"));
        assert!(detail.contains("╭ screen &lt;b&gt;"));
        assert_eq!(
            html.matches("<section class=\"detail\"").count(),
            report.cells.len()
        );
    }

    #[test]
    fn new_failures_are_listed_above_the_grid() {
        let mut r = synthetic();
        let mut before = synthetic();
        before.cells[1].verdict = CellVerdict::Pass;
        r.comparison = Some(crate::matrix::compare(&r, &before, "prev.json"));
        let html = render(&r);
        let fail = html
            .find("class=\"newfail\"")
            .expect("present in the synthetic report");
        assert!(
            fail < html
                .find("<table class=\"grid\"")
                .expect("present in the synthetic report")
        );
    }
}
