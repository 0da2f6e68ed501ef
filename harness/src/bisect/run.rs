//! `harness bisect` against real published versions: the search of [`crate::bisect`] driven by
//! real installs and scenario runs, with the next possible probes installed in the background, the
//! probes saved after each one (so an interrupted search resumes), and a report naming the
//! boundary with publish dates and the commands that reproduce each verdict.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use mock_server::MockServer;
use serde::Serialize;

use crate::bisect::{
    combine, Bisection, Config, Decision, Direction, End, Observation, Outcome, Purpose,
    RunOutcome, SavedProbe, SavedProbes,
};
use crate::checks::Verdict;
use crate::clients::catalog::ClientKind;
use crate::clients::kind::FeatureProbe;
use crate::clients::LoginPath;
use crate::scenarios::{self, Scenario, ScenarioReport};
use crate::store::features::Feature;
use crate::store::registry::{self, Published, LISTING_MAX_AGE};
use crate::store::version_number::compare_versions;
use crate::store::versions::{InstalledVersion, VersionStore, CACHE_DIR_ENV};

/// What to bisect.
#[derive(Debug, Clone)]
pub struct Request {
    /// The client whose versions are searched.
    pub client: &'static ClientKind,
    pub scenario: Scenario,
    /// One check of the scenario; `None`: the scenario as a whole (any failing check fails it).
    pub check: Option<String>,
    /// A version where the check passes.
    pub good: Option<String>,
    /// A version where it fails.
    pub bad: Option<String>,
    /// Look for the first passing version after failing ones (the good end is the newer one).
    pub find_fix: bool,
    /// Runs per probe; disagreeing runs make the probe flaky.
    pub repeat: u32,
    /// Spend up to two probes checking the line beside the boundary is monotonic.
    pub verify: bool,
    /// Install the next two possible probes while one runs.
    pub prefetch: bool,
    /// Ignore probes saved by an earlier run with the same arguments.
    pub fresh: bool,
    /// The command line as typed, for the resume hint.
    pub command_line: String,
    /// How to call the harness in printed commands (argv\[0\]).
    pub program: String,
    /// Run every probe against this discovery variant (and judge it by the discovery checks).
    pub discovery: Option<crate::scenarios::variants::ServerVariant>,
    /// Probe every version against this server (its MCP URL) through the recording proxy
    /// instead of the mock: which version stopped working with *my* server.
    pub server: Option<String>,
    /// Probe every version against an in-process mock configured by this file
    /// (`--server-config`: a captured server's shape, or a configuration of one's own).
    pub server_config: Option<crate::mock::ConfiguredServer>,
}

/// One probe, as reported.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeRecord {
    pub version: String,
    pub published: Option<String>,
    pub purpose: Purpose,
    pub observation: Observation,
    pub detail: String,
    pub runs: Vec<RunOutcome>,
    /// Seconds spent waiting for the install in the foreground (0 when already in the store).
    pub install_secs: f64,
    pub run_secs: f64,
    /// From the state file of an earlier run with the same arguments.
    pub resumed: bool,
    pub reproduce: String,
}

/// A version named in the answer.
#[derive(Debug, Clone, Serialize)]
pub struct Named {
    pub version: String,
    pub published: Option<String>,
    pub observation: Observation,
    pub reproduce: String,
}

/// A background install.
#[derive(Debug, Clone, Serialize)]
pub struct Prefetched {
    pub version: String,
    pub secs: f64,
    pub ok: bool,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub check: Option<String>,
    pub direction: Direction,
    /// `found`, `ends-agree`, `reversed`, `end-unjudged`, `end-wrong`, `newest-in-old-state`,
    /// `no-new-end`, `no-old-end`, `non-monotonic`.
    pub outcome: &'static str,
    pub message: String,
    pub first_version: String,
    pub last_version: String,
    pub versions_in_line: usize,
    /// The passing version beside the boundary: the last good one of a regression, the first
    /// good one of a fix.
    pub good: Option<Named>,
    /// The failing version beside the boundary: the first bad one of a regression, the last bad
    /// one of a fix.
    pub bad: Option<Named>,
    pub skipped_between: Vec<Named>,
    pub probes: Vec<ProbeRecord>,
    pub probe_count: usize,
    pub probes_this_session: usize,
    pub wall_secs: f64,
    pub install_wait_secs: f64,
    pub run_secs: f64,
    pub prefetched: Vec<Prefetched>,
    pub state_file: PathBuf,
    pub resume_command: String,
}

