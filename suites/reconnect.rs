//! `cargo test --test reconnect`: the project's one integration-test binary, a module per area.

#[path = "reconnect/support.rs"]
mod support;

#[path = "reconnect/agent.rs"]
mod agent;
#[path = "reconnect/bisect.rs"]
mod bisect;
#[path = "reconnect/callback_port.rs"]
mod callback_port;
#[path = "reconnect/check_controls.rs"]
mod check_controls;
#[path = "reconnect/claude_code.rs"]
mod claude_code;
#[path = "reconnect/codex.rs"]
mod codex;
#[path = "reconnect/cold.rs"]
mod cold;
#[path = "reconnect/conformance.rs"]
mod conformance;
#[path = "reconnect/container.rs"]
mod container;
#[path = "reconnect/copilot_cli.rs"]
mod copilot_cli;
#[path = "reconnect/discovery.rs"]
mod discovery;
#[path = "reconnect/discovery_controls.rs"]
mod discovery_controls;
#[path = "reconnect/era.rs"]
mod era;
#[path = "reconnect/gemini_cli.rs"]
mod gemini_cli;
#[path = "reconnect/inproc.rs"]
mod inproc;
#[path = "reconnect/kilo.rs"]
mod kilo;
#[path = "reconnect/legacy_sse.rs"]
mod legacy_sse;
#[path = "reconnect/lifecycle.rs"]
mod lifecycle;
#[path = "reconnect/mcp_inspector.rs"]
mod mcp_inspector;
#[path = "reconnect/mcp_remote.rs"]
mod mcp_remote;
#[path = "reconnect/mock_fuzz.rs"]
mod mock_fuzz;
#[path = "reconnect/mock_lifecycle.rs"]
mod mock_lifecycle;
#[path = "reconnect/mock_load.rs"]
mod mock_load;
#[path = "reconnect/mock_security.rs"]
mod mock_security;
#[path = "reconnect/mock_shapes.rs"]
mod mock_shapes;
#[path = "reconnect/mock_strictness.rs"]
mod mock_strictness;
#[path = "reconnect/mock_walkthrough.rs"]
mod mock_walkthrough;
#[path = "reconnect/netns.rs"]
mod netns;
#[path = "reconnect/opencode.rs"]
mod opencode;
#[path = "reconnect/profile_mock.rs"]
mod profile_mock;
#[path = "reconnect/profiles.rs"]
mod profiles;
#[path = "reconnect/python_server.rs"]
mod python_server;
#[path = "reconnect/qwen_code.rs"]
mod qwen_code;
#[path = "reconnect/real_home.rs"]
mod real_home;
#[path = "reconnect/resumed.rs"]
mod resumed;
#[path = "reconnect/server.rs"]
mod server;
#[path = "reconnect/shapes.rs"]
mod shapes;
#[path = "reconnect/shared_store.rs"]
mod shared_store;
#[path = "reconnect/static_key.rs"]
mod static_key;
