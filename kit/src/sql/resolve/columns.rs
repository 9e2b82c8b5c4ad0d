//! Placing a column reference: a qualified one through its alias, an unqualified one
//! through the scopes, innermost first, as Postgres does.

use sqlparser::ast::Expr;

use super::{Resolver, Scope, Source};
use crate::sql::{Mode, fold, name_parts};

impl Resolver<'_> {
    pub(super) fn column(&mut self, parts: &[String], scope: &Scope, mode: Mode) {
        match parts {
            [column] => self.unqualified(column, scope, mode),
            [.., qualifier, column] => match scope.source(qualifier).cloned() {
                Some(source) => self.record(&source, Some(column), mode),
                None => self.unresolved.push(parts.join(".")),
            },
            [] => {}
        }
    }

    /// An unqualified column: the innermost scope where exactly one source has it. Where
    /// columns are unknown, a scope with one source takes it, as Postgres would if the
    /// query runs at all; anything else is reported, never guessed.
    fn unqualified(&mut self, column: &str, scope: &Scope, mode: Mode) {
        let mut level = Some(scope);
        while let Some(here) = level {
            let having: Vec<&Source> = here
                .sources
                .iter()
                .filter(|s| s.columns().is_some_and(|c| c.iter().any(|x| x == column)))
                .collect();
            let unknown = here
                .sources
                .iter()
                .filter(|s| s.columns().is_none())
                .count();
            match (having.as_slice(), unknown) {
                ([one], 0) => return self.record(&(*one).clone(), Some(column), mode),
                ([], 0) => level = here.parent,
                _ if here.sources.len() == 1 => {
                    let only = here.sources[0].clone();
                    return self.record(&only, Some(column), mode);
                }
                _ => return self.unresolved.push(column.to_owned()),
            }
        }
        // Not in any known column list: a catalogue older than the table, most likely.
        let mut level = Some(scope);
        while let Some(here) = level {
            if let [only] = here.sources.as_slice() {
                return self.record(&only.clone(), Some(column), mode);
            }
            if !here.sources.is_empty() {
                break;
            }
            level = here.parent;
        }
        if is_keyword_value(column) {
            return;
        }
        self.unresolved.push(column.to_owned());
    }
}

/// Names Postgres accepts bare that are not columns (`SELECT current_date`).
fn is_keyword_value(name: &str) -> bool {
    matches!(
        name,
        "current_date"
            | "current_time"
            | "current_timestamp"
            | "current_user"
            | "session_user"
            | "localtime"
            | "localtimestamp"
            | "current_role"
            | "current_schema"
            | "user"
    )
}

/// The column name Postgres gives an unaliased output expression.
pub(super) fn output_name(expr: &Expr) -> String {
    match expr {
        Expr::Identifier(ident) => fold(ident),
        Expr::CompoundIdentifier(idents) => idents.last().map(fold).unwrap_or_default(),
        Expr::Function(f) => name_parts(&f.name).pop().unwrap_or_default(),
        _ => "?column?".to_owned(),
    }
}
