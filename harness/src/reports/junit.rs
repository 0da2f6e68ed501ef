//! JUnit XML: one `<testsuite>` per version, one `<testcase>` per cell × check. A flaky cell's
//! checks that failed in some run are reported as failures with "flaky" in the message, so that
//! dashboards notice them; n/a checks are `<skipped>`.

use crate::matrix::{CellVerdict, CheckVerdict, MatrixReport};

use super::escape;

pub fn render(report: &MatrixReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let total: usize = report.cells.iter().map(case_count).sum();
    let failures: usize = report.cells.iter().map(failure_count).sum();
    out.push_str(&format!(
        "<testsuites name=\"mcp-reconnect-matrix\" tests=\"{total}\" failures=\"{failures}\" time=\"{:.3}\">\n",
        report.wall_secs
    ));
    for v in &report.versions {
        let cells: Vec<_> = report.cells.iter().filter(|c| &c.column() == v).collect();
        out.push_str(&format!(
            "  <testsuite name=\"claude-code {}\" tests=\"{}\" failures=\"{}\" skipped=\"{}\" time=\"{:.3}\">\n",
            escape(v),
            cells.iter().map(|c| case_count(c)).sum::<usize>(),
            cells.iter().map(|c| failure_count(c)).sum::<usize>(),
            cells.iter().map(|c| skipped_count(c)).sum::<usize>(),
            cells.iter().map(|c| c.mean_secs()).sum::<f64>()
        ));
        for cell in cells {
            let classname = escape(&format!("{}.{}", cell.column(), cell.scenario));
            let Some(shown) = cell.shown_run() else {
                continue;
            };
            for check in &shown.checks {
                // How this check went in every run.
                let verdicts: Vec<CheckVerdict> = cell
                    .runs
                    .iter()
                    .filter_map(|r| r.checks.iter().find(|c| c.name == check.name))
                    .map(|c| c.verdict)
                    .collect();
                out.push_str(&format!(
                    "    <testcase classname=\"{classname}\" name=\"{}\" time=\"{:.3}\">",
                    escape(&check.name),
                    cell.mean_secs()
                ));
                let failed = verdicts
                    .iter()
                    .filter(|v| **v == CheckVerdict::Fail)
                    .count();
                let body = escape(&check.evidence.join("\n"));
                if failed > 0 {
                    let kind = if cell.verdict == CellVerdict::Flaky {
                        format!("flaky: failed in {failed} of {} runs", cell.runs.len())
                    } else {
                        "failed".to_owned()
                    };
                    out.push_str(&format!(
                        "\n      <failure type=\"{}\" message=\"{}\">{body}</failure>\n    ",
                        if cell.verdict == CellVerdict::Flaky {
                            "flaky"
                        } else {
                            "fail"
                        },
                        escape(&format!("{kind}: {}", check.summary))
                    ));
                } else if check.verdict == CheckVerdict::NotApplicable {
                    out.push_str(&format!(
                        "<skipped message=\"{}\"/>",
                        escape(&format!("not applicable: {}", check.summary))
                    ));
                } else {
                    out.push_str(&format!("<system-out>{body}</system-out>"));
                }
                out.push_str("</testcase>\n");
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

fn case_count(c: &crate::matrix::Cell) -> usize {
    c.shown_run().map(|r| r.checks.len()).unwrap_or(0)
}

fn failure_count(c: &crate::matrix::Cell) -> usize {
    c.shown_run()
        .map(|r| {
            r.checks
                .iter()
                .filter(|ch| {
                    c.runs.iter().any(|run| {
                        run.checks
                            .iter()
                            .any(|x| x.name == ch.name && x.verdict == CheckVerdict::Fail)
                    })
                })
                .count()
        })
        .unwrap_or(0)
}

fn skipped_count(c: &crate::matrix::Cell) -> usize {
    c.shown_run()
        .map(|r| {
            r.checks
                .iter()
                .filter(|ch| ch.verdict == CheckVerdict::NotApplicable)
                .count()
        })
        .unwrap_or(0)
}

/// A small well-formedness check (tests): tags nest and close, attributes are quoted, entities
/// are the predefined ones. Returns the element names in document order.
pub fn well_formed(xml: &str) -> Result<Vec<String>, String> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
        .ok_or("no XML declaration")?;
    let mut stack: Vec<String> = Vec::new();
    let mut names = Vec::new();
    let mut rest = body;
    let mut roots = 0;
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open])?;
        if stack.is_empty() && !rest[..open].trim().is_empty() {
            return Err("text outside the root element".into());
        }
        let close = rest[open..].find('>').ok_or("unclosed tag")? + open;
        let tag = &rest[open + 1..close];
        if let Some(name) = tag.strip_prefix('/') {
            let top = stack.pop().ok_or("closing tag without an opening one")?;
            if top != name.trim() {
                return Err(format!("</{name}> closes <{top}>"));
            }
        } else {
            let self_closing = tag.ends_with('/');
            let tag = tag.trim_end_matches('/');
            let name = tag.split_whitespace().next().ok_or("empty tag")?;
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
            {
                return Err(format!("bad element name `{name}`"));
            }
            check_attributes(&tag[name.len()..])?;
            if stack.is_empty() {
                roots += 1;
            }
            names.push(name.to_owned());
            if !self_closing {
                stack.push(name.to_owned());
            }
        }
        rest = &rest[close + 1..];
    }
    check_text(rest)?;
    if !stack.is_empty() {
        return Err(format!("unclosed elements: {stack:?}"));
    }
    if roots != 1 {
        return Err(format!("{roots} root elements"));
    }
    Ok(names)
}