impl Report {
    pub fn found(&self) -> bool {
        self.outcome == "found"
    }
}

/// The feature a scenario's login path needs, as far as the feature cache can tell before a run
/// (none for a path no probe knows of: the run decides).
fn needed_feature(scenario: Scenario) -> Option<Feature> {
    match scenario.login_path() {
        LoginPath::SlashMcp => Some(Feature::HttpTransport),
        LoginPath::LoginCommand => Some(Feature::McpLogin),
        LoginPath::AuthenticateTool | LoginPath::PastedCallback => Some(Feature::AuthenticateTool),
        LoginPath::AutomaticAtConnect | LoginPath::StaticHeader => None,
    }
}

/// How one scenario report answers the question.
pub fn classify(report: &ScenarioReport, check: Option<&str>) -> (RunOutcome, String) {
    if let Some(driver) = report
        .checks
        .iter()
        .find(|c| c.name == "driver" && c.verdict == Verdict::Fail)
    {
        let why = driver.evidence.first().cloned().unwrap_or_default();
        return (
            RunOutcome::Inconclusive,
            format!("the harness could not drive the client: {why}"),
        );
    }
    let not_applicable = report
        .checks
        .iter()
        .find(|c| c.verdict == Verdict::NotApplicable);
    let bundle = report
        .bundle
        .as_ref()
        .map(|b| format!(" (bundle {})", b.display()))
        .unwrap_or_default();
    match check {
        Some(name) => match report.check(name) {
            Some(c) => {
                let outcome = match c.verdict {
                    Verdict::Pass => RunOutcome::Pass,
                    Verdict::Fail => RunOutcome::Fail,
                    Verdict::NotApplicable => RunOutcome::NotApplicable,
                };
                (
                    outcome,
                    format!("{} {}: {}{bundle}", c.verdict.as_str(), c.name, c.summary),
                )
            }
            None => match not_applicable {
                Some(c) => (
                    RunOutcome::NotApplicable,
                    format!("n/a {}: {}", c.name, c.summary),
                ),
                None => (
                    RunOutcome::Inconclusive,
                    format!(
                        "the report has no check `{name}`; its checks: {}",
                        report
                            .checks
                            .iter()
                            .map(|c| c.name.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            },
        },
        None => {
            let failed: Vec<&str> = report
                .checks
                .iter()
                .filter(|c| c.verdict == Verdict::Fail)
                .map(|c| c.name.as_str())
                .collect();
            if !failed.is_empty() {
                (
                    RunOutcome::Fail,
                    format!("FAIL {}{bundle}", failed.join(", ")),
                )
            } else if let Some(c) = not_applicable {
                (
                    RunOutcome::NotApplicable,
                    format!("n/a {}: {}", c.name, c.summary),
                )
            } else {
                (
                    RunOutcome::Pass,
                    format!("all {} checks pass", report.checks.len()),
                )
            }
        }
    }
}

/// Runs the scenario once on an installed version.
fn run_once(
    kind: &'static ClientKind,
    scenario: Scenario,
    install: &InstalledVersion,
    check: Option<&str>,
    discovery: Option<crate::scenarios::variants::ServerVariant>,
    server: Option<&str>,
    server_config: Option<&crate::mock::ConfiguredServer>,
) -> (RunOutcome, String) {
    let client = (kind.make)(install.clone());
    if let Some(url) = server {
        let proxy = match crate::proxy::RecordingProxy::start(url, &Default::default()) {
            Ok(p) => p,
            Err(e) => return (RunOutcome::Inconclusive, format!("--server: {e}")),
        };
        let report = scenarios::run(scenario, client.as_ref(), &proxy);
        crate::scenarios::observe::record_report(client.install(), &report);
        return classify(&report, check);
    }
    if let Some(configured) = server_config {
        let mock = match configured.start(scenario.mock_faults()) {
            Ok(m) => m,
            Err(e) => {
                return (
                    RunOutcome::Inconclusive,
                    format!("cannot start the mock server from --server-config: {e}"),
                )
            }
        };
        let report = scenarios::run(scenario, client.as_ref(), &mock);
        crate::scenarios::observe::record_report(client.install(), &report);
        return classify(&report, check);
    }
    let mut builder = MockServer::builder().faults(scenario.mock_faults());
    if let Some(discovery) = scenario.mock_discovery(discovery.map(|v| v.discovery())) {
        builder = builder.discovery(discovery);
    }
    let mock = match builder.start_blocking() {
        Ok(m) => m,
        Err(e) => {
            return (
                RunOutcome::Inconclusive,
                format!("cannot start the mock server: {e}"),
            )
        }
    };
    let options = scenarios::RunOptions {
        discovery,
        ..Default::default()
    };
    let report = scenarios::run_with(scenario, client.as_ref(), &mock, &options);
    crate::scenarios::observe::record_report(client.install(), &report);
    classify(&report, check)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

/// Probes one version: install, the feature cache, then `repeat` runs.
fn probe(store: &VersionStore, request: &Request, version: &str) -> SavedProbe {
    let started = Instant::now();
    let install = match store.ensure(version) {
        Ok(i) => i,
        Err(e) => {
            return SavedProbe {
                observation: Observation::Uninstallable,
                purpose: None,
                detail: first_line(&e.to_string()).to_owned(),
                runs: vec![],
                install_secs: started.elapsed().as_secs_f64(),
                run_secs: 0.0,
            }
        }
    };
    let install_secs = started.elapsed().as_secs_f64();
    let known = request.client.features.map(|probe| probe(&install));
    if let (Some(feature), Some(Ok(found))) = (needed_feature(request.scenario), known) {
        if let Some(seen) = found.get(feature).filter(|o| !o.present) {
            return SavedProbe {
                observation: Observation::NotApplicable,
                purpose: None,
                detail: format!(
                    "{} absent (feature cache, from {}): {}",
                    feature.key(),
                    seen.source,
                    first_line(&seen.evidence)
                ),
                runs: vec![],
                install_secs,
                run_secs: started.elapsed().as_secs_f64() - install_secs,
            };
        }
    }
    let mut runs = Vec::new();
    let mut details: Vec<String> = Vec::new();
    for _ in 0..request.repeat.max(1) {
        let (outcome, detail) = run_once(
            request.client,
            request.scenario,
            &install,
            request.check.as_deref(),
            request.discovery,
            request.server.as_deref(),
            request.server_config.as_ref(),
        );
        runs.push(outcome);
        if !details.contains(&detail) {
            details.push(detail);
        }
        if matches!(
            outcome,
            RunOutcome::Inconclusive | RunOutcome::NotApplicable
        ) {
            break;
        }
    }
    SavedProbe {
        observation: combine(&runs),
        purpose: None,
        detail: details.join(" | "),
        runs,
        install_secs,
        run_secs: started.elapsed().as_secs_f64() - install_secs,
    }
}

/// Installs versions in background threads, each once, and keeps their timings.
struct Prefetcher {
    store: VersionStore,
    /// The client's feature probe, run right after a prefetched install.
    probe: Option<FeatureProbe>,
    started: Mutex<HashSet<String>>,
    handles: Mutex<Vec<JoinHandle<()>>>,
    done: Arc<Mutex<Vec<Prefetched>>>,
}

impl Prefetcher {
    fn new(store: &VersionStore, probe: Option<FeatureProbe>) -> Prefetcher {
        Prefetcher {
            store: store.clone(),
            probe,
            started: Mutex::new(HashSet::new()),
            handles: Mutex::new(Vec::new()),
            done: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn fetch(&self, version: &str) {
        if matches!(self.store.installed(version), Ok(Some(_))) {
            return;
        }
        let mut started = self.started.lock().unwrap_or_else(|p| p.into_inner());
        if !started.insert(version.to_owned()) {
            return;
        }
        let (store, done, version) = (self.store.clone(), self.done.clone(), version.to_owned());
        let probe = self.probe;
        crate::say!("harness: prefetching {version} in the background");
        let handle = std::thread::spawn(move || {
            let t = Instant::now();
            let ok = match store.ensure(&version) {
                Ok(install) => {
                    // The help probe too: the feature cache is what lets a probe skip a version.
                    if let Some(probe) = probe {
                        let _ = probe(&install);
                    }
                    true
                }
                Err(_) => false,
            };
            done.lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Prefetched {
                    version,
                    secs: t.elapsed().as_secs_f64(),
                    ok,
                });
        });
        self.handles
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(handle);
    }

    fn finish(&self) -> Vec<Prefetched> {
        let handles: Vec<_> =
            std::mem::take(&mut *self.handles.lock().unwrap_or_else(|p| p.into_inner()));
        for h in handles {
            let _ = h.join();
        }
        self.done.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The state file of a search with these arguments.
pub fn state_key(request: &Request) -> String {
    let key = format!(
        "scenario={} check={} good={} bad={} find-fix={} repeat={} verify={}",
        request.scenario.name(),
        request.check.as_deref().unwrap_or("*"),
        request.good.as_deref().unwrap_or("?"),
        request.bad.as_deref().unwrap_or("?"),
        request.find_fix,
        request.repeat,
        request.verify
    );
    // Searches of Claude Code on the default server keep the keys (and saved probes) they
    // always had.
    let key = match request.discovery {
        Some(variant) => format!("{key} discovery={}", variant.name()),
        None => key,
    };
    // Probes of someone else's server are kept apart from the mock's.
    let key = match &request.server {
        Some(url) => format!("{key} server={url}"),
        None => key,
    };
    // A configured mock is known by its file's path (its contents may change between runs:
    // `--fresh` forgets the saved probes).
    let key = match &request.server_config {
        Some(configured) => format!("{key} server-config={}", configured.path.display()),
        None => key,
    };
    if request.client.name == crate::clients::catalog::default_kind().name {
        key
    } else {
        format!("client={} {key}", request.client.name)
    }
}

pub fn state_path(store: &VersionStore, request: &Request) -> PathBuf {
    let slug: String = state_key(request)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    store.root().join("bisect").join(format!("{slug}.json"))
}

/// The command that reruns one scenario on one version and shows the check's verdict.
pub fn reproduce_command(
    store: &VersionStore,
    request: &Request,
    version: &str,
    observation: Observation,
) -> String {
    let what = match &request.check {
        Some(c) => format!("check {c}"),
        None => "the scenario".to_owned(),
    };
    format!(
        "{CACHE_DIR_ENV}={} {} run{} --scenario {}{} --cli-version {version}    # expect {what}: {}",
        shell_quote(&store.root().display().to_string()),
        request.program,
        if request.client.name == crate::clients::catalog::default_kind().name {
            String::new()
        } else {
            format!(" --client {}", request.client.name)
        },
        request.scenario.name(),
        request
            .discovery
            .map(|v| format!(" --discovery {}", v.name()))
            .unwrap_or_default()
            + &request
                .server
                .as_deref()
                .map(|url| format!(" --server {}", shell_quote(url)))
                .unwrap_or_default()
            + &request
                .server_config
                .as_ref()
                .map(|c| {
                    format!(
                        " --server-config {}",
                        shell_quote(&c.path.to_string_lossy())
                    )
                })
                .unwrap_or_default(),
        observation.as_str()
    )
}

/// Quotes a word for a POSIX shell when it needs it.
pub fn shell_quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+".contains(&b))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// The line, the direction and the ends, from the request and the registry's listing.
fn plan(
    request: &Request,
    listing: &[Published],
) -> Result<(Vec<Published>, Config, Vec<String>), String> {
    let mut notes = Vec::new();
    for v in [&request.good, &request.bad].into_iter().flatten() {
        if !listing.iter().any(|p| &p.version == v) {
            return Err(format!(
                "{v} is not a published version of the CLI; run `harness versions` to list them"
            ));
        }
    }
    let direction = match (&request.good, &request.bad) {
        (Some(g), Some(b)) => match compare_versions(g, b) {
            std::cmp::Ordering::Equal => {
                return Err("--good and --bad name the same version".to_owned())
            }
            std::cmp::Ordering::Less if request.find_fix => {
                return Err(format!(
                    "--find-fix looks for the first passing version after failing ones, so --good must be newer than --bad (got --good {g}, --bad {b}); drop --find-fix to look for the regression"
                ))
            }
            std::cmp::Ordering::Less => Direction::Regression,
            std::cmp::Ordering::Greater => {
                if !request.find_fix {
                    notes.push(format!(
                        "--good {g} is newer than --bad {b}: looking for the fix (as with --find-fix)"
                    ));
                }
                Direction::Fix
            }
        },
        _ if request.find_fix => Direction::Fix,
        _ => Direction::Regression,
    };
    let (old, new) = match direction {
        Direction::Regression => (&request.good, &request.bad),
        Direction::Fix => (&request.bad, &request.good),
    };
    let first = old
        .as_deref()
        .and_then(|v| listing.iter().position(|p| p.version == v))
        .unwrap_or(0);
    let last = new
        .as_deref()
        .and_then(|v| listing.iter().position(|p| p.version == v))
        .unwrap_or(listing.len().saturating_sub(1));
    if first >= last {
        return Err("the old end must come before the new end in release order".to_owned());
    }
    let line: Vec<Published> = listing[first..=last].to_vec();
    let config = Config {
        direction,
        old_end: old.as_ref().map(|_| 0),
        new_end: new.as_ref().map(|_| line.len() - 1),
        verify: request.verify,
    };
    Ok((line, config, notes))
}

/// Runs the search. Progress goes to stderr; the report is returned. Errors are setup errors
/// (registry, arguments, the state file).
pub fn bisect(store: &VersionStore, request: &Request) -> Result<Report, String> {
    let started = Instant::now();
    let (listing, _) = registry::listing(store.root(), store.package(), LISTING_MAX_AGE, false)
        .map_err(|e| e.to_string())?;
    let (line, config, notes) = plan(request, &listing.versions)?;
    for n in notes {
        crate::say!("harness: {n}");
    }
    let versions: Vec<String> = line.iter().map(|p| p.version.clone()).collect();
    let mut search = Bisection::new(line.len(), config)?;
    let state_file = state_path(store, request);
    let key = state_key(request);
    let mut saved = if request.fresh {
        SavedProbes {
            key: key.clone(),
            ..SavedProbes::default()
        }
    } else {
        SavedProbes::load(&state_file, &key)
            .map_err(|e| format!("state file {}: {e}", state_file.display()))?
    };
    let resumed = saved.restore(&mut search, &versions);
    let resumed_set: HashSet<String> = saved.probes.keys().cloned().collect();
    let names = match config.direction {
        Direction::Regression => ("good", "bad"),
        Direction::Fix => ("bad", "good"),
    };
    crate::say!(
        "harness: bisect {} · {} · {} · {} versions {}..{} in release order{}",
        request.scenario.name(),
        request
            .check
            .as_deref()
            .map(|c| format!("check {c}"))
            .unwrap_or_else(|| "every check".to_owned()),
        match config.direction {
            Direction::Regression => "looking for the first failing version (regression)",
            Direction::Fix => "looking for the first passing version (fix)",
        },
        line.len(),
        versions[0],
        versions[versions.len() - 1],
        if resumed > 0 {
            format!(
                " · resuming: {resumed} probe(s) from {}",
                state_file.display()
            )
        } else {
            String::new()
        }
    );
    let prefetcher = Prefetcher::new(store, request.client.features);
    let mut this_session = 0usize;
    let progress = crate::console::progress("bisect", line.len().max(1).ilog2() as u64 + 2);
    let outcome = loop {
        match search.decide() {
            Decision::Done(outcome) => break outcome,
            Decision::Probe(next) => {
                let version = &versions[next.index];
                if request.prefetch {
                    for i in search.prefetch(next.index) {
                        prefetcher.fetch(&versions[i]);
                    }
                }
                let (known, estimate) = (
                    search.known().len(),
                    next.estimated_total.max(search.known().len() + 1),
                );
                let probing = format!(
                    "harness: probe {} of ~{estimate}: version {version} ({}, published {})",
                    known + 1,
                    next.purpose.as_str(),
                    line[next.index].date().unwrap_or("?")
                );
                progress.set_length(estimate as u64);
                progress.set_position(known as u64);
                progress.now(probing.trim_start_matches("harness: "));
                if progress.is_plain() {
                    crate::console::say(&probing);
                }
                let mut result = probe(store, request, version);
                // Interrupted under it, the probe's verdict means nothing: never saved.
                crate::drive::live::hold_if_stopping();
                result.purpose = Some(next.purpose);
                progress.step(&format!(
                    "harness:   {version}: {} ({}; install {:.1} s, runs {:.1} s)",
                    result.observation.as_str(),
                    result.detail,
                    result.install_secs,
                    result.run_secs
                ));
                search.record_probe(next.index, next.purpose, result.observation);
                saved.probes.insert(version.clone(), result);
                this_session += 1;
                saved
                    .save(&state_file)
                    .map_err(|e| format!("state file {}: {e}", state_file.display()))?;
            }
        }
    };
    drop(progress);
    let prefetched = prefetcher.finish();

    let named = |i: usize| -> Named {
        let v = &versions[i];
        let observation = saved
            .probes
            .get(v)
            .map(|p| p.observation)
            .unwrap_or(Observation::Inconclusive);
        Named {
            version: v.clone(),
            published: line[i].published.clone(),
            observation,
            reproduce: reproduce_command(store, request, v, observation),
        }
    };
    let describe = |i: usize| {
        format!(
            "{} ({})",
            versions[i],
            line[i].date().unwrap_or("date unknown")
        )
    };
    let (kind, message, good, bad, skipped) = match &outcome {
        Outcome::Found {
            last_old,
            first_new,
            skipped_between,
        } => {
            let (good, bad) = match config.direction {
                Direction::Regression => (*last_old, *first_new),
                Direction::Fix => (*first_new, *last_old),
            };
            let message = match config.direction {
                Direction::Regression => format!(
                    "last good {}, first bad {}{}",
                    describe(good),
                    describe(bad),
                    if skipped_between.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; {} skipped version(s) between them could be the first bad",
                            skipped_between.len()
                        )
                    }
                ),
                Direction::Fix => format!(
                    "last bad {}, first good {}{}",
                    describe(bad),
                    describe(good),
                    if skipped_between.is_empty() {
                        String::new()
                    } else {
                        format!(
                            "; {} skipped version(s) between them could be the first good",
                            skipped_between.len()
                        )
                    }
                ),
            };
            (
                "found",
                message,
                Some(named(good)),
                Some(named(bad)),
                skipped_between.iter().map(|i| named(*i)).collect(),
            )
        }
        Outcome::EndsAgree { old, new, verdict } => (
            "ends-agree",
            format!(
                "the ends do not differ: {} and {} both {}; nothing to bisect (pick ends that differ, e.g. check one with `harness run --scenario {} --cli-version V`)",
                describe(*old),
                describe(*new),
                if *verdict == Observation::Pass { "pass" } else { "fail" },
                request.scenario.name()
            ),
            None,
            None,
            vec![],
        ),
        Outcome::Reversed { old, new } => (
            "reversed",
            match config.direction {
                Direction::Regression => format!(
                    "the ends differ the other way round: the older {} fails and the newer {} passes, so this is a fix, not a regression; add --find-fix (or swap --good and --bad)",
                    describe(*old),
                    describe(*new)
                ),
                Direction::Fix => format!(
                    "the ends differ the other way round: the older {} passes and the newer {} fails, so this is a regression; drop --find-fix (or swap --good and --bad)",
                    describe(*old),
                    describe(*new)
                ),
            },
            None,
            None,
            vec![],
        ),
        Outcome::EndUnjudged {
            end,
            index,
            observation,
        } => (
            "end-unjudged",
            format!(
                "the {} end {} gave no verdict ({}: {}); pick another",
                if *end == End::Old { names.0 } else { names.1 },
                describe(*index),
                observation.as_str(),
                saved
                    .probes
                    .get(&versions[*index])
                    .map(|p| p.detail.as_str())
                    .unwrap_or("")
            ),
            None,
            None,
            vec![],
        ),
        Outcome::EndWrong {
            end,
            index,
            observation,
        } => (
            "end-wrong",
            format!(
                "the {} end {} {}, so it is not {}",
                if *end == End::Old { names.0 } else { names.1 },
                describe(*index),
                if *observation == Observation::Pass { "passes" } else { "fails" },
                if *end == End::Old { names.0 } else { names.1 },
            ),
            None,
            None,
            vec![],
        ),
        Outcome::NewestInOldState { index } => (
            "newest-in-old-state",
            format!(
                "the newest version with a verdict, {}, is {} too: nothing to find above the {} end",
                describe(*index),
                names.0,
                names.0
            ),
            None,
            None,
            vec![],
        ),
        Outcome::NoNewEnd => (
            "no-new-end",
            "no version above the old end gave a verdict".to_owned(),
            None,
            None,
            vec![],
        ),
        Outcome::NoOldEnd { new_end } => (
            "no-old-end",
            format!(
                "stepping back from {} reached the first version ({}) without finding a {} one",
                describe(*new_end),
                versions[0],
                names.0
            ),
            None,
            None,
            vec![],
        ),
        Outcome::NonMonotonic { older, newer } => (
            "non-monotonic",
            format!(
                "no single boundary explains the probes: the older {} is {} but the newer {} is {}; the check is flaky or the behaviour changed more than once (rerun with --repeat 3, or bisect a narrower range)",
                describe(*older),
                names.1,
                describe(*newer),
                names.0
            ),
            None,
            None,
            vec![],
        ),
    };

    let mut probes: Vec<ProbeRecord> = Vec::new();
    for (i, v) in versions.iter().enumerate() {
        if let Some(p) = saved.probes.get(v) {
            probes.push(ProbeRecord {
                version: v.clone(),
                published: line[i].published.clone(),
                purpose: p.purpose.unwrap_or(Purpose::Bisect),
                observation: p.observation,
                detail: p.detail.clone(),
                runs: p.runs.clone(),
                install_secs: p.install_secs,
                run_secs: p.run_secs,
                resumed: resumed_set.contains(v),
                reproduce: reproduce_command(store, request, v, p.observation),
            });
        }
    }
    let fresh = probes.iter().filter(|p| !p.resumed);
    let install_wait_secs = fresh.clone().map(|p| p.install_secs).sum::<f64>() + 0.0;
    let run_secs = fresh.map(|p| p.run_secs).sum::<f64>() + 0.0;
    Ok(Report {
        scenario: request.scenario.name().to_owned(),
        check: request.check.clone(),
        direction: config.direction,
        outcome: kind,
        message,
        first_version: versions[0].clone(),
        last_version: versions[versions.len() - 1].clone(),
        versions_in_line: versions.len(),
        good,
        bad,
        skipped_between: skipped,
        probe_count: probes.len(),
        probes,
        probes_this_session: this_session,
        wall_secs: started.elapsed().as_secs_f64(),
        install_wait_secs,
        run_secs,
        prefetched,
        resume_command: format!(
            "{CACHE_DIR_ENV}={} {}",
            shell_quote(&store.root().display().to_string()),
            request.command_line
        ),
        state_file,
    })
}

/// The report for people.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "bisect {} · {} · {} versions {}..{}\n",
        report.scenario,
        report
            .check
            .as_deref()
            .map(|c| format!("check {c}"))
            .unwrap_or_else(|| "every check".to_owned()),
        report.versions_in_line,
        report.first_version,
        report.last_version
    ));
    out.push_str("  probes (release order):\n");
    for p in &report.probes {
        out.push_str(&format!(
            "    {:<10} {}  {:<22} {:<30} {}\n",
            p.version,
            p.published
                .as_deref()
                .and_then(|d| d.get(..10))
                .unwrap_or("????-??-??"),
            p.observation.as_str(),
            p.purpose.as_str(),
            if p.resumed { "(saved earlier)" } else { "" }
        ));
    }
    out.push_str(&format!("  result: {}\n", report.message));
    for (label, named) in [
        (
            if report.direction == Direction::Regression {
                "last good "
            } else {
                "first good"
            },
            &report.good,
        ),
        (
            if report.direction == Direction::Regression {
                "first bad "
            } else {
                "last bad  "
            },
            &report.bad,
        ),
    ] {
        if let Some(n) = named {
            out.push_str(&format!(
                "  {label}  {} published {}\n      reproduce: {}\n",
                n.version,
                n.published.as_deref().unwrap_or("?"),
                n.reproduce
            ));
        }
    }
    for s in &report.skipped_between {
        out.push_str(&format!(
            "  skipped    {} ({}) lies between them\n",
            s.version,
            s.observation.as_str()
        ));
    }
    // `+ 0.0`: an empty float sum is -0.0.
    let background: f64 = report.prefetched.iter().map(|p| p.secs).sum::<f64>() + 0.0;
    out.push_str(&format!(
        "  probes: {} ({} this session, {} from the state file) · wall {:.0} s: waiting for installs {:.0} s, runs {:.0} s; {} background install(s) took {:.0} s\n",
        report.probe_count,
        report.probes_this_session,
        report.probe_count - report.probes_this_session,
        report.wall_secs,
        report.install_wait_secs,
        report.run_secs,
        report.prefetched.len(),
        background
    ));
    out.push_str(&format!(
        "  state: {} (the same command shows this again without probing; --fresh starts over)\n",
        report.state_file.display()
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn published(versions: &[&str]) -> Vec<Published> {
        versions
            .iter()
            .map(|v| Published {
                version: (*v).to_owned(),
                published: Some("2026-01-01T00:00:00Z".to_owned()),
            })
            .collect()
    }

    fn request(good: Option<&str>, bad: Option<&str>, find_fix: bool) -> Request {
        Request {
            client: &crate::clients::claude_code::KIND,
            scenario: Scenario::SESSION_LOST,
            check: Some("reinitialized-after-session-loss".to_owned()),
            good: good.map(str::to_owned),
            bad: bad.map(str::to_owned),
            find_fix,
            repeat: 1,
            verify: true,
            prefetch: true,
            fresh: false,
            command_line: "harness bisect".to_owned(),
            program: "harness".to_owned(),
            discovery: None,
            server: None,
            server_config: None,
        }
    }

    const LINE: [&str; 6] = ["2.1.79", "2.1.80", "2.1.81", "2.1.83", "2.1.84", "2.1.86"];

    #[test]
    fn the_direction_follows_the_order_of_the_ends() -> Result<(), String> {
        let listing = published(&LINE);
        let (line, config, notes) =
            plan(&request(Some("2.1.80"), Some("2.1.84"), false), &listing)?;
        assert_eq!(config.direction, Direction::Regression);
        assert_eq!(line.len(), 4);
        assert_eq!((config.old_end, config.new_end), (Some(0), Some(3)));
        assert!(notes.is_empty());
        // The good end newer: a fix, said so; with --find-fix, silently.
        let (line, config, notes) =
            plan(&request(Some("2.1.84"), Some("2.1.80"), false), &listing)?;
        assert_eq!(config.direction, Direction::Fix);
        assert_eq!(line[0].version, "2.1.80");
        assert_eq!(notes.len(), 1);
        let (_, _, notes) = plan(&request(Some("2.1.84"), Some("2.1.80"), true), &listing)?;
        assert!(notes.is_empty());
        // --find-fix with the good end older is a contradiction.
        assert!(plan(&request(Some("2.1.80"), Some("2.1.84"), true), &listing).is_err());
        assert!(plan(&request(Some("2.1.80"), Some("2.1.999"), false), &listing).is_err());
        assert!(plan(&request(Some("2.1.80"), Some("2.1.80"), false), &listing).is_err());
        Ok(())
    }

    #[test]
    fn a_missing_end_opens_the_line_to_the_first_or_newest_version() -> Result<(), String> {
        let listing = published(&LINE);
        let (line, config, _) = plan(&request(None, Some("2.1.84"), false), &listing)?;
        assert_eq!(line.first().map(|p| p.version.as_str()), Some("2.1.79"));
        assert_eq!((config.old_end, config.new_end), (None, Some(4)));
        let (line, config, _) = plan(&request(None, Some("2.1.81"), true), &listing)?;
        assert_eq!(line.first().map(|p| p.version.as_str()), Some("2.1.81"));
        assert_eq!(line.last().map(|p| p.version.as_str()), Some("2.1.86"));
        assert_eq!((config.old_end, config.new_end), (Some(0), None));
        Ok(())
    }

    #[test]
    fn the_state_file_is_per_arguments_and_commands_are_quoted() {
        let store = VersionStore::at(
            "/tmp/store dir",
            &crate::clients::claude_code::package::PACKAGE,
        );
        let a = state_path(&store, &request(Some("2.1.80"), Some("2.1.84"), false));
        let b = state_path(&store, &request(Some("2.1.80"), Some("2.1.86"), false));
        assert_ne!(a, b);
        assert!(a.starts_with("/tmp/store dir/bisect"));
        let cmd = reproduce_command(
            &store,
            &request(None, None, false),
            "2.1.81",
            Observation::Fail,
        );
        assert_eq!(
            cmd,
            "HARNESS_CACHE_DIR='/tmp/store dir' harness run --scenario session_lost --cli-version 2.1.81    # expect check reinitialized-after-session-loss: FAIL"
        );
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
