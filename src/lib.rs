//! What spans the whole workspace: the cross-ownership flows observed over HTTP against
//! either pair ([`flows`]), both pairs started in-process on fresh databases ([`pairs`]),
//! and the impact matrix built from them ([`matrix`], run by `kit matrix`). The
//! integration tests in `tests/` drive the same code against real Postgres containers.

pub mod flows;
pub mod matrix;
pub mod pairs;
