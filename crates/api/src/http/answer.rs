//! A GraphQL response written as JSON text, every object's keys in sorted order.
//!
//! async-graphql puts an object's fields in the order they finish resolving, and fields that
//! wait (a report on a blocking thread) finish in any order: the same question could get its
//! answer in other words each time. Sorted keys make the same answer the same text (scripts
//! compare answers, tests compare them byte for byte), as when the answer went through a
//! `serde_json::Value` tree first — but written in one pass, without building that tree.

use async_graphql::Value;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// The key async-graphql marks a raw JSON text with (`async_graphql_value::RAW_VALUE_TOKEN`).
const RAW_VALUE: &str = "$serde_json::private::RawValue";

/// The response as the API sends it: `data`, `errors` and `extensions` (when there are any),
/// each object's keys sorted.
pub(super) struct Answer<'a>(pub(super) &'a async_graphql::Response);

impl Serialize for Answer<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let response = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("data", &Sorted(&response.data))?;
        if !response.errors.is_empty() {
            // Rare and small: the tree sorts their keys.
            let errors =
                serde_json::to_value(&response.errors).map_err(serde::ser::Error::custom)?;
            map.serialize_entry("errors", &errors)?;
        }
        if !response.extensions.is_empty() {
            map.serialize_entry("extensions", &SortedMap(&response.extensions))?;
        }
        map.end()
    }
}

/// A value with its objects' keys sorted.
struct Sorted<'a>(&'a Value);

impl Serialize for Sorted<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::List(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Sorted(item))?;
                }
                seq.end()
            }
            // A raw JSON text travels as an object of one key, which its own writer knows.
            Value::Object(fields) if fields.len() == 1 && fields.contains_key(RAW_VALUE) => {
                self.0.serialize(serializer)
            }
            Value::Object(fields) => {
                let mut sorted: Vec<_> = fields.iter().collect();
                sorted.sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
                let mut map = serializer.serialize_map(Some(sorted.len()))?;
                for (name, value) in sorted {
                    map.serialize_entry(name.as_str(), &Sorted(value))?;
                }
                map.end()
            }
            other => other.serialize(serializer),
        }
    }
}

/// The response's extensions (a sorted map already) with their values' keys sorted.
struct SortedMap<'a>(&'a std::collections::BTreeMap<String, Value>);

impl Serialize for SortedMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in self.0 {
            map.serialize_entry(key, &Sorted(value))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{Name, ServerError};

    fn object(fields: &[(&str, Value)]) -> Value {
        Value::Object(
            fields
                .iter()
                .map(|(name, value)| (Name::new(name), value.clone()))
                .collect(),
        )
    }

    /// The text is what the answer's tree, with its sorted maps, would have written.
    #[test]
    fn an_answer_is_written_as_its_json_tree_would_be() {
        let entry = |n: i32| {
            object(&[
                ("version", Value::from(n)),
                ("type", Value::Enum(Name::new("SIGNAL_RECEIVED"))),
                (
                    "payload",
                    object(&[("zeta", Value::Null), ("alpha", Value::from(1.5))]),
                ),
                ("occurredOn", Value::from("2026-01-05")),
            ])
        };
        let data = object(&[(
            "trajectory",
            object(&[
                ("timeline", Value::List(vec![entry(1), entry(2)])),
                ("id", Value::from("t-1")),
                ("only", object(&[("one", Value::Boolean(true))])),
            ]),
        )]);
        let mut response = async_graphql::Response::new(data);
        for errors in [false, true] {
            if errors {
                response.errors.push(ServerError::new("stuk", None));
                response.extensions.insert(
                    "b".into(),
                    object(&[("y", Value::Null), ("x", Value::from(2))]),
                );
                response.extensions.insert("a".into(), Value::from("eerst"));
            }
            let written = serde_json::to_vec(&Answer(&response)).expect("written");
            let tree = serde_json::to_value(&response).expect("a tree");
            assert_eq!(
                String::from_utf8(written).expect("text"),
                tree.to_string(),
                "with errors: {errors}"
            );
        }
    }
}
