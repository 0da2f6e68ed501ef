//! `cargo test --test reconnect`: the project's one integration-test binary, a module per area.

#[path = "reconnect/support.rs"]
mod support;

#[path = "reconnect/check_controls.rs"]
mod check_controls;
#[path = "reconnect/claude_code.rs"]
mod claude_code;
#[path = "reconnect/container.rs"]
mod container;
#[path = "reconnect/mock_strictness.rs"]
mod mock_strictness;
#[path = "reconnect/mock_walkthrough.rs"]
mod mock_walkthrough;
