//! OpenAI's Codex CLI as a client under test.

pub mod package;

pub use package::PACKAGE;
