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

/// The whole result of a Mailbox/query: filters `role`, `hasAnyRole`,
/// `name` (contains, case-insensitive), `parentId`, `isSubscribed`; sorted
/// by sortOrder then name.
pub(crate) fn results(view: &AccountView, args: &Map<String, Value>) -> Vec<String> {
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
    positions
        .iter()
        .map(|&p| view.mailboxes[p].id.to_string())
        .collect()
}

/// What every `/set` checks first: `ifInState` against the state now, and
/// the number of objects against the limit; gives the state now.
pub(crate) fn set_preamble(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &Limits,
) -> Result<String, MethodError> {
    let old_state = view.session_state();
    if let Some(expected) = args.get("ifInState").and_then(Value::as_str)
        && expected != old_state
    {
        return Err(MethodError::new("stateMismatch", "the state has moved on"));
    }
    let count = ["create", "update"]
        .iter()
        .filter_map(|k| args.get(*k).and_then(Value::as_object).map(Map::len))
        .sum::<usize>()
        + args
            .get("destroy")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
    if count > limits.max_objects_in_set {
        return Err(MethodError::new(
            "requestTooLarge",
            format!("more than {} objects", limits.max_objects_in_set),
        ));
    }
    Ok(old_state)
}

/// The full store name for `name` under the mailbox `parent` (an id).
fn full_name(view: &AccountView, name: &str, parent: Option<&Value>) -> Result<String, String> {
    if name.is_empty() || name.contains(sansmail_store::DELIMITER) {
        return Err(format!(
            "a name is not empty and holds no {:?}",
            sansmail_store::DELIMITER
        ));
    }
    match parent {
        None | Some(Value::Null) => Ok(name.to_owned()),
        Some(Value::String(id)) => {
            let position = view.mailbox(id).ok_or(format!("no mailbox {id}"))?;
            Ok(format!(
                "{}{}{name}",
                view.mailboxes[position].name,
                sansmail_store::DELIMITER
            ))
        }
        Some(_) => Err("parentId is an id or null".into()),
    }
}

/// Mailbox/set: create (name, parentId), rename or move (name,
/// parentId), destroy (refused for the inbox, and for a mailbox holding
/// mail unless `onDestroyRemoveEmails`).
pub(crate) async fn set(
    view: &AccountView,
    args: &Map<String, Value>,
    limits: &Limits,
) -> MethodResult {
    let old_state = set_preamble(view, args, limits)?;
    let error = |kind: &str, why: String| json!({"type": kind, "description": why});
    let (mut created, mut not_created) = (Map::new(), Map::new());
    for (cid, object) in args
        .get("create")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let result = async {
            let name = object
                .get("name")
                .and_then(Value::as_str)
                .ok_or("name is required")?;
            let full = full_name(view, name, object.get("parentId"))?;
            view.account
                .create(&full)
                .await
                .map_err(|e| e.to_string())?;
            let mailbox = view.account.open(&full).await.map_err(|e| e.to_string())?;
            Ok::<_, String>(mailbox.id().to_string())
        }
        .await;
        match result {
            Ok(id) => {
                created.insert(
                    cid.clone(),
                    json!({"id": id, "totalEmails": 0, "unreadEmails": 0, "totalThreads": 0, "unreadThreads": 0}),
                );
            }
            Err(why) => {
                not_created.insert(cid.clone(), error("invalidProperties", why));
            }
        }
    }
    let (mut updated, mut not_updated) = (Map::new(), Map::new());
    for (id, patch) in args
        .get("update")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let result = async {
            let position = view.mailbox(id).ok_or(format!("no mailbox {id}"))?;
            let current = &view.mailboxes[position];
            let (name, parent) = AccountView::split_name(&current.name);
            let name = patch.get("name").and_then(Value::as_str).unwrap_or(name);
            let parent_id = match patch.get("parentId") {
                Some(value) => value.clone(),
                None => parent
                    .and_then(|p| view.mailboxes.iter().find(|m| m.name == p))
                    .map_or(Value::Null, |m| Value::from(m.id.to_string())),
            };
            let full = full_name(view, name, Some(&parent_id))?;
            if full != current.name {
                if current.role == Some("inbox") {
                    return Err("the inbox keeps its name".to_owned());
                }
                view.account
                    .rename(&current.name, &full)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                updated.insert(id.clone(), Value::Null);
            }
            Err(why) => {
                not_updated.insert(id.clone(), error("invalidProperties", why));
            }
        }
    }
    let remove_emails = args
        .get("onDestroyRemoveEmails")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let (mut destroyed, mut not_destroyed) = (Vec::new(), Map::new());
    for id in args
        .get("destroy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
    {
        let Some(position) = view.mailbox(id) else {
            not_destroyed.insert(id.to_owned(), error("notFound", format!("no mailbox {id}")));
            continue;
        };
        let mailbox = &view.mailboxes[position];
        let holds_mail = view
            .emails
            .iter()
            .any(|e| e.places.iter().any(|(p, _)| *p == position));
        if mailbox.role == Some("inbox") {
            not_destroyed.insert(id.to_owned(), error("forbidden", "the inbox stays".into()));
        } else if holds_mail && !remove_emails {
            not_destroyed.insert(
                id.to_owned(),
                error(
                    "mailboxHasEmail",
                    "it holds mail (onDestroyRemoveEmails)".into(),
                ),
            );
        } else {
            match view.account.delete(&mailbox.name).await {
                Ok(()) => destroyed.push(Value::from(id)),
                Err(e) => {
                    not_destroyed.insert(id.to_owned(), error("serverFail", e.to_string()));
                }
            }
        }
    }
    Ok(json!({
        "oldState": old_state,
        "newState": view.live_state(),
        "created": created,
        "updated": updated,
        "destroyed": destroyed,
        "notCreated": not_created,
        "notUpdated": not_updated,
        "notDestroyed": not_destroyed,
    }))
}
