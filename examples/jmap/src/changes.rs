//! `/changes` for Email and Mailbox (RFC 8620 §5.2): the states a server
//! gave out recently are remembered as fingerprints, and changes are the
//! differences between then and now. A state older than that (or from
//! before a restart) is `cannotCalculateChanges`, and the client
//! resynchronises, as the RFC provides.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value, json};

use crate::view::{AccountView, Snapshot};
use crate::{MethodError, MethodResult};

/// States remembered per user.
const KEPT: usize = 64;

/// A user's recent states, oldest first, with their fingerprints.
type States = VecDeque<(String, Arc<Snapshot>)>;

/// Recent states of each user's account.
#[derive(Default)]
pub(crate) struct History {
    users: Mutex<HashMap<String, States>>,
}

impl History {
    /// Remembers `view`'s state for `user`.
    pub(crate) fn record(&self, user: &str, view: &AccountView) {
        let state = view.session_state();
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let states = users.entry(user.to_owned()).or_default();
        if states.iter().any(|(s, _)| *s == state) {
            return;
        }
        if states.len() == KEPT {
            states.pop_front();
        }
        states.push_back((state, Arc::new(view.snapshot())));
    }

    fn find(&self, user: &str, state: &str) -> Option<Arc<Snapshot>> {
        let users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users
            .get(user)?
            .iter()
            .find(|(s, _)| s == state)
            .map(|(_, snapshot)| snapshot.clone())
    }
}

/// Created, updated and destroyed keys between two fingerprint maps.
fn diff<K: Eq + Hash + Copy + ToString>(
    old: &HashMap<K, u64>,
    new: &HashMap<K, u64>,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut created: Vec<String> = new
        .keys()
        .filter(|k| !old.contains_key(k))
        .map(K::to_string)
        .collect();
    let mut updated: Vec<String> = new
        .iter()
        .filter(|(k, v)| old.get(k).is_some_and(|o| o != *v))
        .map(|(k, _)| k.to_string())
        .collect();
    let mut destroyed: Vec<String> = old
        .keys()
        .filter(|k| !new.contains_key(k))
        .map(K::to_string)
        .collect();
    created.sort();
    updated.sort();
    destroyed.sort();
    (created, updated, destroyed)
}

/// Email/changes or Mailbox/changes (`mailboxes` says which).
pub(crate) fn changes(
    history: &History,
    user: &str,
    view: &AccountView,
    args: &Map<String, Value>,
    mailboxes: bool,
) -> MethodResult {
    let since = args
        .get("sinceState")
        .and_then(Value::as_str)
        .ok_or_else(|| MethodError::invalid("sinceState is required"))?;
    let old = history.find(user, since).ok_or_else(|| {
        MethodError::new(
            "cannotCalculateChanges",
            "that state is too old or unknown here; fetch afresh",
        )
    })?;
    let now = view.snapshot();
    let (created, updated, destroyed) = match mailboxes {
        true => diff(&old.mailboxes, &now.mailboxes),
        false => diff(&old.emails, &now.emails),
    };
    let total = created.len() + updated.len() + destroyed.len();
    if let Some(max) = args.get("maxChanges").and_then(Value::as_u64)
        && total as u64 > max
    {
        return Err(MethodError::new(
            "cannotCalculateChanges",
            format!("{total} changes, more than maxChanges; fetch afresh"),
        ));
    }
    let mut out = json!({
        "oldState": since,
        "newState": view.session_state(),
        "hasMoreChanges": false,
        "created": created,
        "updated": updated,
        "destroyed": destroyed,
    });
    if mailboxes {
        out["updatedProperties"] = Value::Null;
    }
    Ok(out)
}
