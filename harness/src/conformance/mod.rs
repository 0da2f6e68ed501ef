//! The official MCP conformance suite (`@modelcontextprotocol/conformance`), installed at an exact
//! version through the harness's own store like the clients, and run both ways: its server
//! scenarios against the mock, and its client scenarios through the real clients the harness
//! drives.

pub mod checks_file;
pub mod client_mode;
pub mod handoff;
pub mod server;
pub mod suite;
