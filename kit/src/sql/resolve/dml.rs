//! The statements around queries: INSERT (with ON CONFLICT), UPDATE ... FROM,
//! DELETE ... USING, and DDL, which writes its table as a whole. Each sets up the target's
//! scope and hands its expressions and subqueries to the query walk.

use sqlparser::ast::{
    AssignmentTarget, FromTable, ObjectName, OnConflictAction, OnInsert, Statement, TableFactor,
    TableObject,
};

use super::{Resolver, Scope, Source, SourceKind};
use crate::sql::{Kind, Mode, fold, kind_of, name_parts};

impl Resolver<'_> {
    /// Walks one statement; returns its kind when it is one the resolver understands.
    pub(crate) fn statement(&mut self, statement: &Statement) -> Option<Kind> {
        self.statement_in(statement, None);
        let kind = kind_of(statement);
        (kind != Kind::Other).then_some(kind)
    }

    pub(super) fn statement_in(&mut self, statement: &Statement, outer: Option<&Scope>) {
        match statement {
            Statement::Query(query) => {
                self.query(query, outer);
            }
            Statement::Insert(insert) => {
                let TableObject::TableName(name) = &insert.table else {
                    return;
                };
                let mut scope = Scope::child(outer);
                let alias = insert.table_alias.as_ref().map(fold);
                let target = self.table_source(name, alias, Mode::Write);
                let columns: Vec<String> = if insert.columns.is_empty() {
                    target.columns().map(<[String]>::to_vec).unwrap_or_default()
                } else {
                    insert.columns.iter().map(fold).collect()
                };
                for column in &columns {
                    self.record(&target, Some(column), Mode::Write);
                }
                if let Some(source) = &insert.source {
                    self.query(source, outer);
                }
                scope.sources.push(target.clone());
                if let Some(OnInsert::OnConflict(conflict)) = &insert.on
                    && let OnConflictAction::DoUpdate(update) = &conflict.action
                {
                    scope.sources.push(Source {
                        name: "excluded".into(),
                        kind: SourceKind::Derived(target.columns().map(<[String]>::to_vec)),
                    });
                    for assignment in &update.assignments {
                        self.assignment_target(&assignment.target, &target);
                        self.walk(&assignment.value, &scope, Mode::Read);
                    }
                    if let Some(selection) = &update.selection {
                        self.walk(selection, &scope, Mode::Read);
                    }
                }
                if let Some(returning) = &insert.returning {
                    self.walk(returning, &scope, Mode::Read);
                }
            }
            Statement::Update {
                table,
                assignments,
                from,
                selection,
                returning,
                ..
            } => {
                let mut scope = Scope::child(outer);
                let target = self.target(&table.relation, &mut scope);
                for join in &table.joins {
                    self.walk_from_entry(&join.relation, &mut scope);
                }
                if let Some(from) = from {
                    let (sqlparser::ast::UpdateTableFromKind::BeforeSet(items)
                    | sqlparser::ast::UpdateTableFromKind::AfterSet(items)) = from;
                    self.walk_from(items, &mut scope);
                }
                for assignment in assignments {
                    if let Some(target) = &target {
                        self.assignment_target(&assignment.target, target);
                    }
                    self.walk(&assignment.value, &scope, Mode::Read);
                }
                self.walk(selection, &scope, Mode::Read);
                self.walk(returning, &scope, Mode::Read);
            }
            Statement::Delete(delete) => {
                let mut scope = Scope::child(outer);
                let (FromTable::WithFromKeyword(targets) | FromTable::WithoutKeyword(targets)) =
                    &delete.from;
                for item in targets {
                    self.target(&item.relation, &mut scope);
                }
                if let Some(using) = &delete.using {
                    self.walk_from(using, &mut scope);
                }
                self.walk(&delete.selection, &scope, Mode::Read);
                self.walk(&delete.returning, &scope, Mode::Read);
            }
            Statement::CreateTable(create) => self.touch(&create.name),
            Statement::AlterTable { name, .. } => self.touch(name),
            Statement::Drop {
                names, object_type, ..
            } if *object_type == sqlparser::ast::ObjectType::Table => {
                names.iter().for_each(|name| self.touch(name));
            }
            Statement::Truncate { table_names, .. } => {
                table_names.iter().for_each(|t| self.touch(&t.name));
            }
            Statement::CreateIndex(index) => self.touch(&index.table_name),
            _ => {}
        }
    }

    /// DDL on a table: a write of the table as a whole.
    fn touch(&mut self, name: &ObjectName) {
        self.table_source(name, None, Mode::Write);
    }

    /// The target of an UPDATE or DELETE: written as a whole, visible in its scope.
    fn target(&mut self, relation: &TableFactor, scope: &mut Scope) -> Option<Source> {
        let TableFactor::Table { name, alias, .. } = relation else {
            return None;
        };
        let source = self.table_source(name, alias.as_ref().map(|a| fold(&a.name)), Mode::Write);
        scope.sources.push(source.clone());
        Some(source)
    }

    fn assignment_target(&mut self, target: &AssignmentTarget, table: &Source) {
        let names = match target {
            AssignmentTarget::ColumnName(name) => vec![name],
            AssignmentTarget::Tuple(names) => names.iter().collect(),
        };
        for name in names {
            if let Some(column) = name_parts(name).pop() {
                self.record(table, Some(&column), Mode::Write);
            }
        }
    }
}
