//! `conformance-server`: the official MCP conformance suite's server and authorization-server
//! scenarios against the mock binary (`make conformance-server`). Prints the table scenario ×
//! revision × profile; exits 1 when an applicable scenario fails, 2 when it cannot run at all.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use harness::conformance::server::{
    default_targets, run_authorization, run_server, Options, Results, Suite,
};

#[derive(Debug, Parser)]
struct Args {
    /// The mock-server binary (default: the one beside this program, same target directory).
    #[arg(long)]
    mock_binary: Option<PathBuf>,
    /// Profiles to run, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "default,seed,conformance"
    )]
    profiles: Vec<String>,
    /// Registration modes for the authorization-server scenarios, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "dynamic,pre-registered,client-id-metadata"
    )]
    registrations: Vec<String>,
    /// Where each run's checks.json and logs go.
    #[arg(long, default_value = "target/conformance-server")]
    out: PathBuf,
    /// Seconds one suite run against one server may take before it is stopped.
    #[arg(long, default_value_t = 300)]
    run_timeout: u64,
    /// Seconds one scenario run alone (or one authorization run) may take.
    #[arg(long, default_value_t = 90)]
    scenario_timeout: u64,
    /// Also write the results as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Also write the Markdown table here.
    #[arg(long)]
    markdown: Option<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mock_binary = args.mock_binary.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .ok()
            .and_then(|exe| exe.parent().map(|d| d.join("mock-server")))
            .unwrap_or_else(|| PathBuf::from("target/debug/mock-server"))
    });
    let options = Options {
        mock_binary,
        out: args.out.clone(),
        targets: default_targets(&args.profiles),
        run_deadline: Duration::from_secs(args.run_timeout),
        scenario_deadline: Duration::from_secs(args.scenario_timeout),
        registrations: args.registrations.clone(),
    };
    let started = std::time::Instant::now();
    let suite = match Suite::ensure() {
        Ok(suite) => suite,
        Err(e) => {
            eprintln!("conformance-server: {e}");
            return ExitCode::from(2);
        }
    };
    eprintln!(
        "conformance-server: suite @modelcontextprotocol/conformance {} ready after {} s",
        suite.version,
        started.elapsed().as_secs()
    );
    let server = match run_server(&suite, &options) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("conformance-server: {e}");
            return ExitCode::from(2);
        }
    };
    let authorization = match run_authorization(&suite, &options) {
        Ok(results) => results,
        Err(e) => {
            eprintln!("conformance-server: {e}");
            return ExitCode::from(2);
        }
    };
    let report = |title: &str, results: &Results| {
        format!(
            "## {title} (suite {}, {} s)\n\n{}",
            results.suite_version,
            started.elapsed().as_secs(),
            results.markdown()
        )
    };
    let text = format!(
        "{}\n{}",
        report("Server scenarios", &server),
        report("Authorization-server scenarios", &authorization)
    );
    println!("{text}");
    if let Some(path) = &args.markdown {
        if let Err(e) = std::fs::write(path, &text) {
            eprintln!("conformance-server: {}: {e}", path.display());
        }
    }
    if let Some(path) = &args.json {
        let json = serde_json::json!({"server": server, "authorization": authorization});
        let written = serde_json::to_string_pretty(&json)
            .map_err(|e| e.to_string())
            .and_then(|j| std::fs::write(path, j).map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("conformance-server: {}: {e}", path.display());
        }
    }
    if server.failed() || authorization.failed() {
        eprintln!("conformance-server: an applicable scenario failed (the table says which and why; checks.json under {})", args.out.display());
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
