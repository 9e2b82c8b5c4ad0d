//! The migrated pair wired together: the `migrated` command line, and what it is made of
//! (bootstrap and migrations, seed, each service's app, shipping an owner's release), which
//! `kit matrix` uses to run the same pair in-process.

pub mod cli;

pub use cli::{CallPolicy, Secrets, customers_app, migrate, orders_app, seed, ship};
