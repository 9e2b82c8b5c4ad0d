//! The command lines of the demonstrator's binaries. Each binary's `main` parses one of
//! these, starts telemetry and runs it; everything they do is here.

pub mod legacy;
pub mod migrated;
