//! `harness matrix` (every scenario on every version) and `harness report` (merge shards, render
//! a saved matrix report in the other forms).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use harness::clients::catalog::ClientKind;
use harness::matrix::{self, MatrixReport, MatrixRequest, Shard};
use harness::reports;
use harness::scenarios::login_state::LoginState;
use harness::scenarios::variants::{Combination, DiscoveryVariant, ScenarioSpec};
use harness::scenarios::Scenario;
use harness::store::registry::{self, Selection, LISTING_MAX_AGE};
use harness::store::versions::{VersionStore, CACHE_DIR_ENV};

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  harness matrix --versions 2.1.81,2.1.331 --scenarios slash_mcp,session_lost,print_after_auth -j 2
  harness matrix --versions 2.1.81..2.1.90 --scenarios core --repeat 3 --html matrix.html
  harness matrix --last 10 --scenarios core --shard 2/4 --json shard-2.json
  harness matrix --versions 2.1.149,2.1.331 --scenarios slash_mcp@mcp-path,login_then_list@separate-auth-server
  harness report merge shard-*.json --out all.json --baseline previous.json --markdown all.md

Each run gets its own sandbox (HOME), its own in-process mock server and its own model stand-in,
so runs on different cells go in parallel (-j). With --repeat N, runs that disagree make the cell
flaky, never failing.

Exit status: 0 when nothing regressed (with --baseline: no new failure; without: no failing cell),
1 when something did, 2 when the matrix could not be set up.")]
pub struct MatrixArgs {
    /// Versions: a comma-separated list, or FROM..TO over the published versions (inclusive);
    /// `CLIENT=…` gives one client's (repeat the option for each). A client given neither
    /// versions nor --last runs its pinned version.
    #[arg(long, value_name = "[CLIENT=]LIST|FROM..TO")]
    versions: Vec<String>,
    /// Only the newest N published versions (after --versions when that is a range); `CLIENT=N`
    /// for one client (repeatable).
    #[arg(long, value_name = "[CLIENT=]N")]
    last: Vec<String>,
    /// Scenarios: a comma-separated list, `core` (slash_mcp, session_lost, print_after_auth,
    /// token_expiry, authenticate_tool), `discovery` (the three login paths on every discovery
    /// variant), `combinations` (the login paths, cold and primed, on every pair of variants that
    /// composes), `states` (the five login paths from both states, cold and primed, on the default
    /// server and every variant), `conformance` (the official suite's client scenarios,
    /// `conformance:auth` its authorization ones) or `all`; `<scenario>@<variant>` runs a scenario
    /// on a discovery variant of the server, `<scenario>@<variant>+<variant>` on two at once
    /// (variants: `harness scenarios`), `<scenario>~cold` / `<scenario>~primed` a login path from
    /// that state (`slash_mcp~primed@mcp-path`).
    #[arg(long, default_value = "core")]
    scenarios: String,
    /// Keep only the scenarios that log in through these paths (slash-mcp, login-command,
    /// authenticate-tool, pasted-callback; comma-separated).
    #[arg(long)]
    paths: Option<String>,
    /// Runs at once.
    #[arg(long, short = 'j', default_value_t = 1)]
    jobs: usize,
    /// Runs per cell; runs that disagree make the cell flaky.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=20))]
    repeat: u32,
    /// Run only the K-th of N deterministic slices of the cells (for CI's parallel jobs).
    #[arg(long, value_parser = Shard::parse)]
    shard: Option<Shard>,
    /// Run every cell against your own MCP server (its URL) through the recording proxy instead
    /// of the mock; the scenarios default to those that need no control of the server
    /// (slash_mcp, login_then_list, login_at_connect), and any other is refused.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Run every cell against a fresh in-process mock configured by this file (what `harness
    /// capture` wrote from your server, or a mock configuration of your own; TOML, or JSON by
    /// its name) instead of the default mock. The scenario's own faults are added to it.
    #[arg(long, value_name = "FILE", conflicts_with = "server")]
    server_config: Option<std::path::PathBuf>,
    #[command(flatten)]
    out: Outputs,
}

