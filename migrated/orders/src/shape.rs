//! The shape of this service's own table after the releases its team has shipped
//! (`orders.schema_releases`). The SQL follows the shape; the API never does: money stays
//! a decimal string and statuses stay `NEW`, `PAID`, `SHIPPED`, `CANCELLED`.

use std::collections::BTreeSet;

/// The API's statuses and what `status-vocabulary` stores for each.
const VOCABULARY: [(&str, &str); 4] = [
    ("NEW", "pending"),
    ("PAID", "paid"),
    ("SHIPPED", "shipped"),
    ("CANCELLED", "cancelled"),
];

/// What the releases changed in the orders table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrdersTable {
    /// `money-in-cents`: `total` holds integer cents.
    pub cents: bool,
    /// `status-vocabulary`: `status` holds the payment provider's lower-case words.
    pub new_vocabulary: bool,
}

impl OrdersTable {
    pub fn from_releases(releases: &BTreeSet<String>) -> Self {
        Self {
            cents: releases.contains("money-in-cents"),
            new_vocabulary: releases.contains("status-vocabulary"),
        }
    }

    /// What the table stores for one of the API's statuses.
    pub fn stored<'a>(&self, status: &'a str) -> &'a str {
        match VOCABULARY.iter().find(|(api, _)| *api == status) {
            Some((_, stored)) if self.new_vocabulary => stored,
            _ => status,
        }
    }

    /// The `status` column, read as the API's status.
    pub fn api_status(&self) -> String {
        if !self.new_vocabulary {
            return "status".to_owned();
        }
        let arms: String = VOCABULARY
            .iter()
            .map(|(api, stored)| format!(" WHEN '{stored}' THEN '{api}'"))
            .collect();
        format!("CASE status{arms} END")
    }

    /// An amount of money as the API has always had it: a decimal with two places.
    /// `column` may be a sum, hence no cast to the column's old `NUMERIC(12, 2)`.
    pub fn money(&self, column: &str) -> String {
        if self.cents {
            format!("round({column} / 100.0, 2)")
        } else {
            column.to_owned()
        }
    }

    /// What to store for the API's `total` in `param`.
    pub fn stored_total(&self, param: &str) -> String {
        if self.cents {
            format!("({param} * 100)::bigint")
        } else {
            param.to_owned()
        }
    }

    /// The columns of a `db::Order`, under the names and meanings the API has always used.
    pub fn columns(&self) -> String {
        format!(
            "id, customer_id, {} AS status, {} AS total, created_at",
            self.api_status(),
            self.money("total")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(ids: &[&str]) -> OrdersTable {
        OrdersTable::from_releases(&ids.iter().map(|id| id.to_string()).collect())
    }

    #[test]
    fn no_release_stores_what_the_api_says() {
        let table = shape(&[]);
        assert_eq!(table.stored("NEW"), "NEW");
        assert_eq!(
            table.columns(),
            "id, customer_id, status AS status, total AS total, created_at"
        );
    }

    #[test]
    fn the_new_vocabulary_maps_both_ways() {
        let table = shape(&["status-vocabulary", "money-in-cents"]);
        assert_eq!(table.stored("NEW"), "pending");
        assert_eq!(table.stored("CANCELLED"), "cancelled");
        assert!(table.api_status().contains("WHEN 'pending' THEN 'NEW'"));
        assert_eq!(table.stored_total("$2"), "($2 * 100)::bigint");
    }
}
