//! The suite's SERVER and AUTHORIZATION-SERVER scenarios against the mock binary: one mock
//! process per (revision, profile, era), started on port 0 with `--no-auth` (the suite cannot
//! send a bearer token), the suite's `server --url … --spec-version … -o …` against it, each
//! scenario's `checks.json` read back, and a table scenario × revision × profile.
//!
//! What "applies" means is decided from positive evidence, never from a list of scenarios made to
//! go green (see [`applicability`]):
//! - the suite itself lists the scenario for the revision (`list --server`);
//! - the capability the scenario exercises is declared by the running server (asked over MCP
//!   before the suite runs: `initialize` or `server/discover`);
//! - the fixture the scenario calls (`test_simple_text`, `test://static-text`, …) is listed by
//!   the running server (`tools/list`, `prompts/list`, `resources/list`, templates);
//! - an extension scenario applies when the server declares that extension.
//!
//! Everything else that the suite runs is judged from its checks: any FAILURE fails the cell, a
//! WARNING (a SHOULD) warns, and a scenario with no checks.json (a hang stopped at the deadline,
//! a crash) fails with what happened.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::{json, Value};

/// One check of a scenario, as the suite writes it in `checks.json`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Check {
    pub id: String,
    pub status: String,
    #[serde(default, rename = "errorMessage")]
    pub error_message: Option<String>,
}

/// What one scenario came to on one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "kebab-case")]
pub enum Verdict {
    Pass,
    /// Only SHOULD-level findings (the suite's WARNING).
    Warning(String),
    Fail(String),
    /// Not applicable, with the evidence.
    NotApplicable(String),
}

impl Verdict {
    pub fn short(&self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Warning(_) => "warn",
            Verdict::Fail(_) => "FAIL",
            Verdict::NotApplicable(_) => "n/a",
        }
    }
    fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Pass => None,
            Verdict::Warning(r) | Verdict::Fail(r) | Verdict::NotApplicable(r) => Some(r),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConformanceError {
    #[error("cannot install the conformance suite: {0}; check the network to the npm registry and HARNESS_CACHE_DIR, or set MCP_CONFORMANCE_VERSION to a published version")]
    Install(String),
    #[error("mock-server binary {0} not found: build it first (`cargo build -p mock-server --bin mock-server`) or pass --mock-binary")]
    NoMockBinary(PathBuf),
    #[error("mock-server did not start ({0}); run it by hand with the same flags to see why")]
    MockStart(String),
    #[error("cannot run the suite: {0}")]
    Suite(String),
    #[error("{path}: {message}")]
    Checks { path: String, message: String },
}

/// Reads one scenario's `checks.json`.
pub fn read_checks(path: &Path) -> Result<Vec<Check>, ConformanceError> {
    let err = |message: String| ConformanceError::Checks {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    serde_json::from_str(&text).map_err(|e| err(format!("not a list of checks: {e}")))
}

/// The suite marks some checks of a scenario it otherwise judges "Not testable: server does not
/// list the diagnostic tool 'X' in tools/list" (`server-stateless`'s probes of optional
/// behaviour). Such a check is left out of the verdict only when the server's own tools/list
/// (asked by [`probe`]) confirms that X is not listed; a server that lists X and still gets
/// the message fails.
pub fn without_untestable(checks: Vec<Check>, declared: &Declared) -> (Vec<Check>, Vec<String>) {
    const MARK: &str = "does not list the diagnostic tool '";
    let mut left_out = Vec::new();
    let kept = checks
        .into_iter()
        .filter(|c| {
            let tool = c
                .error_message
                .as_deref()
                .and_then(|m| m.split(MARK).nth(1))
                .and_then(|rest| rest.split('\'').next());
            match tool {
                Some(tool)
                    if c.status == "FAILURE" && !declared.tools.iter().any(|t| t == tool) =>
                {
                    left_out.push(format!("{} (no tool {tool})", c.id));
                    false
                }
                _ => true,
            }
        })
        .collect();
    (kept, left_out)
}

/// The verdict the checks of a scenario that applies give: FAILURE anywhere fails; WARNING
/// warns; a scenario whose checks are all SKIPPED or INFO judged nothing, which is a failure
/// too (nothing passed).
pub fn judge(checks: &[Check]) -> Verdict {
    let summary = |status: &str| -> Vec<String> {
        checks
            .iter()
            .filter(|c| c.status == status)
            .map(|c| match &c.error_message {
                Some(m) => format!("{}: {}", c.id, first_line(m, 160)),
                None => c.id.clone(),
            })
            .collect()
    };
    let failures = summary("FAILURE");
    if !failures.is_empty() {
        return Verdict::Fail(failures.join("; "));
    }
    let warnings = summary("WARNING");
    if !warnings.is_empty() {
        return Verdict::Warning(warnings.join("; "));
    }
    if !checks.iter().any(|c| c.status == "SUCCESS") {
        return Verdict::Fail(format!(
            "no check passed ({} checks, none SUCCESS)",
            checks.len()
        ));
    }
    Verdict::Pass
}

fn first_line(text: &str, max: usize) -> String {
    let line = text.lines().next().unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_owned()
    }
}

/// What the running server declares, asked over MCP before the suite runs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Declared {
    /// `None` when the server does not speak the revision at all (its answer says which).
    pub refused: Option<String>,
    pub capabilities: Value,
    pub tools: Vec<String>,
    pub prompts: Vec<String>,
    pub resources: Vec<String>,
    pub templates: Vec<String>,
}

/// What a scenario needs from a server before it can be judged there.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Needs {
    pub capability: Option<&'static str>,
    /// A sub-capability, e.g. `resources.subscribe`.
    pub sub_capability: Option<(&'static str, &'static str)>,
    pub tools: &'static [&'static str],
    pub prompts: &'static [&'static str],
    pub resources: &'static [&'static str],
    pub templates: &'static [&'static str],
    pub extension: Option<&'static str>,
    /// Capabilities beyond [`Needs::capability`] that the scenario's requests belong to.
    pub also: &'static [&'static str],
}

