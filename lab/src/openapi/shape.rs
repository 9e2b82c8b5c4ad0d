//! A schema flattened for comparison: its `$ref`s followed and its compositions looked
//! through, so that two versions of one schema can be compared property by property.

use std::collections::BTreeSet;

use serde_json::Value;

use super::{MAX_DEPTH, resolve};

/// A schema seen through its `$ref`s and compositions: what properties it may have, which
/// are always there, and what values it allows.
#[derive(Debug, Default)]
pub(super) struct Shape<'a> {
    pub(super) properties: Vec<(&'a str, &'a Value)>,
    pub(super) required: BTreeSet<&'a str>,
    /// `None`: any type (no `type` keyword somewhere).
    pub(super) types: Option<BTreeSet<&'a str>>,
    /// `None`: any value.
    pub(super) enum_values: Option<Vec<&'a Value>>,
    pub(super) items: Vec<&'a Value>,
    pub(super) closed: bool,
}

impl<'a> Shape<'a> {
    pub(super) fn of(doc: &'a Value, schema: &'a Value, depth: usize) -> Self {
        let mut shape = Self {
            types: Some(BTreeSet::new()),
            ..Self::default()
        };
        shape.add(doc, schema, depth, true);
        shape
    }

    pub(super) fn property(&self, name: &str) -> Option<&'a Value> {
        self.properties
            .iter()
            .find(|(candidate, _)| *candidate == name)
            .map(|(_, schema)| *schema)
    }

    pub(super) fn add(
        &mut self,
        doc: &'a Value,
        schema: &'a Value,
        depth: usize,
        counts_required: bool,
    ) {
        if depth > MAX_DEPTH {
            return;
        }
        let schema = resolve(doc, schema);
        if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
            for (name, property) in properties {
                if self.property(name).is_none() {
                    self.properties.push((name, property));
                }
            }
        }
        if counts_required {
            let required = schema.get("required").and_then(Value::as_array);
            self.required
                .extend(required.into_iter().flatten().filter_map(Value::as_str));
        }
        if let Some(items) = schema.get("items") {
            self.items.push(items);
        }
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            self.closed = true;
        }
        if let Some(values) = schema.get("enum").and_then(Value::as_array) {
            self.enum_values
                .get_or_insert_with(Vec::new)
                .extend(values.iter());
        }
        if let Some(constant) = schema.get("const") {
            self.enum_values.get_or_insert_with(Vec::new).push(constant);
        }
        let all_of = schema.get("allOf").and_then(Value::as_array);
        let any_of: Vec<&'a Value> = ["oneOf", "anyOf"]
            .iter()
            .filter_map(|key| schema.get(*key).and_then(Value::as_array))
            .flatten()
            .collect();
        let composed = all_of.is_some() || !any_of.is_empty();
        match schema.get("type") {
            Some(Value::String(one)) => self.add_types([one.as_str()]),
            Some(Value::Array(many)) => self.add_types(many.iter().filter_map(Value::as_str)),
            _ if !composed => self.types = None,
            _ => {}
        }
        for member in all_of.into_iter().flatten() {
            self.add(doc, member, depth + 1, counts_required);
        }
        // A property every variant requires is always there; close enough: a variant that
        // is only `null` does not count, others add what they require.
        for member in any_of {
            let null_only = resolve(doc, member).get("type") == Some(&Value::from("null"));
            self.add(doc, member, depth + 1, counts_required && !null_only);
        }
    }

    pub(super) fn add_types(&mut self, types: impl IntoIterator<Item = &'a str>) {
        if let Some(known) = &mut self.types {
            known.extend(types);
        }
    }
}
