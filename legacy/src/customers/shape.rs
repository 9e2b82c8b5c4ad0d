//! The customers table as the customers team's releases left it (`schema_releases`, owner
//! `customers`). This service's own SQL follows the shape and its API never changes. The
//! SQL in this crate that reads `orders` follows nothing: that table is another team's.

use std::collections::BTreeSet;

/// What the releases changed in the customers table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CustomersTable {
    /// `rename-table`: the table is `clients`.
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
                "clients"
            } else {
                "customers"
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
        // A one-word name has an empty family name: give back the word, no trailing space.
        let name = if self.split_name {
            "concat_ws(' ', given_name, NULLIF(family_name, ''))"
        } else {
            "name"
        };
        let email = self.email;
        format!("id, {name} AS name, {email} AS email, phone, status, created_at")
    }

    /// The rows that are customers: a soft-deleted row is not one, anywhere in this service.
    pub fn live(&self) -> &'static str {
        if self.soft_delete {
            "deleted_at IS NULL"
        } else {
            "TRUE"
        }
    }

    /// The name columns and their values for the API's `name` in `param`, split at the
    /// first space as the release split the existing rows. A NULL `param` gives NULLs.
    pub fn name_values(&self, param: &str) -> Vec<(&'static str, String)> {
        if !self.split_name {
            return vec![("name", param.to_owned())];
        }
        vec![
            ("given_name", format!("split_part({param}, ' ', 1)")),
            (
                "family_name",
                format!("substr({param}, strpos({param} || ' ', ' ') + 1)"),
            ),
        ]
    }

    /// The columns and values of an INSERT from the API's name, email and phone in `$1..$3`.
    pub fn insert(&self) -> (String, String) {
        let mut pairs = self.name_values("$1");
        pairs.extend([(self.email, "$2".to_owned()), ("phone", "$3".to_owned())]);
        if self.country {
            // Required now; every customer this service has signed up is in GB.
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
        let t = shape(&[]);
        assert_eq!(
            t.columns(),
            "id, name AS name, email AS email, phone, status, created_at"
        );
        assert_eq!(
            t.insert(),
            ("name, email, phone".into(), "$1, $2, $3".into())
        );
        assert_eq!((t.table, t.live()), ("customers", "TRUE"));
    }

    #[test]
    fn each_release_changes_its_own_part() {
        let t = shape(&[
            "rename-table",
            "rename-email",
            "split-name",
            "soft-delete",
            "required-column",
        ]);
        assert_eq!((t.table, t.live()), ("clients", "deleted_at IS NULL"));
        assert!(t.columns().contains("email_address AS email"));
        let (columns, values) = t.insert();
        assert_eq!(
            columns,
            "given_name, family_name, email_address, phone, country"
        );
        assert!(values.ends_with("$2, $3, 'GB'"), "{values}");
    }
}
