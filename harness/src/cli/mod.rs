//! The subcommands that need more than a few lines: bisect, matrix and report, versions and
//! features.

pub mod bisect;
pub mod matrix;
pub mod versions;
