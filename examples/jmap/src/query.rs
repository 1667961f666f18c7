//! The window a `/query` answers (position or anchor, limit) and
//! `/queryChanges` (RFC 8620 §5.5, §5.6) over a query's whole result. A
//! query state is a digest of the filter, the sort and the result, and the
//! recent results are remembered by state (with what selected them, so a
//! state is only compared with the same query); changes since one are the ids
//! to remove and the ids to insert at their new indexes, with the longest
//! run of ids that kept their relative order left alone.

use std::collections::{HashMap, HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::{MethodError, MethodResult};

/// Results remembered per user.
const KEPT: usize = 32;

/// One user's recent results, oldest first: (query state, query key, ids).
type Results = VecDeque<(String, u64, Arc<Vec<String>>)>;

/// Recent query results of each user.
#[derive(Default)]
pub(crate) struct QueryHistory {
    users: Mutex<HashMap<String, Results>>,
}

impl QueryHistory {
    /// Remembers a result; gives its state.
    fn record(&self, user: &str, key: u64, ids: &Arc<Vec<String>>) -> String {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (key, ids.as_slice()).hash(&mut hasher);
        let state = format!("q{:016x}", hasher.finish());
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let results = users.entry(user.to_owned()).or_default();
        if !results.iter().any(|(s, _, _)| *s == state) {
            if results.len() == KEPT {
                results.pop_front();
            }
            results.push_back((state.clone(), key, ids.clone()));
        }
        state
    }

    /// The result given out as `state` by the query of `key`.
    fn find(&self, user: &str, state: &str, key: u64) -> Option<Arc<Vec<String>>> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .get(user)?
            .iter()
            .find(|(s, k, _)| s == state && *k == key)
            .map(|(_, _, ids)| ids.clone())
    }
}

/// What selects and orders a query's result: a digest of `name`, the
/// filter, the sort and collapseThreads.
fn query_key(name: &str, args: &Map<String, Value>) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    name.hash(&mut hasher);
    for key in ["filter", "sort", "collapseThreads"] {
        args.get(key).map(Value::to_string).hash(&mut hasher);
    }
    hasher.finish()
}

/// The /query answer for the whole result `ids`: the window the arguments
/// ask for (`position`, or `anchor` and `anchorOffset`; `limit`), the
/// query state (remembered for /queryChanges) and `total` when asked.
pub(crate) fn window(
    history: &QueryHistory,
    user: &str,
    name: &str,
    args: &Map<String, Value>,
    ids: Vec<String>,
) -> MethodResult {
    let total = ids.len();
    let position = match args.get("anchor").and_then(Value::as_str) {
        Some(anchor) => {
            let at = ids.iter().position(|id| id == anchor).ok_or_else(|| {
                MethodError::new("anchorNotFound", format!("{anchor} is not in the result"))
            })?;
            let offset = args
                .get("anchorOffset")
                .and_then(Value::as_i64)
                .unwrap_or(0);
            (at as i64 + offset).clamp(0, total as i64) as usize
        }
        None => match args.get("position").and_then(Value::as_i64).unwrap_or(0) {
            p if p < 0 => total.saturating_sub(p.unsigned_abs() as usize),
            p => (p as usize).min(total),
        },
    };
    let limit = match args.get("limit") {
        None | Some(Value::Null) => total,
        Some(value) => value
            .as_u64()
            .ok_or_else(|| MethodError::invalid("limit is a non-negative integer"))?
            as usize,
    };
    let ids = Arc::new(ids);
    let state = history.record(user, query_key(name, args), &ids);
    let window: Vec<&String> = ids[position..].iter().take(limit).collect();
    let mut out = json!({
        "queryState": state,
        "canCalculateChanges": true,
        "position": position,
        "ids": window,
    });
    if args.get("calculateTotal").and_then(Value::as_bool) == Some(true) {
        out["total"] = Value::from(total);
    }
    Ok(out)
}

/// The /queryChanges answer: how to turn the result of `sinceQueryState`
/// into `ids`, the result now; `cannotCalculateChanges` when that state is
/// not remembered (or was of another filter or sort), `tooManyChanges`
/// past `maxChanges`.
pub(crate) fn changes(
    history: &QueryHistory,
    user: &str,
    name: &str,
    args: &Map<String, Value>,
    ids: Vec<String>,
) -> MethodResult {
    let since = args
        .get("sinceQueryState")
        .and_then(Value::as_str)
        .ok_or_else(|| MethodError::invalid("sinceQueryState is required"))?;
    let max_changes = match args.get("maxChanges") {
        None | Some(Value::Null) => None,
        Some(value) => match value.as_u64() {
            Some(n) if n > 0 => Some(n as usize),
            _ => return Err(MethodError::invalid("maxChanges is a positive integer")),
        },
    };
    let key = query_key(name, args);
    let old = history.find(user, since, key).ok_or_else(|| {
        MethodError::new(
            "cannotCalculateChanges",
            "that query state is not known here (too old, or another filter or sort)",
        )
    })?;
    let ids = Arc::new(ids);
    let state = history.record(user, key, &ids);
    let (removed, added) = diff(&old, &ids);
    if max_changes.is_some_and(|max| removed.len() + added.len() > max) {
        return Err(MethodError::new(
            "tooManyChanges",
            format!(
                "{} changes, more than maxChanges",
                removed.len() + added.len()
            ),
        ));
    }
    let added: Vec<Value> = added
        .into_iter()
        .map(|(id, index)| json!({"id": id, "index": index}))
        .collect();
    let mut out = json!({
        "oldQueryState": since,
        "newQueryState": state,
        "removed": removed,
        "added": added,
    });
    if args.get("calculateTotal").and_then(Value::as_bool) == Some(true) {
        out["total"] = Value::from(ids.len());
    }
    Ok(out)
}

