//! The migration kit: a tool for any Postgres that several services share. It reads an
//! ownership manifest, audits who touches whose tables from the server's own evidence,
//! lints a migration against the statements its other readers really run, and puts up and
//! tests the walls between the services (`walls`), and walks a database from one shared
//! login to owned contracts (`road`). It depends
//! on neither pair of the demonstrator nor on its lab bench.

pub mod audit;
pub mod cli;
pub mod lint;
pub mod manifest;
pub mod road;
pub mod sql;
pub mod walls;
