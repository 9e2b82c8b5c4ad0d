//! What a migration changes, statement by statement, in the terms that matter to another
//! service: a table or column renamed, dropped, retyped, constrained, defaulted, moved,
//! fenced by row-level security, or its values rewritten. Which service that hurts is
//! [`super`]'s question, not this module's.

use sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, ColumnOption, Expr, ObjectName, ObjectType,
    ReferentialAction, Statement, TableConstraint, Visit, Visitor,
};
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::ops::ControlFlow;

use crate::manifest::Manifest;
use crate::sql::{Catalogue, fold, name_parts};

/// A change one statement makes. Tables are `schema.table`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    RenameTable {
        table: String,
    },
    DropTable {
        table: String,
    },
    SetSchema {
        table: String,
    },
    EnableRls {
        table: String,
    },
    RenameColumn {
        table: String,
        column: String,
    },
    DropColumn {
        table: String,
        column: String,
    },
    TypeChanged {
        table: String,
        column: String,
    },
    SetNotNull {
        table: String,
        column: String,
    },
    AddRequired {
        table: String,
        column: String,
    },
    /// A nullable column whose name says rows are now kept when deleted.
    SoftDelete {
        table: String,
        column: String,
    },
    AddCheck {
        table: String,
        columns: Vec<String>,
        not_valid: bool,
    },
    DefaultChanged {
        table: String,
        column: String,
    },
    DropForeignKey {
        table: String,
        name: String,
    },
    CascadeAdded {
        table: String,
    },
    /// An UPDATE that rewrites existing values of these columns.
    Rewrite {
        table: String,
        columns: Vec<String>,
    },
    EnumChanged {
        type_name: String,
    },
    Unparsed {
        reason: String,
    },
}

/// One statement of a migration file with what it changes.
#[derive(Debug, Clone)]
pub struct Found {
    pub line: usize,
    pub text: String,
    pub changes: Vec<Change>,
}

const SOFT_DELETE: [&str; 5] = [
    "deleted_at",
    "is_deleted",
    "deleted",
    "archived_at",
    "removed_at",
];

/// Every statement of `sql` with what it changes; unparsed ones are kept, as such.
pub fn changes(sql: &str, manifest: &Manifest) -> Vec<Found> {
    split(sql)
        .into_iter()
        .map(|(line, text)| {
            let changes = match Parser::parse_sql(&PostgreSqlDialect {}, &text) {
                Ok(statements) => statements.iter().flat_map(|s| of(s, manifest)).collect(),
                Err(e) => match set_schema(&text, manifest) {
                    Some(change) => vec![change],
                    None => vec![Change::Unparsed {
                        reason: e.to_string(),
                    }],
                },
            };
            Found {
                line,
                text,
                changes,
            }
        })
        .collect()
}

fn of(statement: &Statement, manifest: &Manifest) -> Vec<Change> {
    let q = |name: &ObjectName| qualify(&name_parts(name), manifest);
    match statement {
        Statement::AlterTable {
            name, operations, ..
        } => {
            let table = q(name);
            operations.iter().flat_map(|op| alter(&table, op)).collect()
        }
        Statement::Drop {
            object_type: ObjectType::Table,
            names,
            ..
        } => names
            .iter()
            .map(|n| Change::DropTable { table: q(n) })
            .collect(),
        Statement::AlterType(alter) => vec![Change::EnumChanged {
            type_name: name_parts(&alter.name).join("."),
        }],
        Statement::Update {
            table, assignments, ..
        } => {
            let sqlparser::ast::TableFactor::Table { name, .. } = &table.relation else {
                return Vec::new();
            };
            let columns = assignments
                .iter()
                .flat_map(|a| match &a.target {
                    sqlparser::ast::AssignmentTarget::ColumnName(n) => vec![n.clone()],
                    sqlparser::ast::AssignmentTarget::Tuple(ns) => ns.clone(),
                })
                .filter_map(|n| name_parts(&n).pop())
                .collect();
            vec![Change::Rewrite {
                table: q(name),
                columns,
            }]
        }
        _ => Vec::new(),
    }
}

fn alter(table: &str, op: &AlterTableOperation) -> Vec<Change> {
    let table = table.to_owned();
    match op {
        AlterTableOperation::RenameTable { .. } => vec![Change::RenameTable { table }],
        AlterTableOperation::RenameColumn {
            old_column_name, ..
        } => {
            vec![Change::RenameColumn {
                table,
                column: fold(old_column_name),
            }]
        }
        AlterTableOperation::DropColumn { column_names, .. } => column_names
            .iter()
            .map(|c| Change::DropColumn {
                table: table.clone(),
                column: fold(c),
            })
            .collect(),
        AlterTableOperation::AlterColumn { column_name, op } => {
            let column = fold(column_name);
            match op {
                AlterColumnOperation::SetNotNull => vec![Change::SetNotNull { table, column }],
                AlterColumnOperation::SetDefault { .. } | AlterColumnOperation::DropDefault => {
                    vec![Change::DefaultChanged { table, column }]
                }
                AlterColumnOperation::SetDataType { .. } => {
                    vec![Change::TypeChanged { table, column }]
                }
                _ => Vec::new(),
            }
        }
        AlterTableOperation::AddColumn { column_def, .. } => {
            let column = fold(&column_def.name);
            let has =
                |f: fn(&ColumnOption) -> bool| column_def.options.iter().any(|o| f(&o.option));
            let required = has(|o| matches!(o, ColumnOption::NotNull))
                && !has(|o| matches!(o, ColumnOption::Default(_)));
            if required {
                vec![Change::AddRequired { table, column }]
            } else if SOFT_DELETE.contains(&column.as_str()) {
                vec![Change::SoftDelete { table, column }]
            } else {
                Vec::new()
            }
        }
        AlterTableOperation::AddConstraint {
            constraint,
            not_valid,
        } => match constraint {
            TableConstraint::Check { expr, .. } => vec![Change::AddCheck {
                table,
                columns: columns_in(expr),
                not_valid: *not_valid,
            }],
            TableConstraint::ForeignKey {
                on_delete: Some(ReferentialAction::Cascade),
                ..
            } => {
                vec![Change::CascadeAdded { table }]
            }
            _ => Vec::new(),
        },
        AlterTableOperation::DropConstraint { name, .. } if fold(name).ends_with("_fkey") => {
            vec![Change::DropForeignKey {
                table,
                name: fold(name),
            }]
        }
        AlterTableOperation::DropForeignKey { name, .. } => {
            vec![Change::DropForeignKey {
                table,
                name: fold(name),
            }]
        }
        AlterTableOperation::EnableRowLevelSecurity => vec![Change::EnableRls { table }],
        _ => Vec::new(),
    }
}

