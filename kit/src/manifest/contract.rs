//! A service's contract as the manifest declares it: the schema where the owner publishes
//! what others may use of its data (views to read, functions to write), and the SQL that
//! creates those objects. `kit road` reads this to reach state 2; nothing else does.
//!
//! ```toml
//! [[service]]
//! name = "customers"
//! # ...
//! [service.contract]
//! schema = "customers_api"             # a schema of its own, not one the service owns
//! sql = """
//! CREATE VIEW customers_api.customer_v1 AS SELECT id, name, email FROM public.customers;
//! """
//! ```
//!
//! Every other service of the manifest is a consumer: its runtime role gets USAGE on the
//! schema, SELECT on its views and EXECUTE on its functions, and loses its grants on the
//! owner's tables. The SQL is the owner's: the kit runs it as written, in one transaction
//! with the rest of the step.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::ManifestError;

/// The objects a service publishes for the others.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    /// The schema they live in; dropped whole on the way back from state 2.
    pub schema: String,
    /// The statements that create them, in the schema.
    pub sql: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawContract {
    schema: Spanned<String>,
    sql: Spanned<String>,
}

type Invalid<'a> = &'a dyn Fn(Option<Range<usize>>, String) -> ManifestError;

impl RawContract {
    /// Validates the contract of a service owning `own_schemas`.
    pub fn validate(
        self,
        own_schemas: &[String],
        invalid: Invalid<'_>,
    ) -> Result<Contract, ManifestError> {
        let schema = self.schema.get_ref().clone();
        let plain = schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && schema.len() <= 63;
        if !plain || schema.starts_with("pg_") {
            return Err(invalid(
                Some(self.schema.span()),
                format!(
                    "contract schema `{schema}`: a lower-case name of letters, digits and _, not pg_*"
                ),
            ));
        }
        // Going back drops the contract schema with everything in it: never a data schema.
        if schema == "public" || own_schemas.contains(&schema) {
            return Err(invalid(
                Some(self.schema.span()),
                format!(
                    "contract schema `{schema}` holds data: give the contract a schema of its own"
                ),
            ));
        }
        let sql = self.sql.get_ref().trim().to_owned();
        if !sql.contains(&format!("{schema}.")) {
            return Err(invalid(
                Some(self.sql.span()),
                format!(
                    "contract sql creates nothing in `{schema}`: name its objects `{schema}.<name>`"
                ),
            ));
        }
        Ok(Contract { schema, sql })
    }
}
