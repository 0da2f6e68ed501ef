//! The help probe: what an installed Claude Code version can do, read from its own help texts
//! (`--help`, `mcp --help`, `mcp add --help`) once and cached beside the install.

use crate::drive::command::CommandSpec;
use crate::drive::sandbox::Sandbox;
use crate::store::features::{FeatureCache, FeatureError, Features, HELP_TIMEOUT};
use crate::store::versions::InstalledVersion;

/// Runs a help command of the real CLI in a throw-away sandbox.
fn run_help(
    install: &InstalledVersion,
    sandbox: &Sandbox,
    args: &[&str],
) -> Result<String, FeatureError> {
    let mut spec: CommandSpec = install.command(args.iter().map(|a| (*a).to_owned()));
    // No model API is needed for help; the address is never contacted.
    spec.envs(&crate::clients::claude_code::sandbox::client_env(
        sandbox,
        "http://127.0.0.1:9",
    ))
    .cwd(sandbox.work_dir());
    let out = spec.run(HELP_TIMEOUT).map_err(|e| FeatureError::Probe {
        command: spec.shell_line(),
        problem: "could not start".to_owned(),
        output: e.to_string(),
    })?;
    let text = format!("{}{}", out.stdout, out.stderr);
    if out.timed_out || out.status != Some(0) {
        return Err(FeatureError::Probe {
            command: spec.shell_line(),
            problem: if out.timed_out {
                format!("gave no answer within {} s", HELP_TIMEOUT.as_secs())
            } else {
                format!("exited with {:?}", out.status)
            },
            output: text,
        });
    }
    Ok(text)
}

/// The features of an installed version: from its cache, else probed from its help and cached.
pub fn features_of(install: &InstalledVersion) -> Result<Features, FeatureError> {
    let cache = FeatureCache::for_install(install);
    let mut sandbox: Option<Sandbox> = None;
    cache.load_or_probe(&install.version, install.packaging, &mut |args| {
        if sandbox.is_none() {
            sandbox = Some(Sandbox::new("probe").map_err(|source| FeatureError::Io {
                path: std::env::temp_dir(),
                source,
            })?);
        }
        let Some(sb) = sandbox.as_ref() else {
            return Err(FeatureError::Io {
                path: std::env::temp_dir(),
                source: std::io::Error::other("no probe sandbox"),
            });
        };
        run_help(install, sb, args)
    })
}