/// The ids to remove from `old` and the (id, index) pairs to insert, in
/// index order, to give `new`: everything but the longest subsequence of
/// ids common to both in the same order.
fn diff(old: &[String], new: &[String]) -> (Vec<String>, Vec<(String, usize)>) {
    let old_index: HashMap<&str, usize> = old
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    // (index in new, index in old) of the ids in both, in new's order.
    let common: Vec<(usize, usize)> = new
        .iter()
        .enumerate()
        .filter_map(|(i, id)| old_index.get(id.as_str()).map(|&o| (i, o)))
        .collect();
    // Longest increasing run of old indexes (patience sorting).
    let mut tails: Vec<usize> = Vec::new(); // positions in `common`
    let mut parent: Vec<Option<usize>> = vec![None; common.len()];
    for (k, &(_, o)) in common.iter().enumerate() {
        let at = tails.partition_point(|&t| common[t].1 < o);
        parent[k] = at.checked_sub(1).map(|p| tails[p]);
        match tails.get_mut(at) {
            Some(slot) => *slot = k,
            None => tails.push(k),
        }
    }
    let mut kept: HashSet<usize> = HashSet::new(); // indexes in new
    let mut next = tails.last().copied();
    while let Some(k) = next {
        kept.insert(common[k].0);
        next = parent[k];
    }
    let kept_ids: HashSet<&str> = kept.iter().map(|&i| new[i].as_str()).collect();
    let removed = old
        .iter()
        .filter(|id| !kept_ids.contains(id.as_str()))
        .cloned()
        .collect();
    let added = new
        .iter()
        .enumerate()
        .filter(|(i, _)| !kept.contains(i))
        .map(|(i, id)| (id.clone(), i))
        .collect();
    (removed, added)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What a client does with a /queryChanges answer.
    fn apply(old: &[String], removed: &[String], added: &[(String, usize)]) -> Vec<String> {
        let mut list: Vec<String> = old
            .iter()
            .filter(|id| !removed.contains(id))
            .cloned()
            .collect();
        for (id, index) in added {
            list.insert(*index, id.clone());
        }
        list
    }

    proptest! {
        #[test]
        fn applying_the_changes_gives_the_new_result(
            old in proptest::sample::subsequence((0..40).collect::<Vec<u32>>(), 0..40).prop_shuffle(),
            new in proptest::sample::subsequence((0..40).collect::<Vec<u32>>(), 0..40).prop_shuffle(),
        ) {
            let old: Vec<String> = old.iter().map(|n| format!("M{n}")).collect();
            let new: Vec<String> = new.iter().map(|n| format!("M{n}")).collect();
            let (removed, added) = diff(&old, &new);
            prop_assert_eq!(apply(&old, &removed, &added), new.clone());
            // Nothing that kept its place among the others is touched.
            prop_assert!(removed.len() <= old.len());
        }
    }

    #[test]
    fn a_new_arrival_at_the_top_is_one_addition() {
        let old: Vec<String> = ["b", "c", "d"].map(String::from).to_vec();
        let new: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        let (removed, added) = diff(&old, &new);
        assert!(removed.is_empty());
        assert_eq!(added, vec![("a".to_owned(), 0)]);
    }

    #[test]
    fn unknown_states_and_too_many_changes_are_errors() {
        let history = QueryHistory::default();
        let args: Map<String, Value> =
            serde_json::from_str(r#"{"sinceQueryState": "qx"}"#).unwrap();
        let error = changes(&history, "u", "Email/query", &args, vec![]).unwrap_err();
        assert_eq!(error.kind, "cannotCalculateChanges");
        let first = window(&history, "u", "Email/query", &Map::new(), vec!["a".into()]).unwrap();
        let args: Map<String, Value> = serde_json::from_value(
            json!({"sinceQueryState": first["queryState"], "maxChanges": 1}),
        )
        .unwrap();
        let error = changes(
            &history,
            "u",
            "Email/query",
            &args,
            vec!["b".into(), "c".into()],
        )
        .unwrap_err();
        assert_eq!(error.kind, "tooManyChanges");
    }
}
