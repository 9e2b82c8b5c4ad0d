//! The shape of this service's own table after the releases its team has shipped
//! (`customers.schema_releases`). The SQL follows the shape; the API never does: a consumer
//! sees the same customer whatever the table looks like today.

use std::collections::BTreeSet;

/// What the releases changed in the customers table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomersTable {
    /// `rename-table`: the table is `customers.clients`.
    pub table: &'static str,
    /// `rename-email`: the column is `email_address`.
    pub email: &'static str,
    /// `split-name`: `given_name` and `family_name` instead of `name`.
    pub split_name: bool,
    /// `soft-delete`: a deleted customer is a row with `deleted_at` set.
    pub soft_delete: bool,
    /// `required-column`: every row needs a `country`.
    pub country: bool,
}

impl CustomersTable {
    pub fn from_releases(releases: &BTreeSet<String>) -> Self {
        let has = |id: &str| releases.contains(id);
        Self {
            table: if has("rename-table") {
                "customers.clients"
            } else {
                "customers.customers"
            },
            email: if has("rename-email") {
                "email_address"
            } else {
                "email"
            },
            split_name: has("split-name"),
            soft_delete: has("soft-delete"),
            country: has("required-column"),
        }
    }

    /// The columns of a `db::Customer`, under the names the API has always used.
    pub fn columns(&self) -> String {
        // No family name (a one-word name) gives back the one word, not a trailing space.
        let name = if self.split_name {
            "concat_ws(' ', given_name, NULLIF(family_name, ''))"
        } else {
            "name"
        };
        format!(
            "id, {name} AS name, {} AS email, phone, status, created_at, version",
            self.email
        )
    }

    /// The rows that are customers: a soft-deleted row is not one, anywhere.
    pub fn live(&self) -> &'static str {
        if self.soft_delete {
            "deleted_at IS NULL"
        } else {
            "TRUE"
        }
    }

    /// The name columns, each with its value computed from the API's `name` in `param`.
    /// Split at the first space, as the release split the existing rows, keeping the rest
    /// as is so that the name reads back exactly as written.
    pub fn name_values(&self, param: &str) -> Vec<(&'static str, String)> {
        if self.split_name {
            vec![
                ("given_name", format!("split_part({param}, ' ', 1)")),
                (
                    "family_name",
                    format!("substr({param}, strpos({param} || ' ', ' ') + 1)"),
                ),
            ]
        } else {
            vec![("name", param.to_owned())]
        }
    }

    /// The columns an INSERT writes, and their values, from SQL expressions for the API's
    /// name, email and phone (parameters, or columns of a seed).
    pub fn insert(&self, name: &str, email: &str, phone: &str) -> (String, String) {
        let mut pairs = self.name_values(name);
        pairs.extend([(self.email, email.to_owned()), ("phone", phone.to_owned())]);
        if self.country {
            // Every row needs a country now; this service has only served GB customers.
            pairs.push(("country", "'GB'".to_owned()));
        }
        let (columns, values): (Vec<_>, Vec<_>) = pairs.into_iter().unzip();
        (columns.join(", "), values.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(ids: &[&str]) -> CustomersTable {
        CustomersTable::from_releases(&ids.iter().map(|id| id.to_string()).collect())
    }

    #[test]
    fn no_release_is_the_table_of_migration_v1() {
        let table = shape(&[]);
        assert_eq!((table.table, table.email), ("customers.customers", "email"));
        assert!(!table.split_name && !table.soft_delete && !table.country);
    }

    #[test]
    fn each_release_changes_its_own_part() {
        let table = shape(&["rename-table", "rename-email", "split-name", "soft-delete"]);
        assert_eq!(
            (table.table, table.email),
            ("customers.clients", "email_address")
        );
        assert!(table.split_name && table.soft_delete && !table.country);
        assert!(table.columns().contains("email_address AS email"));
    }
}
