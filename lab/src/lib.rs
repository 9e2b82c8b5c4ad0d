//! The lab bench: what only the demonstrator and the tests need, never a service. Where
//! Postgres comes from ([`postgres`]), fresh databases copied from templates
//! ([`databases`]), the test harness ([`harness`]), the scenario
//! catalogue ([`scenario`]), the seed ([`seed`]), the OpenAPI contract diff ([`openapi`]),
//! both pairs started one way ([`pairs`]), the cross-ownership flows observed over HTTP
//! ([`flows`]), the impact matrix ([`matrix`]) with its load while a release ships
//! ([`during`]), the soak under faults ([`soak`]), the
//! benchmark of both pairs ([`bench`]) and the command lines of the `legacy`,
//! `migrated` and `kit` binaries ([`cli`]).

pub mod bench;
pub mod cli;
pub mod databases;
pub mod during;
pub mod flows;
pub mod harness;
pub mod matrix;
pub mod openapi;
pub mod pairs;
pub mod postgres;
pub mod road;
pub mod scenario;
pub mod seed;
pub mod soak;
