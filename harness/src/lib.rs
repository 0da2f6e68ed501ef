//! Runs real MCP clients headlessly against the mock OAuth 2.1 + MCP server and judges, from the
//! server's access log and the client's own screens, whether they reconnect after the token
//! exchange.

pub mod agent_scenarios;
pub mod bisect;
pub mod bisect_run;
pub mod browser;
pub mod checks;
pub mod claude_code;
pub mod client;
pub mod command;
pub mod container;
pub mod discovery_checks;
pub mod discovery_variants;
pub mod expectations;
pub mod features;
pub mod isolation;
pub mod lifecycle_scenarios;
pub mod matrix;
pub mod mock;
pub mod model_checks;
pub mod node_runtime;
pub mod registry;
pub mod report;
pub mod reports;
pub mod sandbox;
pub mod scenario;
pub mod soak;
pub mod terminal;
pub mod timeline;
pub mod versions;