/// `ALTER TABLE [IF EXISTS] [ONLY] name SET SCHEMA other`, which the parser lacks: read
/// from its tokens, so nothing is guessed from text.
fn set_schema(text: &str, manifest: &Manifest) -> Option<Change> {
    let tokens = Tokenizer::new(&PostgreSqlDialect {}, text)
        .tokenize()
        .ok()?;
    let words: Vec<String> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Word(w) => Some(fold(&sqlparser::ast::Ident {
                value: w.value.clone(),
                quote_style: w.quote_style,
                span: sqlparser::tokenizer::Span::empty(),
            })),
            Token::Period => Some(".".to_owned()),
            Token::Whitespace(_) | Token::SemiColon => None,
            _ => Some(String::new()),
        })
        .collect();
    let upper: Vec<String> = words.iter().map(|w| w.to_uppercase()).collect();
    let upper: Vec<&str> = upper.iter().map(String::as_str).collect();
    let ["ALTER", "TABLE", rest @ ..] = upper.as_slice() else {
        return None;
    };
    let skip = rest
        .iter()
        .take_while(|w| matches!(**w, "IF" | "EXISTS" | "ONLY"))
        .count();
    let name_end = rest.iter().position(|w| *w == "SET")?;
    if rest.get(name_end + 1) != Some(&"SCHEMA") {
        return None;
    }
    let start = 2 + skip;
    let parts: Vec<String> = words[start..2 + name_end]
        .iter()
        .filter(|w| *w != ".")
        .cloned()
        .collect();
    Some(Change::SetSchema {
        table: qualify(&parts, manifest),
    })
}

/// `schema.table` for a name as written, through the manifest's search path.
fn qualify(parts: &[String], manifest: &Manifest) -> String {
    match parts {
        [.., schema, table] => format!("{schema}.{table}"),
        [table] => {
            let path: Vec<&String> = manifest
                .search_path
                .iter()
                .filter(|s| *s != "$user")
                .collect();
            let schema = path
                .iter()
                .find(|s| manifest.has_table(s, table))
                .or(path.first())
                .map_or("public", |s| s.as_str());
            format!("{schema}.{table}")
        }
        [] => String::new(),
    }
}

/// The columns an expression names.
fn columns_in(expr: &Expr) -> Vec<String> {
    struct Columns(Vec<String>);
    impl Visitor for Columns {
        type Break = ();
        fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
            match expr {
                Expr::Identifier(i) => self.0.push(fold(i)),
                Expr::CompoundIdentifier(is) => self.0.extend(is.last().map(fold)),
                _ => {}
            }
            ControlFlow::Continue(())
        }
    }
    let mut found = Columns(Vec::new());
    let _ = expr.visit(&mut found);
    found.0.sort();
    found.0.dedup();
    found.0
}

/// The statements of a file with the line each starts on. Splits on the tokenizer's
/// semicolons, so quoted and dollar-quoted text is never cut.
fn split(sql: &str) -> Vec<(usize, String)> {
    let Ok(tokens) = Tokenizer::new(&PostgreSqlDialect {}, sql).tokenize_with_location() else {
        return vec![(1, sql.trim().to_owned())];
    };
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(sql.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let offset = |line: u64, column: u64| -> usize {
        let start = line_starts
            .get(line.saturating_sub(1) as usize)
            .copied()
            .unwrap_or(sql.len());
        sql[start..]
            .char_indices()
            .nth(column.saturating_sub(1) as usize)
            .map_or(sql.len(), |(i, _)| start + i)
    };
    let mut out = Vec::new();
    let mut start: Option<(u64, usize)> = None;
    for t in &tokens {
        let at = t.span.start;
        match &t.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                if let Some((line, from)) = start.take() {
                    out.push((
                        line as usize,
                        sql[from..offset(at.line, at.column)].trim().to_owned(),
                    ));
                }
            }
            _ => {
                if start.is_none() {
                    start = Some((at.line, offset(at.line, at.column)));
                }
            }
        }
    }
    if let Some((line, from)) = start {
        out.push((line as usize, sql[from..].trim().to_owned()));
    }
    out
}
