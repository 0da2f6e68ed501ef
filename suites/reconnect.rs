//! `cargo test --test reconnect`: the project's one integration-test binary, a module per area.

#[path = "reconnect/support.rs"]
mod support;

#[path = "reconnect/agent.rs"]
mod agent;
#[path = "reconnect/check_controls.rs"]
mod check_controls;
#[path = "reconnect/claude_code.rs"]
mod claude_code;
#[path = "reconnect/mock_strictness.rs"]
mod mock_strictness;
#[path = "reconnect/mock_walkthrough.rs"]
mod mock_walkthrough;
#[path = "reconnect/profile_mock.rs"]
mod profile_mock;
#[path = "reconnect/profiles.rs"]
mod profiles;