#[derive(Debug, Args)]
pub struct Outputs {
    /// A previous matrix report (JSON): new failures and new fixes are listed first, and the exit
    /// status says whether anything regressed.
    #[arg(long)]
    baseline: Option<PathBuf>,
    /// Write the report as JSON (the source of the other forms).
    #[arg(long)]
    json: Option<PathBuf>,
    /// Write Markdown (for a pull-request comment).
    #[arg(long)]
    markdown: Option<PathBuf>,
    /// Write JUnit XML (one testcase per cell × check).
    #[arg(long)]
    junit: Option<PathBuf>,
    /// Write a self-contained HTML page.
    #[arg(long)]
    html: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Join the JSON of a matrix's shards into one report.
    Merge {
        #[arg(required = true)]
        parts: Vec<PathBuf>,
        /// Where the joined JSON goes.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        outputs: Outputs,
    },
    /// Render a saved matrix report (JSON) in the other forms.
    Render {
        report: PathBuf,
        #[command(flatten)]
        outputs: Outputs,
    },
}

/// The login paths the `discovery` group runs on every variant.
const DISCOVERY_PATHS: [Scenario; 3] = [
    Scenario::SLASH_MCP,
    Scenario::LOGIN_THEN_LIST,
    Scenario::AUTHENTICATE_TOOL,
];

/// The login paths the `combinations` group runs on every pair: the discovery group's, and the
/// login command from the cold state too (login_then_list is its primed twin).
const COMBINATION_PATHS: [Scenario; 4] = [
    Scenario::SLASH_MCP,
    Scenario::LOGIN_THEN_LIST,
    Scenario::LOGIN_COLD,
    Scenario::AUTHENTICATE_TOOL,
];

/// The login paths the `states` group runs from both states (login_then_list from the cold state
/// is login_cold).
const STATE_PATHS: [Scenario; 5] = [
    Scenario::SLASH_MCP,
    Scenario::LOGIN_THEN_LIST,
    Scenario::PRINT_AFTER_AUTH,
    Scenario::LOGIN_AT_CONNECT,
    Scenario::AUTHENTICATE_TOOL,
];

/// The `states` group: every login path from both states, on the default server and on every
/// discovery variant.
fn states_group() -> Vec<ScenarioSpec> {
    let servers =
        std::iter::once(None).chain(DiscoveryVariant::ALL.iter().map(|v| Some((*v).into())));
    servers
        .flat_map(|server| {
            STATE_PATHS.iter().flat_map(move |scenario| {
                LoginState::ALL.map(|state| ScenarioSpec::new(*scenario, Some(state), server))
            })
        })
        .collect()
}

pub const CORE: [Scenario; 5] = [
    Scenario::SLASH_MCP,
    Scenario::SESSION_LOST,
    Scenario::PRINT_AFTER_AUTH,
    Scenario::TOKEN_EXPIRY,
    Scenario::AUTHENTICATE_TOOL,
];

