//! Name resolution over a parsed statement: which table each alias, CTE name and column
//! reference stands for. A scope holds what one SELECT (or the target of a DML statement)
//! can see; a subquery's scope points at its enclosing one, so correlated references
//! resolve outward as Postgres resolves them. A column read through a CTE or a derived
//! table is recorded where that CTE reads it, not again at the outer query. DML and DDL
//! statements are [`dml`]'s; placing a column reference is [`columns`]'s.

mod columns;
mod dml;

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, ObjectName, OrderBy, OrderByKind, Query, Select, SelectItem,
    SelectItemQualifiedWildcardKind, SetExpr, TableFactor, TableWithJoins, Visit, Visitor,
};

use super::{Access, Catalogue, Mode, fold, name_parts};
use columns::output_name;

/// A name visible in a scope.
#[derive(Debug, Clone)]
struct Source {
    /// The alias, or the table's own name.
    name: String,
    kind: SourceKind,
}

#[derive(Debug, Clone)]
enum SourceKind {
    Table {
        schema: String,
        table: String,
        columns: Option<Vec<String>>,
    },
    /// A CTE, a derived table, a function: its output columns, when known.
    Derived(Option<Vec<String>>),
}

impl Source {
    fn columns(&self) -> Option<&[String]> {
        match &self.kind {
            SourceKind::Table { columns, .. } | SourceKind::Derived(columns) => columns.as_deref(),
        }
    }
}

#[derive(Debug, Default)]
struct Scope<'p> {
    parent: Option<&'p Scope<'p>>,
    sources: Vec<Source>,
    ctes: Vec<(String, Option<Vec<String>>)>,
}

impl<'p> Scope<'p> {
    fn child(parent: Option<&'p Scope<'p>>) -> Self {
        Scope {
            parent,
            ..Scope::default()
        }
    }

    fn cte(&self, name: &str) -> Option<Option<Vec<String>>> {
        match self.ctes.iter().rev().find(|(n, _)| n == name) {
            Some((_, columns)) => Some(columns.clone()),
            None => self.parent.and_then(|p| p.cte(name)),
        }
    }

    fn source(&self, name: &str) -> Option<&Source> {
        match self.sources.iter().find(|s| s.name == name) {
            Some(source) => Some(source),
            None => self.parent.and_then(|p| p.source(name)),
        }
    }
}

/// Collects a node's column references and subqueries without entering the subqueries:
/// those get a scope of their own.
#[derive(Default)]
struct Collector {
    depth: usize,
    columns: Vec<Vec<String>>,
    queries: Vec<Query>,
}

impl Visitor for Collector {
    type Break = ();

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if self.depth == 0 {
            self.queries.push(query.clone());
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.depth -= 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if self.depth == 0 {
            match expr {
                Expr::Identifier(ident) => self.columns.push(vec![fold(ident)]),
                Expr::CompoundIdentifier(idents) => {
                    self.columns.push(idents.iter().map(fold).collect())
                }
                _ => {}
            }
        }
        ControlFlow::Continue(())
    }
}

/// Walks statements and accumulates what they touch.
pub(super) struct Resolver<'c> {
    catalogue: &'c dyn Catalogue,
    search_path: &'c [String],
    accesses: BTreeSet<Access>,
    unresolved: Vec<String>,
}

impl<'c> Resolver<'c> {
    pub(super) fn new(catalogue: &'c dyn Catalogue, search_path: &'c [String]) -> Self {
        Resolver {
            catalogue,
            search_path,
            accesses: BTreeSet::new(),
            unresolved: Vec::new(),
        }
    }

    pub(super) fn finish(self) -> (BTreeSet<Access>, Vec<String>) {
        (self.accesses, self.unresolved)
    }

    /// Resolves a table name (through the search path when unqualified), records the use
    /// of the table as a whole, and returns it as a source named `alias` or its own name.
    fn table_source(&mut self, name: &ObjectName, alias: Option<String>, mode: Mode) -> Source {
        let parts = name_parts(name);
        let table = parts.last().cloned().unwrap_or_default();
        let schema = match parts.len() {
            0 | 1 => self.schema_for(&table),
            n => parts[n - 2].clone(),
        };
        let columns = self.catalogue.columns(&schema, &table);
        let source = Source {
            name: alias.unwrap_or_else(|| table.clone()),
            kind: SourceKind::Table {
                schema,
                table,
                columns,
            },
        };
        self.record(&source, None, mode);
        source
    }

    /// The first schema of the path that has `table`; else the first schema of the path,
    /// where Postgres would look first too.
    fn schema_for(&self, table: &str) -> String {
        self.search_path
            .iter()
            .find(|schema| self.catalogue.has_table(schema, table))
            .or_else(|| self.search_path.first())
            .cloned()
            .unwrap_or_else(|| "public".to_owned())
    }

    fn record(&mut self, source: &Source, column: Option<&str>, mode: Mode) {
        if let SourceKind::Table { schema, table, .. } = &source.kind {
            self.accesses.insert(Access {
                schema: schema.clone(),
                table: table.clone(),
                column: column.map(str::to_owned),
                mode,
            });
        }
    }

