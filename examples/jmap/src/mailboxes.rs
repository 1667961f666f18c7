//! Mailbox/get and Mailbox/query (RFC 8621 §2).

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::view::AccountView;
use crate::{Limits, MethodError, MethodResult};

/// The ids asked for: `null` for all, else an array of strings.
pub(crate) fn requested_ids(
    args: &Map<String, Value>,
    limit: usize,
) -> Result<Option<Vec<String>>, MethodError> {
    match args.get("ids") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(ids)) => {
            if ids.len() > limit {
                return Err(MethodError::new(
                    "requestTooLarge",
                    format!("more than {limit} ids"),
                ));
            }
            ids.iter()
                .map(|id| id.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .map(Some)
                .ok_or_else(|| MethodError::invalid("ids must be strings"))
        }
        Some(_) => Err(MethodError::invalid("ids must be null or an array")),
    }
}

/// The properties asked for, or `default`.
pub(crate) fn requested_properties(args: &Map<String, Value>, default: &[&str]) -> Vec<String> {
    match args.get("properties").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .filter_map(|p| p.as_str().map(str::to_owned))
            .collect(),
        None => default.iter().map(|p| p.to_string()).collect(),
    }
}

const PROPERTIES: &[&str] = &[
    "id",
    "name",
    "parentId",
    "role",
    "sortOrder",
    "totalEmails",
    "unreadEmails",
    "totalThreads",
    "unreadThreads",
    "myRights",
    "isSubscribed",
];

fn mailbox_json(view: &AccountView, position: usize) -> Value {
    let m = &view.mailboxes[position];
    let (name, parent) = AccountView::split_name(&m.name);
    let parent_id = parent
        .and_then(|p| view.mailboxes.iter().find(|o| o.name == p))
        .map(|o| o.id.to_string());
    let (mut total, mut unread) = (0, 0);
    let (mut threads, mut unread_threads) = (HashSet::new(), HashSet::new());
    for email in view
        .emails
        .iter()
        .filter(|e| e.places.iter().any(|(p, _)| *p == position))
    {
        total += 1;
        threads.insert(email.thread);
        if email.system & sansmail_store::SystemFlag::Seen.bit() == 0 {
            unread += 1;
            unread_threads.insert(email.thread);
        }
    }
    let sort_order = match m.role {
        Some("inbox") => 1,
        Some(_) => 2,
        None => 10,
    };
    json!({
        "id": m.id.to_string(),
        "name": name,
        "parentId": parent_id,
        "role": m.role,
        "sortOrder": sort_order,
        "totalEmails": total,
        "unreadEmails": unread,
        "totalThreads": threads.len(),
        "unreadThreads": unread_threads.len(),
        "myRights": {
            "mayReadItems": true, "mayAddItems": true, "mayRemoveItems": true,
            "maySetSeen": true, "maySetKeywords": true, "mayCreateChild": true,
            "mayRename": m.role != Some("inbox"), "mayDelete": m.role != Some("inbox"),
            "maySubmit": true,
        },
        "isSubscribed": m.subscribed,
    })
}

/// Keeps only the asked properties (the id always).
pub(crate) fn pick(object: Value, properties: &[String]) -> Value {
    let Value::Object(map) = object else {
        return object;
    };
    let mut out = Map::new();
    for (k, v) in map {
        if k == "id" || properties.contains(&k) {
            out.insert(k, v);
        }
    }
    Value::Object(out)
}

/// Mailbox/get.
pub(crate) fn get(view: &AccountView, args: &Map<String, Value>, limits: &Limits) -> MethodResult {
    let ids = requested_ids(args, limits.max_objects_in_get)?;
    let properties = requested_properties(args, PROPERTIES);
    let (mut list, mut not_found) = (Vec::new(), Vec::new());
    match ids {
        None => {
            for position in 0..view.mailboxes.len() {
                list.push(pick(mailbox_json(view, position), &properties));
            }
        }
        Some(ids) => {
            for id in ids {
                match view.mailbox(&id) {
                    Some(position) => list.push(pick(mailbox_json(view, position), &properties)),
                    None => not_found.push(Value::from(id)),
                }
            }
        }
    }
    Ok(json!({"state": view.session_state(), "list": list, "notFound": not_found}))
}

/// Mailbox/query: filters `role`, `hasAnyRole`, `name` (contains,
/// case-insensitive), `parentId`, `isSubscribed`; sorted by sortOrder
/// then name.
pub(crate) fn query(view: &AccountView, args: &Map<String, Value>) -> MethodResult {
    let filter = args.get("filter").and_then(Value::as_object);
    let mut positions: Vec<usize> = (0..view.mailboxes.len())
        .filter(|&p| {
            let Some(filter) = filter else { return true };
            let json = mailbox_json(view, p);
            filter.iter().all(|(key, wanted)| match key.as_str() {
                "role" => json["role"] == *wanted,
                "hasAnyRole" => json["role"].is_null() != wanted.as_bool().unwrap_or(false),
                "parentId" => json["parentId"] == *wanted,
                "isSubscribed" => json["isSubscribed"] == *wanted,
                "name" => wanted.as_str().is_some_and(|w| {
                    json["name"]
                        .as_str()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains(&w.to_lowercase())
                }),
                _ => false,
            })
        })
        .collect();
    positions.sort_by_key(|&p| {
        let m = &view.mailboxes[p];
        (
            match m.role {
                Some("inbox") => 0,
                Some(_) => 1,
                None => 2,
            },
            m.name.to_lowercase(),
        )
    });
    let ids: Vec<String> = positions
        .iter()
        .map(|&p| view.mailboxes[p].id.to_string())
        .collect();
    Ok(json!({
        "queryState": view.session_state(),
        "canCalculateChanges": false,
        "position": 0,
        "total": ids.len(),
        "ids": ids,
    }))
}
