//! The customers schema: who owns it, and its own migration history (inside the schema).

use chassis::DatabaseUrl;
use chassis::migrate::MigrateError;
use chassis::ownership::Owner;

mod embedded {
    refinery::embed_migrations!("../../migrations/customers");
}

pub const SCHEMA: &str = "customers";
/// The shape this service's queries expect, over whatever its tables are today.
pub const SHAPE_SCHEMA: &str = "customers_shape";
/// Owns the schema and runs its migrations; cannot log in.
pub const OWNER_ROLE: &str = "customers_owner";
/// The running service's login: DML on its own schema, nothing else.
pub const RUNTIME_ROLE: &str = "customers_svc";

/// The service's place in the database.
pub fn owner(runtime_password: &str) -> Owner {
    Owner {
        schema: SCHEMA,
        shape_schema: SHAPE_SCHEMA,
        owner_role: OWNER_ROLE,
        runtime_role: RUNTIME_ROLE,
        runtime_password: runtime_password.into(),
    }
}

/// Applies the schema's pending migrations as its owner; returns how many it applied.
pub async fn migrate(admin: &DatabaseUrl) -> Result<usize, MigrateError> {
    chassis::ownership::migrate(admin, SCHEMA, OWNER_ROLE, embedded::migrations::runner()).await
}
