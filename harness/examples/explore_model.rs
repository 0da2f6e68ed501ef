// Throwaway exploration (not committed): what does the CLI send the model around authentication?
use std::time::Duration;

use harness::sandbox::Sandbox;
use harness::terminal::{Key, TerminalSession};
use harness::versions::VersionStore;
use mock_server::model_api::{ModelApi, ModelScript, Turn};
use mock_server::MockServer;
use serde_json::json;

fn main() -> anyhow::Result<()> {
    let version = std::env::var("V").unwrap_or_else(|_| "2.1.331".into());
    let install = VersionStore::from_env().ensure(&version)?;
    let mock = MockServer::builder().start_blocking()?;
    let model = ModelApi::start_scripted(
        ModelScript::new()
            .turn(
                Turn::new()
                    .call(
                        "mcp__mock__complete_authentication",
                        json!({"callback_url": "http://localhost:1/callback?code=x&state=y"}),
                    )
                    .say("Open the link."),
            )
            .turn(
                Turn::new()
                    .call("mcp__mock__hello", json!({"name":"x"}))
                    .say("Done."),
            ),
    )?;
    let sandbox = Sandbox::new("explore")?;
    let mut add = install.command([
        "mcp",
        "add",
        "--transport",
        "http",
        "-s",
        "user",
        "mock",
        &mock.mcp_url(),
    ]);
    add.envs(&sandbox.client_env(&model.uri()))
        .cwd(sandbox.work_dir());
    add.run(Duration::from_secs(60))?;
    let mut spec = install.command([
        "--allowedTools",
        "mcp__mock",
        "--debug-file",
        "/tmp/explore-debug.log",
    ]);
    spec.envs(&sandbox.client_env(&model.uri()))
        .cwd(sandbox.work_dir());
    let mut s = TerminalSession::spawn(&spec, 50, 200)?;
    s.wait_for_any("start", Duration::from_secs(60), &["Claude Code"])?;
    std::thread::sleep(Duration::from_secs(3));
    s.type_text("please connect to the mock server")?;
    std::thread::sleep(Duration::from_millis(500));
    s.press(Key::Enter)?;
    std::thread::sleep(Duration::from_secs(15));
    println!("SCREEN1:\n{}", s.screen());
    let log = std::fs::read_to_string(sandbox.browser_log()).unwrap_or_default();
    println!("BROWSER LOG: {log}");
    std::fs::write(
        "/tmp/explore-views.json",
        serde_json::to_string_pretty(&model.views())?,
    )?;
    std::fs::write(
        "/tmp/explore-requests.json",
        serde_json::to_string_pretty(&model.received_requests())?,
    )?;
    println!("REPORT {:?}", model.script_report());
    println!(
        "ACCESS\n{}",
        mock_server::render_canonical(&mock.received_requests())
    );
    Ok(())
}
