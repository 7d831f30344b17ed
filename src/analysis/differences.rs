//! What differs between results' configurations: the mode, the workload
//! (flags applied), the machine, the tool and a target's reported
//! settings, field by field; and which of those differences make two
//! results measure different things. `compare` shows them, `check` and
//! `merge` refuse results whose workloads differ.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::harness::fill::CacheFill;
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
const WORKLOAD_IDENTITY: [&str; 8] = [
    "trace",
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
                // The trace replayed, by its bytes and how it was cut, not
                // by where the file was.
                "trace": result.trace.as_ref().map(|trace| serde_json::json!({
                    "hash": trace.hash,
                    "file_bytes": trace.file_bytes,
                    "format": trace.format,
                    "sample": trace.sample,
                    "limit": trace.limit,
                })),
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
/// things (key space, distribution, load, store, events, the trace).
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

/// One result as [`unfilled_caches`] reads it: its name, its nodes' cache
/// size, whether its caches filled, and the requests it made (warm-up
/// included).
pub struct CacheSide<'a> {
    /// How the reader knows it (a column letter, a configuration).
    pub name: String,
    /// Each node's main-cache size in bytes.
    pub cache_bytes: u64,
    /// Whether its caches filled; `None` when not known (target mode).
    pub fill: Option<&'a CacheFill>,
    /// Requests it made, warm-up included.
    pub requests: u64,
}

/// A warning when results that differ in cache size include some whose
/// caches never filled: for those the size made no difference, so the
/// comparison cannot see it. Says what would fill each.
pub fn unfilled_caches(sides: &[CacheSide]) -> Option<String> {
    let sizes: std::collections::BTreeSet<u64> =
        sides.iter().map(|side| side.cache_bytes).collect();
    if sizes.len() < 2 {
        return None;
    }
    let unfilled: Vec<String> = sides
        .iter()
        .filter_map(|side| {
            let fill = side.fill.filter(|fill| fill.never_filled())?;
            let size = crate::units::ByteSize(side.cache_bytes);
            Some(if fill.holds_every_key {
                format!("{} ({size}: holds every key it owns)", side.name)
            } else if let Some(needed) = fill.requests_to_fill {
                format!(
                    "{} ({size}: about {needed} requests would fill it, it made {})",
                    side.name, side.requests
                )
            } else {
                format!("{} ({size})", side.name)
            })
        })
        .collect();
    (!unfilled.is_empty()).then(|| {
        format!(
            "WARNING: these differ in cache size, but no node's cache ever filled (evicted \
             anything) in {}: the size made no difference there, so the comparison cannot see it",
            unfilled.join(", ")
        )
    })
}

/// [`unfilled_caches`] over named results.
pub fn unfilled_results<'a>(
    results: impl IntoIterator<Item = (String, &'a RunResult)>,
) -> Option<String> {
    let sides: Vec<CacheSide> = results
        .into_iter()
        .map(|(name, result)| CacheSide {
            name,
            cache_bytes: result.workload.cluster.cache_bytes.0,
            fill: result.caches.as_ref(),
            requests: result.client.requests + result.workload.warmup_requests,
        })
        .collect();
    unfilled_caches(&sides)
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    #[test]
    fn differing_cache_sizes_that_never_filled_are_named() {
        let filled = CacheFill {
            evictions: 10,
            requests_to_fill: None,
            holds_every_key: false,
        };
        let unfilled = CacheFill {
            evictions: 0,
            requests_to_fill: Some(95_000),
            holds_every_key: false,
        };
        let roomy = CacheFill {
            evictions: 0,
            requests_to_fill: None,
            holds_every_key: true,
        };
        let side = |name: &str, cache_bytes, fill| CacheSide {
            name: name.to_owned(),
            cache_bytes,
            fill: Some(fill),
            requests: 80_000,
        };
        let warning = unfilled_caches(&[
            side("A", 1 << 14, &filled),
            side("B", 1 << 20, &unfilled),
            side("C", 1 << 30, &roomy),
        ])
        .unwrap();
        assert!(
            warning.contains(
                "B (1MiB: about 95000 requests would fill it, it made 80000), C (1GiB: holds \
                 every key it owns)"
            ) && !warning.contains("A ("),
            "{warning}"
        );
        // One size, or every cache filled: nothing to say.
        assert_eq!(
            unfilled_caches(&[side("A", 1 << 20, &unfilled), side("B", 1 << 20, &unfilled)]),
            None
        );
        assert_eq!(
            unfilled_caches(&[side("A", 1 << 14, &filled), side("B", 1 << 20, &filled)]),
            None
        );
    }
}
