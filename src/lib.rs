//! The root package of shared-db-kit holds no code of its own: it exists so that the
//! integration tests in `tests/` can drive every crate of the workspace (kit, legacy,
//! migrated) together, against real Postgres containers.
