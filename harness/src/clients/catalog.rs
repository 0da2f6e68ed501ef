//! Every client the harness can drive, by name: its package, its login paths, and how to make a
//! driver for an installed version. A new client is a folder under `clients/` and a line here.

pub use crate::clients::kind::ClientKind;

/// Every client, in the order tables show them.
pub static ALL: &[&ClientKind] = &[
    &crate::clients::claude_code::KIND,
    &crate::clients::codex::KIND,
    &crate::clients::gemini_cli::KIND,
    &crate::clients::opencode::KIND,
    &crate::clients::kilo::KIND,
    &crate::clients::copilot_cli::KIND,
    &crate::clients::qwen_code::KIND,
    &crate::clients::mcp_inspector::KIND,
    &crate::clients::mcp_remote::KIND,
];

/// The client named `name`, or an error that lists the ones there are.
pub fn by_name(name: &str) -> Result<&'static ClientKind, String> {
    ALL.iter().copied().find(|k| k.name == name).ok_or_else(|| {
        format!(
            "`{name}` is not a client the harness drives; `harness clients` lists them: {}",
            ALL.iter().map(|k| k.name).collect::<Vec<_>>().join(", ")
        )
    })
}

/// The default client.
pub fn default_kind() -> &'static ClientKind {
    ALL[0]
}

/// `--client a,b,c` (or `all`), each name checked.
pub fn parse_list(text: &str) -> Result<Vec<&'static ClientKind>, String> {
    if text.trim() == "all" {
        return Ok(ALL.to_vec());
    }
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(by_name)
        .collect()
}