/// What each scenario of suite 0.2.0-alpha.12 exercises (read from its dist/index.js: the
/// capability its requests belong to, the fixture names it calls). A scenario missing here needs
/// nothing beyond the revision, so it is always judged.
pub fn needs(scenario: &str) -> Needs {
    let tool = |tools: &'static [&'static str]| Needs {
        capability: Some("tools"),
        tools,
        ..Needs::default()
    };
    let prompt = |prompts: &'static [&'static str]| Needs {
        capability: Some("prompts"),
        prompts,
        ..Needs::default()
    };
    let resource = |resources: &'static [&'static str]| Needs {
        capability: Some("resources"),
        resources,
        ..Needs::default()
    };
    match scenario {
        "logging-set-level" => Needs {
            capability: Some("logging"),
            ..Needs::default()
        },
        "completion-complete" => Needs {
            capability: Some("completions"),
            prompts: &["test_prompt_with_arguments"],
            ..Needs::default()
        },
        "tools-list" => tool(&[]),
        // It asks for the caching hints on tools/list, prompts/list, resources/list,
        // resources/templates/list and resources/read alike.
        "caching" => Needs {
            capability: Some("tools"),
            also: &["prompts", "resources"],
            ..Needs::default()
        },
        "tools-call-simple-text" => tool(&["test_simple_text"]),
        "tools-call-image" => tool(&["test_image_content"]),
        "tools-call-audio" => tool(&["test_audio_content"]),
        "tools-call-embedded-resource" => tool(&["test_embedded_resource"]),
        "tools-call-mixed-content" => tool(&["test_multiple_content_types"]),
        "tools-call-with-logging" => Needs {
            capability: Some("logging"),
            tools: &["test_tool_with_logging"],
            ..Needs::default()
        },
        "tools-call-error" => tool(&["test_error_handling"]),
        "tools-call-with-progress" => tool(&["test_tool_with_progress"]),
        "tools-call-sampling" => tool(&["test_sampling"]),
        "tools-call-elicitation" => tool(&["test_elicitation"]),
        "json-schema-2020-12" => tool(&["json_schema_2020_12_tool"]),
        "elicitation-sep1034-defaults" => tool(&["test_elicitation_sep1034_defaults"]),
        "elicitation-sep1330-enums" => tool(&["test_elicitation_sep1330_enums"]),
        "server-sse-polling" => tool(&["test_reconnection"]),
        "resources-list" | "sep-2164-resource-not-found" => resource(&[]),
        "resources-read-text" => resource(&["test://static-text"]),
        "resources-read-binary" => resource(&["test://static-binary"]),
        "resources-templates-read" => Needs {
            capability: Some("resources"),
            templates: &["test://template/{id}/data"],
            ..Needs::default()
        },
        "resources-subscribe" | "resources-unsubscribe" => Needs {
            capability: Some("resources"),
            sub_capability: Some(("resources", "subscribe")),
            resources: &["test://watched-resource"],
            ..Needs::default()
        },
        "prompts-list" => prompt(&[]),
        "prompts-get-simple" => prompt(&["test_simple_prompt"]),
        "prompts-get-with-args" => prompt(&["test_prompt_with_arguments"]),
        "prompts-get-embedded-resource" => prompt(&["test_prompt_with_embedded_resource"]),
        "prompts-get-with-image" => prompt(&["test_prompt_with_image"]),
        "http-custom-header-server-validation" => tool(&["test_complete"]),
        "input-required-result-basic-elicitation"
        | "input-required-result-missing-input-response"
        | "input-required-result-result-type"
        | "input-required-result-ignore-extra-params"
        | "input-required-result-validate-input" => {
            tool(&["test_input_required_result_elicitation"])
        }
        "input-required-result-basic-sampling" => tool(&["test_input_required_result_sampling"]),
        "input-required-result-basic-list-roots" => {
            tool(&["test_input_required_result_list_roots"])
        }
        "input-required-result-request-state" => {
            tool(&["test_input_required_result_request_state"])
        }
        "input-required-result-multiple-input-requests" => {
            tool(&["test_input_required_result_multiple_inputs"])
        }
        "input-required-result-multi-round" => tool(&["test_input_required_result_multi_round"]),
        "input-required-result-non-tool-request" => Needs {
            capability: Some("prompts"),
            prompts: &["test_input_required_result_prompt"],
            ..Needs::default()
        },
        "input-required-result-tampered-state" => {
            tool(&["test_input_required_result_tampered_state"])
        }
        "input-required-result-capability-check" => {
            tool(&["test_input_required_result_capabilities"])
        }
        // Multi-round-trip requests are answered by tools that return `input_required`; a server
        // with none of the suite's MRTR tools has nothing the scenario can call.
        "input-required-result-unsupported-methods" => {
            tool(&["test_input_required_result_elicitation"])
        }
        s if s.starts_with("tasks-") => Needs {
            extension: Some("io.modelcontextprotocol/tasks"),
            ..Needs::default()
        },
        s if s.starts_with("sep-2640-skills-") => Needs {
            extension: Some("io.modelcontextprotocol/skills"),
            ..Needs::default()
        },
        _ => Needs::default(),
    }
}

