//! Failure class 2, the callback (`callback_port_taken`): the harness holds the client's fixed
//! callback port, as another process would, before the person authenticates. Qwen Code (7777)
//! in `make test-clients`; a client that picks a port per login is not applicable, with that as
//! the evidence. The check's negative controls are unit tests (a hang, a silent failure, a
//! success on the taken port).

use harness::checks::callback_port::PORT_CONFLICT_HANDLED;
use harness::checks::Verdict;
use harness::scenarios::Scenario;

use crate::support::{pinned_client, real_cli_slot, run_on_mock};

#[test]
fn a_client_that_picks_its_port_per_login_has_no_port_to_take() -> anyhow::Result<()> {
    let driver = pinned_client("claude-code")?;
    let (report, text) = run_on_mock(
        driver.as_ref(),
        Scenario::CALLBACK_PORT_TAKEN,
        &Default::default(),
    )?;
    let check = report
        .check("fixed-callback-port")
        .ok_or_else(|| anyhow::anyhow!("no verdict on the port:\n{text}"))?;
    assert_eq!(check.verdict, Verdict::NotApplicable, "{text}");
    assert!(report.access_log.is_empty(), "{text}");
    Ok(())
}

#[test]
#[ignore = "make test-clients"]
fn callback_port_real_qwen_code_says_its_port_is_taken_yet_sends_the_browser_there(
) -> anyhow::Result<()> {
    let _slot = real_cli_slot();
    let driver = pinned_client("qwen-code")?;
    let (report, text) = run_on_mock(
        driver.as_ref(),
        Scenario::CALLBACK_PORT_TAKEN,
        &Default::default(),
    )?;
    // Qwen Code 0.24.4 prints EADDRINUSE, then sends the browser to authorize with a redirect to
    // the held port anyway (suites/expectations.toml).
    let check = report.check(PORT_CONFLICT_HANDLED);
    assert_eq!(check.map(|c| c.verdict), Some(Verdict::Fail), "{text}");
    assert!(
        check.is_some_and(|c| c.summary.contains("yet sent the browser")),
        "{text}"
    );
    Ok(())
}
