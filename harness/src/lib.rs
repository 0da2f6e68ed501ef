//! Runs real MCP clients headlessly against the mock OAuth 2.1 + MCP server and judges, from the
//! server's access log and the client's own screens, whether they reconnect after the token
//! exchange.
//!
//! Each concept has a folder, and imports run one way, from low to high: `console` (everything
//! the harness prints, one writer, `-v`), then `drive` (processes, terminals, browser, sandbox) and `checks` (verdicts from evidence) at the
//! bottom; `store` (versions, installs, features) and `mock` (the server a run talks to); `clients`
//! (the trait and one folder per client); `scenarios` (one file per story, written against client
//! capabilities); `bisect` and `matrix` (many runs); `reports` (tables, JUnit, HTML) on top. The
//! subcommands live in the binary's `cli` folder.

pub mod bisect;
pub mod capture;
pub mod checks;
pub mod clients;
pub mod conformance;
pub mod console;
pub mod drive;
pub mod lints;
pub mod matrix;
pub mod mock;
pub mod proxy;
pub mod reports;
pub mod scenarios;
pub mod store;