/// Whether a scenario applies to a server, from what it declares; `Err` says why not.
pub fn applicability(scenario: &str, declared: &Declared) -> Result<(), String> {
    if let Some(refused) = &declared.refused {
        return Err(refused.clone());
    }
    let needs = needs(scenario);
    let caps = &declared.capabilities;
    if let Some(extension) = needs.extension {
        let declared_ext = caps
            .get("extensions")
            .and_then(|e| e.get(extension))
            .is_some();
        if !declared_ext {
            return Err(format!(
                "the server declares no {extension} extension (capabilities.extensions)"
            ));
        }
    }
    for capability in needs.capability.iter().chain(needs.also) {
        if caps.get(*capability).is_none() {
            return Err(format!("the server declares no `{capability}` capability"));
        }
    }
    if let Some((capability, sub)) = needs.sub_capability {
        if caps.pointer(&format!("/{capability}/{sub}")) != Some(&Value::Bool(true)) {
            return Err(format!("the server does not declare {capability}.{sub}"));
        }
    }
    let missing = |kind: &str, wanted: &[&str], listed: &[String]| -> Result<(), String> {
        match wanted.iter().find(|w| !listed.iter().any(|l| l == *w)) {
            Some(w) => Err(format!("the server lists no {kind} {w}")),
            None => Ok(()),
        }
    };
    missing("tool", needs.tools, &declared.tools)?;
    missing("prompt", needs.prompts, &declared.prompts)?;
    missing("resource", needs.resources, &declared.resources)?;
    missing("resource template", needs.templates, &declared.templates)?;
    Ok(())
}

/// One mock server the suite runs against: a profile, and which revisions it offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Era {
    /// Legacy and 2026-07-28 revisions on one endpoint.
    DualEra,
    /// 2026-07-28 only.
    Stateless,
}

impl Era {
    fn name(self) -> &'static str {
        match self {
            Era::DualEra => "dual-era",
            Era::Stateless => "stateless",
        }
    }
    fn revisions(self) -> &'static str {
        match self {
            Era::DualEra => "2026-07-28,2025-11-25,2025-06-18,2025-03-26",
            Era::Stateless => "2026-07-28",
        }
    }
}

/// A column of the table.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Target {
    pub revision: String,
    pub profile: String,
    pub era: Era,
}

impl Target {
    pub fn label(&self) -> String {
        format!("{} {} {}", self.revision, self.profile, self.era.name())
    }
}

/// The runs `make conformance-server` makes: every profile at 2025-06-18 and 2025-11-25 on a
/// dual-era server, and at 2026-07-28 on both a dual-era and a stateless one.
pub fn default_targets(profiles: &[String]) -> Vec<Target> {
    let mut targets = Vec::new();
    for (revision, era) in [
        ("2025-06-18", Era::DualEra),
        ("2025-11-25", Era::DualEra),
        ("2026-07-28", Era::DualEra),
        ("2026-07-28", Era::Stateless),
    ] {
        for profile in profiles {
            targets.push(Target {
                revision: revision.to_owned(),
                profile: profile.clone(),
                era,
            });
        }
    }
    targets
}

/// Everything a run found: per scenario, per target.
#[derive(Debug, Default, Serialize)]
pub struct Results {
    pub suite_version: String,
    pub targets: Vec<Target>,
    /// scenario → target label → verdict.
    pub cells: BTreeMap<String, BTreeMap<String, Verdict>>,
}

impl Results {
    pub fn record(&mut self, scenario: &str, target: &str, verdict: Verdict) {
        self.cells
            .entry(scenario.to_owned())
            .or_default()
            .insert(target.to_owned(), verdict);
    }

    /// Whether any applicable scenario failed.
    pub fn failed(&self) -> bool {
        self.cells
            .values()
            .flat_map(BTreeMap::values)
            .any(|v| matches!(v, Verdict::Fail(_)))
    }

    /// The table as Markdown: a row per scenario, a column per target; `-` where the suite has
    /// no such scenario at the target's revision. Then each failure and warning with its reason,
    /// and the n/a reasons grouped.
    pub fn markdown(&self) -> String {
        let labels: Vec<String> = self.targets.iter().map(Target::label).collect();
        let mut out = String::new();
        out.push_str("| scenario |");
        for label in &labels {
            out.push_str(&format!(" {label} |"));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(labels.len()));
        out.push('\n');
        let mut notes: Vec<String> = Vec::new();
        let mut not_applicable: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (scenario, row) in &self.cells {
            out.push_str(&format!("| {scenario} |"));
            for label in &labels {
                let cell = row.get(label).map(Verdict::short).unwrap_or("-");
                out.push_str(&format!(" {cell} |"));
                match row.get(label) {
                    Some(v @ (Verdict::Fail(_) | Verdict::Warning(_))) => notes.push(format!(
                        "- {} {scenario} @ {label}: {}",
                        v.short(),
                        v.reason().unwrap_or("")
                    )),
                    Some(Verdict::NotApplicable(reason)) => not_applicable
                        .entry(reason.clone())
                        .or_default()
                        .push(format!("{scenario} @ {label}")),
                    _ => {}
                }
            }
            out.push('\n');
        }
        if !notes.is_empty() {
            out.push_str("\nFailures and warnings:\n");
            for note in notes {
                out.push_str(&note);
                out.push('\n');
            }
        }
        if !not_applicable.is_empty() {
            out.push_str("\nNot applicable, and the evidence:\n");
            for (reason, cells) in not_applicable {
                out.push_str(&format!("- {reason}: {} cells\n", cells.len()));
            }
        }
        let count = |f: fn(&Verdict) -> bool| {
            self.cells
                .values()
                .flat_map(BTreeMap::values)
                .filter(|v| f(v))
                .count()
        };
        out.push_str(&format!(
            "\n{} passed, {} failed, {} warnings, {} not applicable\n",
            count(|v| *v == Verdict::Pass),
            count(|v| matches!(v, Verdict::Fail(_))),
            count(|v| matches!(v, Verdict::Warning(_))),
            count(|v| matches!(v, Verdict::NotApplicable(_))),
        ));
        out
    }
}

/// The suite's `list --server` (or `--authorization`) output: scenario → revisions it names
/// (`extension` for extension scenarios).
pub fn parse_list(text: &str) -> Vec<(String, Vec<String>)> {
    text.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("- ")?;
            let (name, revisions) = match rest.split_once(" [") {
                Some((name, revs)) => (
                    name,
                    revs.trim_end_matches(']')
                        .split(',')
                        .map(|r| r.trim().to_owned())
                        .collect(),
                ),
                None => (rest, Vec::new()),
            };
            Some((name.trim().to_owned(), revisions))
        })
        .collect()
}

