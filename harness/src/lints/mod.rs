//! Server lints: checks on the server's side, judged from what the recording proxy saw of a run
//! ([`crate::proxy::Exchange`]s: bodies as the server sent them, before any rewrite). Each cites
//! the rule it enforces; a failing lint says "your server, not the client". They are
//! [`Check`]s, so the run's tables show them like the client checks.
//!
//! `mcp.rs`: shapes of MCP results; `schema.rs`: every result against the published MCP JSON
//! schema of the negotiated revision; `oauth.rs`: metadata documents and token responses;
//! `http.rs`: the 401 challenge, token errors, registration responses, the session header.

pub mod http;
pub mod mcp;
pub mod oauth;
pub mod schema;

use crate::checks::{Check, Verdict};
use crate::proxy::Exchange;

/// Every lint, in the order reports list them.
pub fn server_lints(exchanges: &[Exchange]) -> Vec<Check> {
    vec![
        mcp::input_schema_properties_object(exchanges),
        schema::initialize_result(exchanges),
        schema::list_tools_result(exchanges),
        schema::other_results(exchanges),
        schema::jsonrpc_response(exchanges),
        schema::tool_name_format(exchanges),
        oauth::issuer_matches_metadata_url(exchanges),
        oauth::resource_matches_metadata_url(exchanges),
        oauth::resource_metadata_names_authorization_servers(exchanges),
        oauth::metadata_advertises_pkce_s256(exchanges),
        oauth::token_response_no_store(exchanges),
        http::unauthorized_challenge(exchanges),
        http::token_error_json(exchanges),
        http::registration_response(exchanges),
        http::session_id_visible_ascii(exchanges),
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

    fn lints_through_proxy(mock: &MockServer, modern: bool) -> anyhow::Result<Vec<Check>> {
        let proxy = RecordingProxy::start(&mock.mcp_url(), &ProxyOptions::default())?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let mut client = StandInClient::new(&proxy.mcp_url())?;
            if modern {
                client = client.speak_modern();
            }
            client.run().await.map(|_| ())
        })?;
        Ok(server_lints(&proxy.exchanges()))
    }

    /// Every OAuth lint's name is in the list `--bearer-file` marks not applicable (the list is
    /// spelled out there, below this module).
    #[test]
    fn every_oauth_lint_is_marked_not_applicable_under_a_pre_issued_token() {
        let mut lints = server_lints(&[]);
        crate::checks::pre_issued::mark_oauth_not_applicable(&mut lints);
        for lint in &lints {
            let oauth = lint.name.starts_with("metadata-")
                || lint.name.starts_with("token-")
                || lint.name.starts_with("resource-metadata")
                || lint.name == http::UNAUTHORIZED_CHALLENGE
                || lint.name == http::REGISTRATION_RESPONSE;
            assert_eq!(
                lint.summary == crate::checks::pre_issued::REASON,
                oauth,
                "{}",
                lint.name
            );
        }
    }

    /// A clean session has no token error to judge (that lint is n/a); every other lint passes.
    fn assert_every_lint_passes_but_token_errors(lints: &[Check]) {
        for lint in lints {
            let expected = if lint.name == http::TOKEN_ERROR_JSON {
                Verdict::NotApplicable
            } else {
                Verdict::Pass
            };
            assert_eq!(lint.verdict, expected, "{}", render(lints));
        }
    }

    /// The mock as it ships passes every lint, the schema ones judged (not n/a); with the
    /// reported bug's quirk (`[]` for empty `inputSchema.properties`) the properties lint and
    /// the `ListToolsResult` schema lint fail, naming the tool and the field.
    #[test]
    fn the_mock_passes_the_lints_and_its_empty_properties_quirk_fails_two() -> anyhow::Result<()> {
        let clean = lints_through_proxy(&MockServer::builder().start_blocking()?, false)?;
        assert_every_lint_passes_but_token_errors(&clean);
        let quirky = lints_through_proxy(
            &MockServer::builder()
                .quirk(Quirk::EmptyPropertiesAsArray)
                .start_blocking()?,
            false,
        )?;
        assert_eq!(
            failed(&quirky),
            vec![mcp::INPUT_SCHEMA_PROPERTIES, schema::LIST_TOOLS_RESULT]
        );
        let text = render(&quirky);
        assert!(text.contains("inputSchema.properties = []"), "{text}");
        assert!(text.contains("/inputSchema/properties"), "{text}");
        Ok(())
    }

    /// Under 2025-11-25 (the 2020-12 schemas), the mock's results match that revision's
    /// published schema, every schema lint judged.
    #[test]
    fn the_mock_speaking_2025_11_25_passes_that_revisions_schema() -> anyhow::Result<()> {
        let mock = MockServer::builder()
            .revisions(&[mock_server::Revision::V2025_11_25])
            .start_blocking()?;
        let lints = lints_through_proxy(&mock, false)?;
        assert_every_lint_passes_but_token_errors(&lints);
        let initialize = lints.iter().find(|l| l.name == schema::INITIALIZE_RESULT);
        let evidence = initialize
            .map(|l| l.evidence.join("\n"))
            .unwrap_or_default();
        assert!(
            evidence.contains("a valid InitializeResult (2025-11-25)"),
            "{evidence}"
        );
        Ok(())
    }

    /// Speaking 2026-07-28 (`server/discover`, no `initialize`), the mock's results match that
    /// revision's published schema (`cacheScope` and `ttlMs` included, since the mock's caching
    /// hints; before them this test failed naming both).
    #[test]
    fn the_mock_speaking_2026_07_28_passes_that_revisions_schema() -> anyhow::Result<()> {
        let mock = MockServer::builder()
            .revisions(&[mock_server::Revision::V2026_07_28])
            .start_blocking()?;
        let lints = lints_through_proxy(&mock, true)?;
        let text = render(&lints);
        assert_eq!(failed(&lints), Vec::<&str>::new(), "{text}");
        for name in [schema::INITIALIZE_RESULT, schema::LIST_TOOLS_RESULT] {
            let lint = lints.iter().find(|l| l.name == name);
            assert_eq!(lint.map(|l| l.verdict), Some(Verdict::Pass), "{text}");
        }
        Ok(())
    }
}
