//! Server lints: checks on the server's side, judged from what the recording proxy saw of a run
//! ([`crate::proxy::Exchange`]s: bodies as the server sent them, before any rewrite). Each cites
//! the rule it enforces; a failing lint says "your server, not the client". They are
//! [`Check`]s, so the run's tables show them like the client checks.
//!
//! `mcp.rs`: shapes of MCP results; `oauth.rs`: metadata documents and token responses.

pub mod mcp;
pub mod oauth;

use crate::checks::{Check, Verdict};
use crate::proxy::Exchange;

/// Every lint, in the order reports list them.
pub fn server_lints(exchanges: &[Exchange]) -> Vec<Check> {
    vec![
        mcp::input_schema_properties_object(exchanges),
        oauth::issuer_matches_metadata_url(exchanges),
        oauth::resource_matches_metadata_url(exchanges),
        oauth::resource_metadata_names_authorization_servers(exchanges),
        oauth::metadata_advertises_pkce_s256(exchanges),
        oauth::token_response_no_store(exchanges),
    ]
}

/// The lints that failed, by name.
pub fn failed(lints: &[Check]) -> Vec<&str> {
    lints
        .iter()
        .filter(|l| l.verdict == Verdict::Fail)
        .map(|l| l.name.as_str())
        .collect()
}

/// The report's lines for `lints`: one per lint, evidence under the ones that did not pass.
pub fn render(lints: &[Check]) -> String {
    let mut text = String::from("server lints (from the recorded traffic):\n");
    for lint in lints {
        text.push_str(&format!(
            "  {:<5} {}: {}\n",
            lint.verdict.as_str(),
            lint.name,
            lint.summary
        ));
        if lint.verdict != Verdict::Pass {
            for line in &lint.evidence {
                text.push_str(&format!("        {line}\n"));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use mock_server::client::StandInClient;
    use mock_server::{MockServer, Quirk};

    use super::*;
    use crate::mock::MockTarget;
    use crate::proxy::{ProxyOptions, RecordingProxy};

    fn lints_through_proxy(mock: &MockServer) -> anyhow::Result<Vec<Check>> {
        let proxy = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut client = StandInClient::new(&proxy.mcp_url())?;
            client.run().await.map(|_| ())
        })?;
        Ok(server_lints(&proxy.exchanges()))
    }

    /// The mock as it ships passes every lint; with the reported bug's quirk (`[]` for empty
    /// `inputSchema.properties`) the properties lint fails and names the tool.
    #[test]
    fn the_mock_passes_the_lints_and_its_empty_properties_quirk_fails_one() -> anyhow::Result<()> {
        let clean = lints_through_proxy(&MockServer::builder().start_blocking()?)?;
        for lint in &clean {
            assert_eq!(lint.verdict, Verdict::Pass, "{}", render(&clean));
        }
        let quirky = lints_through_proxy(
            &MockServer::builder()
                .quirk(Quirk::EmptyPropertiesAsArray)
                .start_blocking()?,
        )?;
        assert_eq!(failed(&quirky), vec![mcp::INPUT_SCHEMA_PROPERTIES]);
        let text = render(&quirky);
        assert!(text.contains("inputSchema.properties = []"), "{text}");
        Ok(())
    }
}