/// A child process ended by its pid when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A mock-server process on port 0.
pub struct MockProcess {
    child: Reaped,
    pub mcp_url: String,
    pub issuer: String,
}

impl MockProcess {
    /// Starts the binary with `args` and waits (bounded) for its `ready` line.
    pub fn start(binary: &Path, args: &[String]) -> Result<MockProcess, ConformanceError> {
        if !binary.is_file() {
            return Err(ConformanceError::NoMockBinary(binary.to_owned()));
        }
        let mut child = Command::new(binary)
            .args(["--port", "0"])
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ConformanceError::MockStart(format!("{}: {e}", binary.display())))?;
        let stdout = child.stdout.take();
        let child = Reaped(child);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(20);
        let (mut mcp_url, mut issuer) = (None, None);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line == "ready" => break,
                Ok(line) => {
                    if let Some(url) = line.strip_prefix("mock-server: MCP endpoint ") {
                        mcp_url = Some(url.trim().to_owned());
                    }
                    if let Some(url) = line.strip_prefix("mock-server: authorization server ") {
                        issuer = Some(url.trim().to_owned());
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    return Err(ConformanceError::MockStart(format!(
                        "no `ready` within 20 s with {}",
                        args.join(" ")
                    )))
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(ConformanceError::MockStart(format!(
                        "it exited before `ready` with {}",
                        args.join(" ")
                    )))
                }
            }
        }
        match (mcp_url, issuer) {
            (Some(mcp_url), Some(issuer)) => Ok(MockProcess {
                child,
                mcp_url,
                issuer,
            }),
            _ => Err(ConformanceError::MockStart(
                "its banner named no MCP endpoint or issuer".to_owned(),
            )),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.0.id()
    }
}

/// Asks the running server what it declares at `revision`, as a client of that revision would.
pub fn probe(mcp_url: &str, revision: &str) -> Result<Declared, String> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let modern = revision == "2026-07-28";
    let mut session: Option<String> = None;
    let mut next_id = 0;
    let mut call = |method: &str, params: Value| -> Result<(u16, Value), String> {
        next_id += 1;
        let mut params = params;
        if modern {
            params["_meta"] = json!({
                "io.modelcontextprotocol/protocolVersion": revision,
                "io.modelcontextprotocol/clientCapabilities": {},
            });
        }
        let mut request = http
            .post(mcp_url)
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .json(&json!({"jsonrpc": "2.0", "id": next_id, "method": method, "params": params}));
        if modern {
            request = request
                .header("mcp-protocol-version", revision)
                .header("mcp-method", method);
        } else if method != "initialize" {
            request = request.header("mcp-protocol-version", revision);
        }
        if let Some(id) = &session {
            request = request.header("mcp-session-id", id);
        }
        let response = request.send().map_err(|e| format!("{method}: {e}"))?;
        let status = response.status().as_u16();
        if let Some(id) = response.headers().get("mcp-session-id") {
            session = id.to_str().ok().map(str::to_owned);
        }
        let body: Value = response
            .json()
            .map_err(|e| format!("{method}: HTTP {status}, not JSON: {e}"))?;
        Ok((status, body))
    };
    let mut declared = Declared::default();
    let (status, body) = if modern {
        call("server/discover", json!({}))?
    } else {
        call(
            "initialize",
            json!({"protocolVersion": revision, "capabilities": {},
                   "clientInfo": {"name": "harness-conformance-probe", "version": "0"}}),
        )?
    };
    let result = body.get("result");
    let speaks = match result {
        Some(r) if modern => r
            .get("supportedVersions")
            .and_then(Value::as_array)
            .is_some_and(|v| v.iter().any(|v| v == revision)),
        Some(r) => r.get("protocolVersion").and_then(Value::as_str) == Some(revision),
        None => false,
    };
    if !speaks {
        declared.refused = Some(format!(
            "the server does not speak {revision} (HTTP {status}: {})",
            first_line(&body.to_string(), 160)
        ));
        return Ok(declared);
    }
    declared.capabilities = result
        .and_then(|r| r.get("capabilities"))
        .cloned()
        .unwrap_or(Value::Null);
    if !modern {
        call("notifications/initialized", json!({})).ok();
    }
    // A list the server declares but does not answer is no evidence of absence: the probe
    // fails, and so does every scenario of the target (never n/a from a failed question).
    let mut list = |method: &str, key: &str, field: &str| -> Result<Vec<String>, String> {
        let (status, body) = call(method, json!({}))?;
        body.pointer(&format!("/result/{key}"))
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|i| i.get(field).and_then(Value::as_str).map(str::to_owned))
                    .collect()
            })
            .ok_or_else(|| {
                format!(
                    "{method}: HTTP {status}, no {key} list: {}",
                    first_line(&body.to_string(), 160)
                )
            })
    };
    let caps = declared.capabilities.clone();
    if caps.get("tools").is_some() {
        declared.tools = list("tools/list", "tools", "name")?;
    }
    if caps.get("prompts").is_some() {
        declared.prompts = list("prompts/list", "prompts", "name")?;
    }
    if caps.get("resources").is_some() {
        declared.resources = list("resources/list", "resources", "uri")?;
        declared.templates = list(
            "resources/templates/list",
            "resourceTemplates",
            "uriTemplate",
        )?;
    }
    Ok(declared)
}

