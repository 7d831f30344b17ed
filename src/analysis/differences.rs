//! What differs between results' configurations: the mode, the workload
//! (flags applied), the machine, the tool and a target's reported
//! settings, field by field; and which of those differences make two
//! results measure different things. `compare` shows them, `check` and
//! `merge` refuse results whose workloads differ.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::harness::report::RunResult;

/// A configuration field whose value differs between results.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Difference {
    /// Dotted path, such as `workload.cluster.replicas`.
    pub field: String,
    /// The value in each result (`null` where absent).
    pub values: Vec<Value>,
}

/// The fields that make two workloads measure different things; the cluster
/// settings, seed and bounds of time are what comparisons vary.
const WORKLOAD_IDENTITY: [&str; 7] = [
    "workload.events",
    "workload.keys",
    "workload.distribution",
    "workload.value_size",
    "workload.slowdb",
    "workload.rate",
    "workload.name",
];

/// Flattens JSON into dotted paths and leaf values.
fn flatten(prefix: &str, value: &Value, into: &mut BTreeMap<String, Value>) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields {
                let path = if prefix.is_empty() {
                    name.clone()
                } else {
                    format!("{prefix}.{name}")
                };
                flatten(&path, field, into);
            }
        }
        leaf => {
            into.insert(prefix.to_owned(), leaf.clone());
        }
    }
}

/// Every configuration field whose value is not the same in all of
/// `results`, in the order of their paths.
pub fn between<'a>(results: impl IntoIterator<Item = &'a RunResult>) -> Vec<Difference> {
    let flat: Vec<BTreeMap<String, Value>> = results
        .into_iter()
        .map(|result| {
            let mut fields = BTreeMap::new();
            let subject = serde_json::json!({
                "mode": result.mode,
                "workload": result.workload,
                "machine": result.machine,
                "tool": result.tool,
                // A target's own settings, where its nodes reported them.
                "target_settings": result.target_settings,
            });
            flatten("", &subject, &mut fields);
            fields
        })
        .collect();
    let mut all_fields: Vec<&String> = flat.iter().flat_map(BTreeMap::keys).collect();
    all_fields.sort();
    all_fields.dedup();
    all_fields
        .into_iter()
        .filter_map(|field| {
            let values: Vec<Value> = flat
                .iter()
                .map(|fields| fields.get(field).cloned().unwrap_or(Value::Null))
                .collect();
            let differs = values.iter().any(|value| value != &values[0]);
            differs.then(|| Difference {
                field: field.clone(),
                values,
            })
        })
        .collect()
}

/// The fields among `differences` that make the results measure different
/// things (key space, distribution, load, store, events).
pub(crate) fn of_workload(differences: &[Difference]) -> Vec<String> {
    differences
        .iter()
        .filter(|difference| {
            WORKLOAD_IDENTITY
                .iter()
                .any(|identity| difference.field.starts_with(identity))
        })
        .map(|difference| difference.field.clone())
        .collect()
}
