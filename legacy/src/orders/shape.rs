//! The orders table as the orders team's releases left it (`schema_releases`, owner
//! `orders`). This service's own SQL follows the shape and its API never changes: money
//! stays a decimal string, statuses stay `NEW`, `PAID`, `SHIPPED`, `CANCELLED`. Its SQL
//! that reaches into `customers` follows nothing: that table is another team's.

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

    /// `o.status`, read as the API's status.
    pub fn status(&self) -> String {
        if !self.new_vocabulary {
            return "o.status".to_owned();
        }
        let arms: String = VOCABULARY
            .iter()
            .map(|(api, stored)| format!(" WHEN '{stored}' THEN '{api}'"))
            .collect();
        format!("CASE o.status{arms} END")
    }

    /// `o.total`, read as the API's money: a decimal with two places.
    pub fn total(&self) -> &'static str {
        if self.cents {
            "round(o.total / 100.0, 2)"
        } else {
            "o.total"
        }
    }

    /// What to store for the API's total in `param`.
    pub fn stored_total(&self, param: &str) -> String {
        if self.cents {
            format!("({param} * 100)::bigint")
        } else {
            param.to_owned()
        }
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
        let t = shape(&[]);
        assert_eq!(
            (t.stored("NEW"), t.status(), t.total()),
            ("NEW", "o.status".into(), "o.total")
        );
        assert_eq!(t.stored_total("$2"), "$2");
    }

    #[test]
    fn the_releases_map_both_ways() {
        let t = shape(&["status-vocabulary", "money-in-cents"]);
        assert_eq!(
            (t.stored("NEW"), t.stored("CANCELLED")),
            ("pending", "cancelled")
        );
        assert!(t.status().contains("WHEN 'pending' THEN 'NEW'"));
        assert_eq!(t.stored_total("$2"), "($2 * 100)::bigint");
    }
}