/// Runs the suite (`program` + `pre_args` + `args`), stopping it at `deadline`; whether it
/// finished in time.
pub fn run_bounded(
    program: &Path,
    pre_args: &[String],
    args: &[String],
    deadline: Duration,
    log: &Path,
) -> Result<bool, ConformanceError> {
    let log_file = std::fs::File::create(log)
        .map_err(|e| ConformanceError::Suite(format!("{}: {e}", log.display())))?;
    let err_file = log_file
        .try_clone()
        .map_err(|e| ConformanceError::Suite(e.to_string()))?;
    let child = Command::new(program)
        .args(pre_args)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log_file)
        .stderr(err_file)
        .spawn()
        .map_err(|e| ConformanceError::Suite(format!("{}: {e}", program.display())))?;
    let mut child = Reaped(child);
    let start = Instant::now();
    loop {
        if let Ok(Some(_)) = child.0.try_wait() {
            return Ok(true);
        }
        if start.elapsed() >= deadline {
            // Dropping `child` kills it by pid.
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Where the suite wrote scenario `name`'s checks under `dir` (`server-<name>-<timestamp>/`).
pub fn find_checks(dir: &Path, prefix: &str, name: &str) -> Option<PathBuf> {
    let wanted = format!("{prefix}{name}-");
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name().to_str().is_some_and(|n| {
                // The timestamp starts with the year: `server-tools-list-2026-…` must not match
                // `server-tools-list-changed-…`.
                n.strip_prefix(&wanted)
                    .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
            })
        })
        .map(|e| e.path().join("checks.json"))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// How a whole server-side run is made.
#[derive(Debug, Clone)]
pub struct Options {
    pub mock_binary: PathBuf,
    pub out: PathBuf,
    pub targets: Vec<Target>,
    /// The bound on one suite run against one target; scenarios it left without results are
    /// then run one at a time, each with [`Options::scenario_deadline`].
    pub run_deadline: Duration,
    pub scenario_deadline: Duration,
    /// Also the authorization-server scenarios, for each of these registration modes.
    pub registrations: Vec<String>,
}

/// The suite's program and arguments before its own (the script, run with node).
pub struct Suite {
    pub program: PathBuf,
    pub pre_args: Vec<String>,
    pub version: String,
}

impl Suite {
    /// The pinned suite from the harness's store (installed when missing).
    pub fn ensure() -> Result<Suite, ConformanceError> {
        let installed =
            super::suite::ensure().map_err(|e| ConformanceError::Install(e.to_string()))?;
        Ok(Suite {
            program: installed.program.clone(),
            pre_args: installed.pre_args.clone(),
            version: installed.version.clone(),
        })
    }

    fn list(&self, kind: &str) -> Result<Vec<(String, Vec<String>)>, ConformanceError> {
        let output = Command::new(&self.program)
            .args(&self.pre_args)
            .args(["list", kind])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| ConformanceError::Suite(format!("list {kind}: {e}")))?;
        if !output.status.success() {
            return Err(ConformanceError::Suite(format!(
                "list {kind} exited {}: {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        Ok(parse_list(&String::from_utf8_lossy(&output.stdout)))
    }
}

/// Whether the suite runs `revisions` (its list) at `revision`: named there, or an extension
/// (which the suite runs at any revision). The suite's `--spec-version` is cumulative for
/// dates, but each scenario names exactly the revisions it belongs to.
fn listed_at(revisions: &[String], revision: &str) -> bool {
    revisions.iter().any(|r| r == revision || r == "extension")
}

fn mock_args(target: &Target) -> Vec<String> {
    vec![
        "--no-auth".to_owned(),
        "--profile".to_owned(),
        target.profile.clone(),
        "--revisions".to_owned(),
        target.era.revisions().to_owned(),
    ]
}

/// Runs every target; a target whose mock does not start fails each of its scenarios with the
/// reason, and the other targets go on.
pub fn run_server(suite: &Suite, options: &Options) -> Result<Results, ConformanceError> {
    let scenarios = suite.list("--server")?;
    let mut results = Results {
        suite_version: suite.version.clone(),
        targets: options.targets.clone(),
        ..Results::default()
    };
    for target in &options.targets {
        let label = target.label();
        let at: Vec<&String> = scenarios
            .iter()
            .filter(|(_, revs)| listed_at(revs, &target.revision))
            .map(|(name, _)| name)
            .collect();
        eprintln!("conformance: {label}: {} scenarios", at.len());
        let fail_all = |results: &mut Results, why: String| {
            for name in &at {
                results.record(name, &label, Verdict::Fail(why.clone()));
            }
        };
        let mock = match MockProcess::start(&options.mock_binary, &mock_args(target)) {
            Ok(mock) => mock,
            Err(e) => {
                fail_all(&mut results, e.to_string());
                continue;
            }
        };
        let declared = match probe(&mock.mcp_url, &target.revision) {
            Ok(declared) => declared,
            Err(e) => {
                fail_all(
                    &mut results,
                    format!("cannot ask the server what it declares: {e}"),
                );
                continue;
            }
        };
        let dir = options.out.join(label.replace(' ', "_"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| ConformanceError::Suite(format!("{}: {e}", dir.display())))?;
        let args = |scenario: Option<&str>| -> Vec<String> {
            let mut args = vec![
                "server".to_owned(),
                "--url".to_owned(),
                mock.mcp_url.clone(),
                "--spec-version".to_owned(),
                target.revision.clone(),
                "-o".to_owned(),
                dir.display().to_string(),
                "--timeout".to_owned(),
                "30000".to_owned(),
            ];
            match scenario {
                Some(s) => args.extend(["--scenario".to_owned(), s.to_owned()]),
                None => args.extend(["--suite".to_owned(), "all".to_owned()]),
            }
            args
        };
        let finished = run_bounded(
            &suite.program,
            &suite.pre_args,
            &args(None),
            options.run_deadline,
            &dir.join("suite.log"),
        )?;
        if !finished {
            eprintln!(
                "conformance: {label}: the suite run was stopped after {} s; running what it left one scenario at a time",
                options.run_deadline.as_secs()
            );
        }
        for name in at {
            if let Err(why) = applicability(name, &declared) {
                results.record(name, &label, Verdict::NotApplicable(why));
                continue;
            }
            let mut checks = find_checks(&dir, "server-", name);
            let mut stopped = false;
            if checks.is_none() {
                let log = dir.join(format!("{name}.log"));
                stopped = !run_bounded(
                    &suite.program,
                    &suite.pre_args,
                    &args(Some(name)),
                    options.scenario_deadline,
                    &log,
                )?;
                checks = find_checks(&dir, "server-", name);
            }
            let verdict = match checks {
                Some(path) => match read_checks(&path) {
                    Ok(checks) => {
                        let (checks, left_out) = without_untestable(checks, &declared);
                        if !left_out.is_empty() {
                            eprintln!(
                                "conformance: {label}: {name}: not applicable checks: {}",
                                left_out.join(", ")
                            );
                        }
                        judge(&checks)
                    }
                    Err(e) => Verdict::Fail(e.to_string()),
                },
                None if stopped => Verdict::Fail(format!(
                    "no result: the scenario did not finish within {} s (stopped; its log is in {})",
                    options.scenario_deadline.as_secs(),
                    dir.display()
                )),
                None => Verdict::Fail(format!(
                    "no checks.json: the suite ended without a result for it (log in {})",
                    dir.display()
                )),
            };
            results.record(name, &label, verdict);
        }
        drop(mock);
    }
    Ok(results)
}

/// The client ID the suite's authorization-code grant uses with each registration mode: a
/// dynamically registered one (registered here, with the suite's callback), the mock's
/// pre-registered client, or a client ID metadata document URL of the mock's own.
fn client_id_for(registration: &str, mock: &MockProcess, callback: &str) -> Result<String, String> {
    match registration {
        "pre-registered" => Ok("harness-pre-registered-client".to_owned()),
        "client-id-metadata" => {
            let issuer = url::Url::parse(&mock.issuer).map_err(|e| e.to_string())?;
            Ok(format!(
                "https://{}:{}/clients/mcp-conformance",
                issuer.host_str().unwrap_or("127.0.0.1"),
                issuer.port_or_known_default().unwrap_or(443)
            ))
        }
        _ => {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| e.to_string())?;
            let metadata: Value = http
                .get(format!(
                    "{}/.well-known/oauth-authorization-server",
                    mock.issuer
                ))
                .send()
                .and_then(|r| r.json())
                .map_err(|e| format!("authorization server metadata: {e}"))?;
            let endpoint = metadata["registration_endpoint"]
                .as_str()
                .ok_or("the metadata names no registration_endpoint")?;
            let registered: Value = http
                .post(endpoint)
                .json(&json!({
                    "client_name": "mcp-conformance",
                    "redirect_uris": [callback],
                    "token_endpoint_auth_method": "none",
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                }))
                .send()
                .and_then(|r| r.json())
                .map_err(|e| format!("registration: {e}"))?;
            registered["client_id"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| format!("registration answered no client_id: {registered}"))
        }
    }
}

/// What a person does with the URL the suite prints: open it, approve on the mock's consent
/// page, and follow the redirect to the suite's callback.
fn approve_in_browser(authorization_url: &str) -> Result<(), String> {
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let page = http
        .get(authorization_url)
        .send()
        .map_err(|e| format!("authorization page: {e}"))?;
    let location = if page.status().is_redirection() {
        // An error redirect (or an auto-approving server): straight to the callback.
        page.headers().get("location").cloned()
    } else {
        let html = page.text().map_err(|e| e.to_string())?;
        let request_id = html
            .split("name=\"request_id\" value=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .ok_or("no request_id on the consent page")?
            .to_owned();
        let consent = url::Url::parse(authorization_url)
            .and_then(|u| u.join("/oauth/consent"))
            .map_err(|e| e.to_string())?;
        let answer = http
            .post(consent.as_str())
            .form(&[("request_id", request_id.as_str()), ("decision", "approve")])
            .send()
            .map_err(|e| format!("consent: {e}"))?;
        answer.headers().get("location").cloned()
    };
    let location = location
        .and_then(|l| l.to_str().ok().map(str::to_owned))
        .ok_or("no redirect after consent")?;
    http.get(&location)
        .send()
        .map_err(|e| format!("callback {location}: {e}"))?;
    Ok(())
}

fn free_port() -> Result<u16, ConformanceError> {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| ConformanceError::Suite(format!("no free loopback port: {e}")))
}

/// The authorization-server scenarios for each registration mode: one mock per mode, the suite's
/// `authorization --url <issuer>` against it, this process acting as the browser.
pub fn run_authorization(suite: &Suite, options: &Options) -> Result<Results, ConformanceError> {
    let scenarios = suite.list("--authorization")?;
    let mut results = Results {
        suite_version: suite.version.clone(),
        ..Results::default()
    };
    for registration in &options.registrations {
        let label = format!("registration={registration}");
        results.targets.push(Target {
            revision: "authorization".to_owned(),
            profile: format!("registration={registration}"),
            era: Era::DualEra,
        });
        let label = format!("authorization {label} dual-era");
        let fail_all = |results: &mut Results, why: String| {
            for (name, _) in &scenarios {
                results.record(name, &label, Verdict::Fail(why.clone()));
            }
        };
        let args = vec!["--registration".to_owned(), registration.clone()];
        let mock = match MockProcess::start(&options.mock_binary, &args) {
            Ok(mock) => mock,
            Err(e) => {
                fail_all(&mut results, e.to_string());
                continue;
            }
        };
        let port = free_port()?;
        let callback = format!("http://127.0.0.1:{port}/callback");
        let client_id = match client_id_for(registration, &mock, &callback) {
            Ok(id) => id,
            Err(e) => {
                fail_all(&mut results, format!("no client ID to test with: {e}"));
                continue;
            }
        };
        let dir = options.out.join(label.replace(' ', "_"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| ConformanceError::Suite(format!("{}: {e}", dir.display())))?;
        let mut child = Command::new(&suite.program)
            .args(&suite.pre_args)
            .args([
                "authorization",
                "--url",
                &mock.issuer,
                "--client-id",
                &client_id,
            ])
            .args(["--resource", &mock.mcp_url, "--port", &port.to_string()])
            .args(["-o", &dir.display().to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| ConformanceError::Suite(format!("authorization: {e}")))?;
        let stdout = child.stdout.take();
        let child = Reaped(child);
        let (tx, rx) = mpsc::channel::<String>();
        std::thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let deadline = Instant::now() + options.scenario_deadline;
        let mut browser_error = None;
        let mut log = String::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if line.starts_with("http") && line.contains("response_type=code") {
                        if let Err(e) = approve_in_browser(line.trim()) {
                            browser_error = Some(e);
                        }
                    }
                    log.push_str(&line);
                    log.push('\n');
                }
                // The suite closed its stdout: it is done.
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => break,
            }
        }
        let _ = std::fs::write(dir.join("suite.log"), &log);
        let timed_out = Instant::now() >= deadline;
        drop(child);
        for (name, _) in &scenarios {
            let verdict = match find_checks(&dir, "authorization-server-", name) {
                Some(path) => match read_checks(&path) {
                    Ok(checks) => judge(&checks),
                    Err(e) => Verdict::Fail(e.to_string()),
                },
                None => Verdict::Fail(format!(
                    "no checks.json{}{} (log in {})",
                    if timed_out {
                        format!(": stopped after {} s", options.scenario_deadline.as_secs())
                    } else {
                        String::new()
                    },
                    browser_error
                        .as_deref()
                        .map(|e| format!("; the browser step failed: {e}"))
                        .unwrap_or_default(),
                    dir.display()
                )),
            };
            results.record(name, &label, verdict);
        }
        drop(mock);
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    fn check(id: &str, status: &str, message: Option<&str>) -> Check {
        Check {
            id: id.to_owned(),
            status: status.to_owned(),
            error_message: message.map(str::to_owned),
        }
    }

    #[test]
    fn checks_json_is_read_as_the_suite_writes_it() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("checks.json");
        std::fs::write(
            &path,
            r#"[{"id":"tools-call-simple-text","name":"X","status":"FAILURE","timestamp":"t",
                 "errorMessage":"Failed: Unknown tool: test_simple_text","specReferences":[]},
                {"id":"wire-schema-valid","status":"SUCCESS","details":{"violations":[]}}]"#,
        )?;
        let checks = read_checks(&path)?;
        assert_eq!(checks.len(), 2);
        assert_eq!(
            judge(&checks),
            Verdict::Fail("tools-call-simple-text: Failed: Unknown tool: test_simple_text".into())
        );
        std::fs::write(&path, r#"{"not":"a list"}"#)?;
        let error = read_checks(&path).err().map(|e| e.to_string());
        assert!(error.is_some_and(|e| e.contains("not a list of checks")));
        Ok(())
    }

    #[rstest]
    #[case::all_success(&[("a", "SUCCESS"), ("b", "SUCCESS")], "pass")]
    #[case::a_warning(&[("a", "SUCCESS"), ("b", "WARNING")], "warn")]
    #[case::a_failure_beats_a_warning(&[("a", "WARNING"), ("b", "FAILURE")], "FAIL")]
    #[case::only_skipped_judged_nothing(&[("a", "SKIPPED"), ("b", "INFO")], "FAIL")]
    #[case::no_checks_at_all(&[], "FAIL")]
    fn a_scenario_is_judged_by_its_worst_check(
        #[case] checks: &[(&str, &str)],
        #[case] verdict: &str,
    ) {
        let checks: Vec<Check> = checks.iter().map(|(i, s)| check(i, s, None)).collect();
        assert_eq!(judge(&checks).short(), verdict);
    }

    fn declared(capabilities: Value, tools: &[&str]) -> Declared {
        Declared {
            capabilities,
            tools: tools.iter().map(|t| (*t).to_owned()).collect(),
            ..Declared::default()
        }
    }

    #[test]
    fn a_scenario_applies_only_with_the_capability_and_the_fixture_listed() {
        let bare = declared(json!({"tools": {"listChanged": true}}), &["hello"]);
        assert_eq!(applicability("tools-list", &bare), Ok(()));
        assert_eq!(
            applicability("tools-call-simple-text", &bare),
            Err("the server lists no tool test_simple_text".to_owned())
        );
        assert_eq!(
            applicability("prompts-list", &bare),
            Err("the server declares no `prompts` capability".to_owned())
        );
        let fixture = declared(json!({"tools": {}}), &["test_simple_text"]);
        assert_eq!(applicability("tools-call-simple-text", &fixture), Ok(()));
        // Scenarios that need nothing particular are always judged.
        assert_eq!(applicability("dns-rebinding-protection", &bare), Ok(()));
        // caching asks prompts/list and resources/list too: a tools-only server has no hints to
        // give there, one declaring all three is judged.
        assert!(applicability("caching", &bare).is_err());
        let all = declared(json!({"tools": {}, "prompts": {}, "resources": {}}), &[]);
        assert_eq!(applicability("caching", &all), Ok(()));
        assert!(applicability("tasks-lifecycle", &bare)
            .is_err_and(|e| e.contains("io.modelcontextprotocol/tasks")));
        let subscribe = declared(json!({"resources": {"subscribe": false}}), &[]);
        assert!(applicability("resources-subscribe", &subscribe).is_err());
        let refused = Declared {
            refused: Some("the server does not speak 2026-07-28".into()),
            ..bare
        };
        assert!(applicability("tools-list", &refused).is_err());
    }

    #[test]
    fn an_untestable_check_is_left_out_only_when_the_server_really_lacks_the_tool() {
        let message = "Not testable: server does not list the diagnostic tool 'test_missing_capability' in tools/list";
        let checks = vec![
            check(
                "sep-2575-missing-capability-http-400",
                "FAILURE",
                Some(message),
            ),
            check("server-stateless-discover", "SUCCESS", None),
        ];
        let lacking = declared(json!({"tools": {}}), &["hello"]);
        let (kept, left_out) = without_untestable(checks.clone(), &lacking);
        assert_eq!(judge(&kept), Verdict::Pass);
        assert_eq!(left_out.len(), 1);
        // Negative control: the server lists the tool, so the failure stands.
        let listing = declared(json!({"tools": {}}), &["test_missing_capability"]);
        let (kept, _) = without_untestable(checks, &listing);
        assert_eq!(judge(&kept).short(), "FAIL");
    }

    #[test]
    fn the_suite_list_is_parsed_with_its_revisions() {
        let text = "Server scenarios (test against a server):\n  - server-initialize [2025-06-18,2025-11-25]\n  - tasks-lifecycle [extension]\n";
        let list = parse_list(text);
        assert_eq!(
            list,
            vec![
                (
                    "server-initialize".to_owned(),
                    vec!["2025-06-18".to_owned(), "2025-11-25".to_owned()]
                ),
                ("tasks-lifecycle".to_owned(), vec!["extension".to_owned()]),
            ]
        );
    }

    #[test]
    fn the_table_has_a_cell_per_target_and_says_why() {
        let targets = default_targets(&["default".to_owned()]);
        let mut results = Results {
            suite_version: "x".into(),
            targets: targets.clone(),
            ..Results::default()
        };
        results.record("ping", &targets[0].label(), Verdict::Pass);
        results.record(
            "caching",
            &targets[2].label(),
            Verdict::Fail("caching-tools-list: missing ttlMs".into()),
        );
        results.record(
            "prompts-list",
            &targets[0].label(),
            Verdict::NotApplicable("the server declares no `prompts` capability".into()),
        );
        let table = results.markdown();
        assert!(table.contains("| ping | pass | - | - | - |"), "{table}");
        assert!(table.contains("| caching | - | - | FAIL | - |"), "{table}");
        assert!(table.contains(
            "- FAIL caching @ 2026-07-28 default dual-era: caching-tools-list: missing ttlMs"
        ));
        assert!(table.contains("- the server declares no `prompts` capability: 1 cells"));
        assert!(table.contains("1 passed, 1 failed, 0 warnings, 1 not applicable"));
        assert!(results.failed());
    }

    /// The probe asks a real (in-process) mock: the conformance profile lists the fixtures, the
    /// default one declares no prompts, a 2026-07-28 question to a legacy server is refused, and
    /// a server that loses its sessions is no evidence at all (an error, not empty lists).
    #[test]
    fn the_probe_reads_what_a_running_mock_declares() -> anyhow::Result<()> {
        use mock_server::{MockServer, Profile, Revision};
        let conformance = MockServer::builder()
            .profile(Profile::Conformance)
            .no_auth(true)
            .start_blocking()?;
        let declared = probe(&conformance.mcp_url(), "2026-07-28").map_err(anyhow::Error::msg)?;
        assert!(declared.tools.iter().any(|t| t == "test_simple_text"));
        assert!(declared.resources.iter().any(|r| r == "test://static-text"));
        assert_eq!(applicability("tools-call-simple-text", &declared), Ok(()));
        conformance.shutdown();

        let default = MockServer::builder()
            .revisions(&[Revision::V2025_11_25])
            .no_auth(true)
            .start_blocking()?;
        let legacy = probe(&default.mcp_url(), "2025-11-25").map_err(anyhow::Error::msg)?;
        assert!(legacy.capabilities.get("prompts").is_none());
        assert!(legacy.tools.iter().any(|t| t == "hello"));
        let modern = probe(&default.mcp_url(), "2026-07-28").map_err(anyhow::Error::msg)?;
        assert!(modern
            .refused
            .is_some_and(|r| r.contains("does not speak 2026-07-28")));
        default.shutdown();

        let forgetful = MockServer::builder()
            .revisions(&[Revision::V2025_11_25])
            .forget_sessions()
            .no_auth(true)
            .start_blocking()?;
        let error = probe(&forgetful.mcp_url(), "2025-11-25").err();
        assert!(error.is_some_and(|e| e.contains("tools/list")));
        forgetful.shutdown();
        Ok(())
    }

    /// A scenario that hangs is stopped at its deadline (and its process ended by pid), not
    /// waited for.
    #[test]
    fn a_hanging_suite_run_is_stopped_at_its_deadline() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let started = Instant::now();
        let finished = run_bounded(
            Path::new("/bin/sh"),
            &["-c".to_owned()],
            &["sleep 30".to_owned()],
            Duration::from_millis(500),
            &dir.path().join("log"),
        )?;
        assert!(!finished);
        assert!(started.elapsed() < Duration::from_secs(10));
        // Negative control: one that ends in time says so.
        let finished = run_bounded(
            Path::new("/bin/sh"),
            &["-c".to_owned()],
            &["true".to_owned()],
            Duration::from_secs(10),
            &dir.path().join("log"),
        )?;
        assert!(finished);
        Ok(())
    }

    #[test]
    fn a_missing_mock_binary_says_how_to_build_it() {
        let error = MockProcess::start(Path::new("/nonexistent/mock-server"), &[])
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("cargo build -p mock-server"), "{error}");
    }

    #[test]
    fn checks_are_found_by_exact_scenario_name() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        for name in [
            "server-tools-list-changed-2026-12-02T07",
            "server-tools-list-2026-12-02T07",
        ] {
            std::fs::create_dir(dir.path().join(name))?;
            std::fs::write(dir.path().join(name).join("checks.json"), "[]")?;
        }
        let found = find_checks(dir.path(), "server-", "tools-list");
        assert!(found.is_some_and(|p| p.to_string_lossy().contains("server-tools-list-2026")));
        assert!(find_checks(dir.path(), "server-", "ping").is_none());
        Ok(())
    }
}