fn check_text(text: &str) -> Result<(), String> {
    if text.contains('>') {
        return Err("a raw `>` in text".into());
    }
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        let end = rest[amp..].find(';').ok_or("an unterminated entity")? + amp;
        let entity = &rest[amp + 1..end];
        if !matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos" | "#39") {
            return Err(format!("unknown entity &{entity};"));
        }
        rest = &rest[end + 1..];
    }
    if text
        .chars()
        .any(|c| (c as u32) < 0x20 && !"\n\r\t".contains(c))
    {
        return Err("a control character".into());
    }
    Ok(())
}

fn check_attributes(text: &str) -> Result<(), String> {
    let mut rest = text.trim();
    while !rest.is_empty() {
        let eq = rest.find('=').ok_or("an attribute without a value")?;
        let value = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("an unquoted attribute")?;
        let end = value.find('"').ok_or("an unterminated attribute")?;
        if value[..end].contains('<') {
            return Err("`<` in an attribute".into());
        }
        check_text(&value[..end])?;
        rest = value[end + 1..].trim_start();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::tests::synthetic;

    #[test]
    fn junit_is_well_formed_and_fails_the_failing_cell() {
        let xml = render(&synthetic());
        let names = well_formed(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
        assert_eq!(names[0], "testsuites");
        assert_eq!(names.iter().filter(|n| *n == "testsuite").count(), 2);
        let case = xml
            .lines()
            .find(|l| {
                l.contains("classname=\"2.1.81.session_lost\"")
                    && l.contains("reinitialized-after-session-loss")
            })
            .expect("present in the synthetic report");
        assert!(case.ends_with("time=\"12.500\">"), "{case}");
        assert!(xml.contains("<failure type=\"fail\" message=\"failed: reinitialized-after-session-loss summary &lt;&amp;&gt;\">"));
        assert!(xml.contains("<failure type=\"flaky\""));
        assert!(xml.contains("<skipped message=\"not applicable: http-transport summary"));
        assert!(xml.contains("tests=\"10\" failures=\"2\""), "{xml}");
        // The passing version has no failures.
        assert!(xml.contains("<testsuite name=\"claude-code 2.1.331\" tests=\"4\" failures=\"0\""));
    }

    #[test]
    fn the_checker_rejects_what_is_not_xml() {
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a><b></a>").is_err());
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a x=1/>").is_err());
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>&nbsp;</a>").is_err());
        assert!(well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/><b/>").is_err());
        assert!(
            well_formed("<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>x<b y=\"1\"/></a>").is_ok()
        );
    }
}