    /// Walks a query; returns its output column names when they are known.
    fn query(&mut self, query: &Query, outer: Option<&Scope>) -> Option<Vec<String>> {
        let mut scope = Scope::child(outer);
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                let declared: Vec<String> =
                    cte.alias.columns.iter().map(|c| fold(&c.name)).collect();
                let declared = (!declared.is_empty()).then_some(declared);
                scope.ctes.push((fold(&cte.alias.name), declared.clone()));
                let found = self.query(&cte.query, Some(&scope));
                if let Some(last) = scope.ctes.last_mut() {
                    last.1 = declared.or(found);
                }
            }
        }
        self.set_expr(&query.body, &scope, query.order_by.as_ref())
    }

    fn set_expr(
        &mut self,
        body: &SetExpr,
        scope: &Scope,
        order_by: Option<&OrderBy>,
    ) -> Option<Vec<String>> {
        match body {
            SetExpr::Select(select) => self.select(select, scope, order_by),
            SetExpr::Query(query) => self.query(query, Some(scope)),
            SetExpr::SetOperation { left, right, .. } => {
                let columns = self.set_expr(left, scope, None);
                self.set_expr(right, scope, None);
                columns
            }
            SetExpr::Values(values) => {
                self.walk(values, scope, Mode::Read);
                None
            }
            SetExpr::Insert(statement)
            | SetExpr::Update(statement)
            | SetExpr::Delete(statement)
            | SetExpr::Merge(statement) => {
                self.statement_in(statement, Some(scope));
                None
            }
            SetExpr::Table(_) => None,
        }
    }

    fn select(
        &mut self,
        select: &Select,
        outer: &Scope,
        order_by: Option<&OrderBy>,
    ) -> Option<Vec<String>> {
        let mut scope = Scope::child(Some(outer));
        self.walk_from(&select.from, &mut scope);
        let mut output = Some(Vec::new());
        for item in &select.projection {
            let named = match item {
                SelectItem::UnnamedExpr(expr) => {
                    self.walk(expr, &scope, Mode::Read);
                    Some(vec![output_name(expr)])
                }
                SelectItem::ExprWithAlias { expr, alias } => {
                    self.walk(expr, &scope, Mode::Read);
                    Some(vec![fold(alias)])
                }
                SelectItem::Wildcard(_) => {
                    let all: Vec<Source> = scope.sources.clone();
                    self.wildcard(&all)
                }
                SelectItem::QualifiedWildcard(
                    SelectItemQualifiedWildcardKind::ObjectName(n),
                    _,
                ) => {
                    let qualifier = name_parts(n).pop().unwrap_or_default();
                    match scope.source(&qualifier).cloned() {
                        Some(source) => self.wildcard(&[source]),
                        None => None,
                    }
                }
                SelectItem::QualifiedWildcard(_, _) => None,
            };
            output = match (output, named) {
                (Some(mut all), Some(named)) => {
                    all.extend(named);
                    Some(all)
                }
                _ => None,
            };
        }
        self.walk(&select.selection, &scope, Mode::Read);
        self.walk(&select.group_by, &scope, Mode::Read);
        self.walk(&select.having, &scope, Mode::Read);
        self.walk(&select.qualify, &scope, Mode::Read);
        if let Some(OrderBy {
            kind: OrderByKind::Expressions(items),
            ..
        }) = order_by
        {
            // ORDER BY may name an output column; only the rest are table columns.
            let outputs = output.clone().unwrap_or_default();
            for item in items {
                if let Expr::Identifier(ident) = &item.expr
                    && outputs.contains(&fold(ident))
                    && scope
                        .sources
                        .iter()
                        .all(|s| s.columns().is_none_or(|c| !c.contains(&fold(ident))))
                {
                    continue;
                }
                self.walk(&item.expr, &scope, Mode::Read);
            }
        }
        output
    }

    /// `*` over `sources`: every known column, or the table as a whole when unknown.
    fn wildcard(&mut self, sources: &[Source]) -> Option<Vec<String>> {
        let mut names = Some(Vec::new());
        for source in sources {
            match source.columns() {
                Some(columns) => {
                    for column in columns {
                        self.record(source, Some(column), Mode::Read);
                    }
                    if let Some(names) = names.as_mut() {
                        names.extend(columns.iter().cloned());
                    }
                }
                None => names = None,
            }
        }
        names
    }

    fn walk_from(&mut self, items: &[TableWithJoins], scope: &mut Scope) {
        for item in items {
            self.walk_from_entry(&item.relation, scope);
            for join in &item.joins {
                self.walk_from_entry(&join.relation, scope);
            }
        }
        // Join conditions see every source of the FROM list.
        for item in items {
            for join in &item.joins {
                self.walk(&join.join_operator, scope, Mode::Read);
            }
        }
    }

    fn walk_from_entry(&mut self, relation: &TableFactor, scope: &mut Scope) {
        match relation {
            TableFactor::Table { name, alias, .. } => {
                let alias = alias.as_ref().map(|a| fold(&a.name));
                let parts = name_parts(name);
                let cte = match parts.as_slice() {
                    [one] => scope.cte(one),
                    _ => None,
                };
                let source = match cte {
                    Some(columns) => Source {
                        name: alias.unwrap_or_else(|| parts.concat()),
                        kind: SourceKind::Derived(columns),
                    },
                    None => self.table_source(name, alias, Mode::Read),
                };
                scope.sources.push(source);
            }
            TableFactor::Derived {
                subquery, alias, ..
            } => {
                let columns = self.query(subquery, Some(scope));
                scope.sources.push(Source {
                    name: alias.as_ref().map(|a| fold(&a.name)).unwrap_or_default(),
                    kind: SourceKind::Derived(columns),
                });
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.walk_from(std::slice::from_ref(table_with_joins), scope),
            other => {
                // Functions, UNNEST and the like: their arguments may read columns.
                self.walk(other, scope, Mode::Read);
            }
        }
    }

    /// Resolves every column reference and subquery in `node` within `scope`.
    fn walk<N: Visit>(&mut self, node: &N, scope: &Scope, mode: Mode) {
        let mut collector = Collector::default();
        let _ = node.visit(&mut collector);
        for reference in collector.columns {
            self.column(&reference, scope, mode);
        }
        for query in collector.queries {
            self.query(&query, Some(scope));
        }
    }
}
