//! The subcommands that need more than a few lines: run, bisect, matrix and report, versions and
//! features; and what all that run clients do when interrupted.

pub mod bisect;
pub mod capture;
pub mod interrupt;
pub mod matrix;
pub mod reference;
pub mod run;
pub mod versions;