fn scenarios(text: &str) -> Result<Vec<ScenarioSpec>, String> {
    let mut out = Vec::new();
    for word in text.split(',').map(str::trim).filter(|w| !w.is_empty()) {
        let add: Vec<ScenarioSpec> = match word {
            "all" => Scenario::ALL.iter().map(|s| (*s).into()).collect(),
            "core" => CORE.iter().map(|s| (*s).into()).collect(),
            // The official conformance suite's client scenarios; `conformance:auth` only its
            // authorization ones.
            "conformance" => harness::scenarios::conformance::all()
                .into_iter()
                .map(Into::into)
                .collect(),
            "conformance:auth" => harness::scenarios::conformance::all()
                .into_iter()
                .filter(|s| s.name().starts_with("conformance:auth/"))
                .map(Into::into)
                .collect(),
            // Every discovery variant through every login path (failure classes 1-6).
            "discovery" => DiscoveryVariant::ALL
                .iter()
                .flat_map(|v| DISCOVERY_PATHS.map(|scenario| scenario.on((*v).into())))
                .collect(),
            // Every pair of variants that composes, through every login path, from both states.
            "combinations" => Combination::all()
                .into_iter()
                .flat_map(|c| COMBINATION_PATHS.map(|scenario| scenario.on(c.into())))
                .collect(),
            // Every login path from both states (cold, primed), on the default server and every
            // discovery variant.
            "states" => states_group(),
            name => vec![ScenarioSpec::parse_or_why(name).map_err(|why| {
                let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
                let variants: Vec<&str> = DiscoveryVariant::ALL.iter().map(|v| v.name()).collect();
                format!(
                    "`{name}`: {why}; choose from {} (or core, discovery, combinations, states, conformance, \
                     all), optionally on a discovery variant as <scenario>@<variant> or on two as \
                     <scenario>@<variant>+<variant>, with variants from {}",
                    names.join(", "),
                    variants.join(", ")
                )
            })?],
        };
        for s in add {
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    if out.is_empty() {
        return Err("no scenarios given".to_owned());
    }
    Ok(out)
}

/// `--versions` and `--last`, each either for every client or as `CLIENT=…` for one.
#[derive(Debug, Default)]
struct PerClient {
    versions: (Option<String>, Vec<(String, String)>),
    last: (Option<usize>, Vec<(String, usize)>),
}

impl PerClient {
    fn parse(
        kinds: &[&'static ClientKind],
        versions: &[String],
        last: &[String],
    ) -> Result<PerClient, String> {
        let mut out = PerClient::default();
        // `claude-code=2.1.81,2.1.331`: a name before `=` must be a client of the run.
        let split = |value: &str| -> Result<(Option<String>, String), String> {
            match value.split_once('=') {
                Some((name, rest)) => {
                    let name = name.trim();
                    harness::clients::catalog::by_name(name)?;
                    if !kinds.iter().any(|k| k.name == name) {
                        return Err(format!(
                            "`{name}=` names a client that is not in --client ({})",
                            kinds.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
                        ));
                    }
                    Ok((Some(name.to_owned()), rest.trim().to_owned()))
                }
                None => Ok((None, value.trim().to_owned())),
            }
        };
        for value in versions {
            match split(value)? {
                (Some(name), spec) => out.versions.1.push((name, spec)),
                (None, spec) if out.versions.0.is_some() => {
                    return Err(format!(
                    "--versions given twice for every client ({spec}); name the client: CLIENT=…"
                ))
                }
                (None, spec) => {
                    if kinds.len() > 1 && !spec.contains("..") {
                        return Err(
                            "a --versions list names one client's versions; with several \
                                    clients say whose (`--versions codex=0.171.0,0.160.0`), or use \
                                    a range or --last N (each client's newest N)"
                                .to_owned(),
                        );
                    }
                    out.versions.0 = Some(spec)
                }
            }
        }
        for value in last {
            let (name, n) = split(value)?;
            let n: usize = n
                .parse()
                .map_err(|_| format!("--last takes a number of versions, not `{n}`"))?;
            match name {
                Some(name) => out.last.1.push((name, n)),
                None => out.last.0 = Some(n),
            }
        }
        Ok(out)
    }

    /// The selection for one client: its own entries, else the ones for every client.
    fn for_client(&self, kind: &ClientKind) -> (Option<&str>, Option<usize>) {
        let versions = self
            .versions
            .1
            .iter()
            .find(|(name, _)| name == kind.name)
            .map(|(_, v)| v.as_str())
            .or(self.versions.0.as_deref());
        let last = self
            .last
            .1
            .iter()
            .find(|(name, _)| name == kind.name)
            .map(|(_, n)| *n)
            .or(self.last.0);
        (versions, last)
    }
}

fn versions(
    store: &VersionStore,
    text: Option<&str>,
    last: Option<usize>,
) -> Result<Vec<String>, String> {
    let is_list = text.is_some_and(|t| !t.contains(".."));
    if is_list {
        let mut list: Vec<String> = text
            .unwrap_or_default()
            .split(',')
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .collect();
        for v in &list {
            harness::store::versions::check_version_syntax(v).map_err(|e| e.to_string())?;
        }
        matrix::sort_versions(&mut list);
        list.dedup();
        if let Some(n) = last {
            let skip = list.len().saturating_sub(n);
            list.drain(..skip);
        }
        return Ok(list);
    }
    let (listing, _) = registry::listing(store.root(), store.package(), LISTING_MAX_AGE, false)
        .map_err(|e| e.to_string())?;
    let picked = listing
        .select(&Selection {
            range: text.map(str::to_owned),
            since: None,
            last,
        })
        .map_err(|e| e.to_string())?;
    Ok(picked.into_iter().map(|p| p.version).collect())
}

pub fn matrix_cmd(
    store: &VersionStore,
    kinds: &[&'static ClientKind],
    args: MatrixArgs,
) -> ExitCode {
    let mut scenarios = match scenarios(&args.scenarios) {
        Ok(s) => s,
        Err(e) => {
            harness::say!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(url) = &args.server {
        if args.scenarios == "core" {
            scenarios = Scenario::AGAINST_ANY_SERVER
                .iter()
                .map(|s| ScenarioSpec::from(*s))
                .collect();
        }
        if let Some(spec) = scenarios
            .iter()
            .find(|s| s.discovery.is_some() || !s.scenario.runs_against_any_server())
        {
            harness::say!("{}", super::run::refused_for_server(spec.scenario));
            return ExitCode::from(2);
        }
        if let Err(e) = harness::proxy::check_reachable(url) {
            harness::say!("harness: --server: {e}");
            return ExitCode::from(2);
        }
    }
    let server_config = match args
        .server_config
        .as_deref()
        .map(harness::mock::ConfiguredServer::read)
    {
        None => None,
        Some(Ok(config)) => Some(config),
        Some(Err(e)) => {
            harness::say!("harness: --server-config: {e}");
            return ExitCode::from(2);
        }
    };
    if server_config.is_some() {
        if let Some(spec) = scenarios.iter().find(|s| s.discovery.is_some()) {
            harness::say!(
                "harness: --server-config: `{}` names a discovery variant, but the file sets the \
                 server's discovery layout; drop the `@variant` or write it into the file",
                spec.name()
            );
            return ExitCode::from(2);
        }
    }
    if let Some(paths) = &args.paths {
        let wanted: Vec<String> = paths
            .split(',')
            .map(|p| p.trim().replace('_', "-"))
            .filter(|p| !p.is_empty())
            .collect();
        scenarios.retain(|s| wanted.iter().any(|p| p == s.scenario.login_path().as_str()));
        if scenarios.is_empty() {
            harness::say!("harness: no scenario of --scenarios logs in through {paths}");
            return ExitCode::from(2);
        }
    }
    let selections = match PerClient::parse(kinds, &args.versions, &args.last) {
        Ok(s) => s,
        Err(e) => {
            harness::say!("harness: {e}");
            return ExitCode::from(2);
        }
    };
    let mut clients = Vec::new();
    for kind in kinds {
        let store = store.for_package(kind.package);
        let (text, last) = selections.for_client(kind);
        let picked = if text.is_none() && last.is_none() {
            Ok(vec![kind.package.version_under_test()])
        } else {
            versions(&store, text, last)
        };
        match picked {
            Ok(v) if !v.is_empty() => clients.push((*kind, v)),
            Ok(_) => {
                harness::say!("harness: no versions of {} selected", kind.name);
                return ExitCode::from(2);
            }
            Err(e) => {
                harness::say!("harness: {}: {e}", kind.name);
                return ExitCode::from(2);
            }
        }
    }
    let version_count: usize = clients.iter().map(|(_, v)| v.len()).sum();
    let baseline = match args.out.baseline.as_deref().map(MatrixReport::read) {
        Some(Err(e)) => {
            harness::say!("harness: baseline: {e}");
            return ExitCode::from(2);
        }
        Some(Ok(b)) => Some(b),
        None => None,
    };
    harness::say!(
        "harness: matrix: {} client(s), {} version(s) × {} scenario(s){}, -j {}, --repeat {}; version store {} (set {CACHE_DIR_ENV} to move it)",
        clients.len(),
        version_count,
        scenarios.len(),
        args.shard.map(|s| format!(", shard {s}")).unwrap_or_default(),
        args.jobs,
        args.repeat,
        store.root().display()
    );
    let request = MatrixRequest {
        clients,
        scenarios,
        jobs: args.jobs.max(1),
        repeat: args.repeat,
        shard: args.shard,
        command: std::env::args().collect::<Vec<_>>().join(" "),
        server: args.server.clone(),
        server_config,
    };
    let run = std::sync::Arc::new(matrix::MatrixRun::new(&request));
    {
        let run = run.clone();
        super::interrupt::on_interrupt(move |out| {
            let finished = run.finished();
            let (done, total) = run.runs_finished();
            if !finished.cells.is_empty() {
                out.print(&reports::table::render(&finished));
            }
            // The report files are not written: a partial matrix is easy to take for a whole one.
            out.say(&format!(
                "harness: matrix interrupted: {done} of {total} run(s) finished, {} cell(s) \
                 complete (shown above); no report files written",
                finished.cells.len()
            ));
        });
    }
    let report = run.run(store);
    finish(report, baseline, &args.out)
}

pub fn report_cmd(command: ReportCommand) -> ExitCode {
    let (report, outputs) = match command {
        ReportCommand::Merge {
            parts,
            out,
            outputs,
        } => {
            let mut read = Vec::new();
            for p in &parts {
                match MatrixReport::read(p) {
                    Ok(r) => read.push(r),
                    Err(e) => {
                        harness::say!("harness: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            let merged = match matrix::merge(&read) {
                Ok(m) => m,
                Err(e) => {
                    harness::say!("harness: merge: {e}");
                    return ExitCode::from(2);
                }
            };
            if let Err(e) = write_json(&out, &merged) {
                harness::say!("harness: {e}");
                return ExitCode::from(2);
            }
            harness::say!(
                "harness: merged {} part(s), {} cells, into {}",
                parts.len(),
                merged.cells.len(),
                out.display()
            );
            (merged, outputs)
        }
        ReportCommand::Render { report, outputs } => match MatrixReport::read(&report) {
            Ok(r) => (r, outputs),
            Err(e) => {
                harness::say!("harness: {e}");
                return ExitCode::from(2);
            }
        },
    };
    let baseline = match outputs.baseline.as_deref().map(MatrixReport::read) {
        Some(Err(e)) => {
            harness::say!("harness: baseline: {e}");
            return ExitCode::from(2);
        }
        Some(Ok(b)) => Some(b),
        None => None,
    };
    finish(report, baseline, &outputs)
}

fn write_json(path: &Path, report: &MatrixReport) -> Result<(), String> {
    let text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    write(path, &text)
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Compares with the baseline, writes the asked-for forms, prints the table, picks the status.
fn finish(mut report: MatrixReport, baseline: Option<MatrixReport>, out: &Outputs) -> ExitCode {
    if let (Some(b), Some(path)) = (&baseline, &out.baseline) {
        report.comparison = Some(matrix::compare(&report, b, &path.display().to_string()));
    }
    let mut written = Vec::new();
    let mut result = Ok(());
    if let Some(p) = &out.json {
        result = result.and(write_json(p, &report));
        written.push(p);
    }
    if let Some(p) = &out.markdown {
        result = result.and(write(p, &reports::markdown::render(&report)));
        written.push(p);
    }
    if let Some(p) = &out.junit {
        result = result.and(write(p, &reports::junit::render(&report)));
        written.push(p);
    }
    if let Some(p) = &out.html {
        result = result.and(write(p, &reports::html::render(&report)));
        written.push(p);
    }
    harness::console::print(&reports::table::render(&report));
    if let Err(e) = result {
        harness::say!("harness: {e}");
        return ExitCode::from(2);
    }
    for p in written {
        harness::say!("harness: wrote {}", p.display());
    }
    if report.regressed() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_states_group_runs_every_login_path_from_both_states_on_every_server() {
        let group = scenarios("states").expect("the group");
        // 5 login paths × 2 states × (the default server and 13 variants), no duplicates.
        assert_eq!(group.len(), 5 * 2 * (1 + DiscoveryVariant::ALL.len()));
        let names: Vec<String> = group.iter().map(|s| s.name()).collect();
        for name in [
            "slash_mcp",
            "slash_mcp~primed",
            "login_cold",
            "login_then_list",
            "print_after_auth~primed@mcp-path",
            "login_at_connect@html-errors",
            "authenticate_tool~primed@challenge-only",
            "login_cold@pre-registered",
        ] {
            assert!(names.iter().any(|n| n == name), "{name} missing");
        }
        for spec in &group {
            assert_eq!(ScenarioSpec::parse(&spec.name()), Some(*spec));
        }
    }
    use super::*;

    fn kinds(names: &[&str]) -> Vec<&'static ClientKind> {
        names
            .iter()
            .map(|n| harness::clients::catalog::by_name(n).expect("a client"))
            .collect()
    }

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    #[test]
    fn each_client_takes_its_own_versions_and_the_shared_ones_otherwise() {
        let all = kinds(&["claude-code", "codex", "gemini-cli"]);
        let picked = PerClient::parse(
            &all,
            &strings(&["codex=0.160.0,0.171.0"]),
            &strings(&["2", "gemini-cli=5"]),
        )
        .expect("parses");
        assert_eq!(picked.for_client(all[0]), (None, Some(2)));
        assert_eq!(
            picked.for_client(all[1]),
            (Some("0.160.0,0.171.0"), Some(2))
        );
        assert_eq!(picked.for_client(all[2]), (None, Some(5)));
    }

    #[test]
    fn a_shared_version_list_is_refused_with_several_clients_but_a_range_is_not() {
        let two = kinds(&["claude-code", "codex"]);
        let err = PerClient::parse(&two, &strings(&["2.1.81"]), &[]).expect_err("refused");
        assert!(err.contains("say whose"), "{err}");
        assert!(PerClient::parse(&two, &strings(&["1.0.0..9.0.0"]), &[]).is_ok());
    }

    #[test]
    fn a_client_prefix_outside_the_run_or_unknown_is_refused() {
        let one = kinds(&["codex"]);
        let err = PerClient::parse(&one, &strings(&["gemini-cli=0.61.0"]), &[]).expect_err("x");
        assert!(err.contains("not in --client"), "{err}");
        let err = PerClient::parse(&one, &strings(&["nope=1.0.0"]), &[]).expect_err("x");
        assert!(err.contains("harness clients"), "{err}");
        let err = PerClient::parse(&one, &[], &strings(&["many"])).expect_err("x");
        assert!(err.contains("number"), "{err}");
    }
}
