//! VacationResponse (RFC 8621 §8): the one automatic reply of an account,
//! kept as JSON under the name `vacation` in the host's [`Settings`];
//! [`active_reply`] tells the host's delivery whether to answer now.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::create::object as argument;
use crate::settings::Settings;
use crate::{MethodError, MethodResult};

/// The properties a VacationResponse has besides its id.
const PROPERTIES: &[&str] = &[
    "isEnabled",
    "fromDate",
    "toDate",
    "subject",
    "textBody",
    "htmlBody",
];

/// The settings name it is kept under.
const NAME: &str = "vacation";

/// `user`'s VacationResponse object (disabled when never set).
pub fn load(settings: &dyn Settings, user: &str) -> Value {
    let stored: Option<Value> = settings
        .load(user, NAME)
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let mut object = json!({
        "id": "singleton", "isEnabled": false, "fromDate": null, "toDate": null,
        "subject": null, "textBody": null, "htmlBody": null,
    });
    if let Some(Value::Object(stored)) = stored {
        for name in PROPERTIES {
            if let Some(value) = stored.get(*name) {
                object[*name] = value.clone();
            }
        }
    }
    object
}

fn save(settings: &dyn Settings, user: &str, object: &Value) -> std::io::Result<()> {
    settings.save(user, NAME, &serde_json::to_vec(object)?)
}

/// The state of a VacationResponse: a digest of its content.
fn state(object: &Value) -> String {
    let digest = Sha256::digest(object.to_string().as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The reply `user`'s vacation response gives at `now` (seconds since the
/// epoch): (subject, text body, HTML body), or `None` when it is off or
/// `now` is outside its dates.
pub fn active_reply(
    settings: &dyn Settings,
    user: &str,
    now: i64,
) -> Option<(Option<String>, String, Option<String>)> {
    let object = load(settings, user);
    if object["isEnabled"] != Value::Bool(true) {
        return None;
    }
    // UTCDates compare as text to the second.
    let second = |v: &Value| v.as_str().map(|s| s.get(..19).unwrap_or(s).to_owned());
    let now = crate::email::utc(now);
    let now = &now[..19];
    if second(&object["fromDate"]).is_some_and(|from| now < from.as_str())
        || second(&object["toDate"]).is_some_and(|to| now >= to.as_str())
    {
        return None;
    }
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let html = text(&object["htmlBody"]);
    let body = text(&object["textBody"]).unwrap_or_else(|| {
        html.as_deref()
            .map(crate::email::strip_tags)
            .unwrap_or_default()
    });
    Some((text(&object["subject"]), body, html))
}

/// True for a JMAP UTCDate (`YYYY-MM-DDThh:mm:ss[.fff]Z`).
fn is_utc_date(text: &str) -> bool {
    let b = text.as_bytes();
    let digits =
        |r: std::ops::Range<usize>| b.get(r).is_some_and(|s| s.iter().all(u8::is_ascii_digit));
    b.len() >= 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[b.len() - 1] == b'Z'
        && (b.len() == 20 || (b[19] == b'.' && digits(20..b.len() - 1)))
}

/// VacationResponse/get.
pub(crate) fn get(settings: &dyn Settings, user: &str, args: &Map<String, Value>) -> MethodResult {
    let object = load(settings, user);
    let wanted = match args.get("ids") {
        None | Some(Value::Null) => true,
        Some(Value::Array(ids)) => ids.iter().any(|i| i == "singleton"),
        Some(_) => return Err(MethodError::invalid("ids is a list or null")),
    };
    let not_found: Vec<&Value> = match args.get("ids") {
        Some(Value::Array(ids)) => ids.iter().filter(|i| *i != "singleton").collect(),
        _ => Vec::new(),
    };
    let list = if wanted {
        vec![crate::mailboxes::pick(
            object.clone(),
            &crate::mailboxes::requested_properties(args, PROPERTIES),
        )]
    } else {
        Vec::new()
    };
    Ok(json!({"state": state(&object), "list": list, "notFound": not_found}))
}

/// VacationResponse/set: `update` of the singleton (create and destroy
/// are `singleton` errors).
pub(crate) fn set(settings: &dyn Settings, user: &str, args: &Map<String, Value>) -> MethodResult {
    let mut object = load(settings, user);
    let old_state = state(&object);
    if let Some(expected) = args.get("ifInState").and_then(Value::as_str)
        && expected != old_state
    {
        return Err(MethodError::new("stateMismatch", "the state has changed"));
    }
    let singleton = |kind: &str| json!({"type": "singleton", "description": format!("the VacationResponse cannot be {kind}")});
    let mut not_created = Map::new();
    for (id, _) in argument(args, "create").into_iter().flatten() {
        not_created.insert(id.clone(), singleton("created"));
    }
    let mut not_destroyed = Map::new();
    for id in args
        .get("destroy")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(id) = id.as_str() {
            not_destroyed.insert(id.to_owned(), singleton("destroyed"));
        }
    }
    let (mut updated, mut not_updated) = (Map::new(), Map::new());
    for (id, patch) in argument(args, "update").into_iter().flatten() {
        if id != "singleton" {
            not_updated.insert(id.clone(), json!({"type": "notFound"}));
            continue;
        }
        let Some(patch) = patch.as_object() else {
            not_updated.insert(id.clone(), json!({"type": "invalidPatch"}));
            continue;
        };
        let mut next = object.clone();
        let mut bad = Vec::new();
        for (name, value) in patch {
            let fits = match name.as_str() {
                "isEnabled" => value.is_boolean(),
                "fromDate" | "toDate" => value.is_null() || value.as_str().is_some_and(is_utc_date),
                "subject" | "textBody" | "htmlBody" => value.is_null() || value.is_string(),
                _ => false,
            };
            match fits {
                true => next[name.as_str()] = value.clone(),
                false => bad.push(Value::from(name.as_str())),
            }
        }
        if !bad.is_empty() {
            not_updated.insert(
                id.clone(),
                json!({"type": "invalidProperties", "properties": bad}),
            );
            continue;
        }
        if let Err(e) = save(settings, user, &next) {
            return Err(MethodError::new("serverFail", e.to_string()));
        }
        object = next;
        updated.insert(id.clone(), Value::Null);
    }
    let none_if_empty = |m: Map<String, Value>| match m.is_empty() {
        true => Value::Null,
        false => Value::Object(m),
    };
    Ok(json!({
        "oldState": old_state,
        "newState": state(&object),
        "created": null,
        "updated": none_if_empty(updated),
        "destroyed": null,
        "notCreated": none_if_empty(not_created),
        "notUpdated": none_if_empty(not_updated),
        "notDestroyed": none_if_empty(not_destroyed),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch of the UTCDates the test uses.
    fn at(date: &str) -> i64 {
        match date {
            "2026-12-19T23:59:59Z" => 1_797_724_799,
            "2026-12-24T12:00:00Z" => 1_798_113_600,
            "2027-01-04T00:00:00Z" => 1_799_020_800,
            _ => unreachable!("{date}"),
        }
    }

    #[test]
    fn set_then_get_and_the_dates_bound_the_reply() {
        let root = std::env::temp_dir().join(format!("sansmail-vacation-{}", std::process::id()));
        let dir = crate::settings::SettingsDir(root.clone());
        let args: Map<String, Value> = serde_json::from_value(json!({"update": {"singleton": {
            "isEnabled": true, "fromDate": "2026-12-20T00:00:00Z", "toDate": "2027-01-04T00:00:00Z",
            "subject": "Away", "textBody": "Back in January."}}}))
        .unwrap();
        let result = set(&dir, "alice", &args).unwrap();
        assert_eq!(result["updated"], json!({"singleton": null}));
        let got = get(&dir, "alice", &Map::new()).unwrap();
        assert_eq!(got["list"][0]["subject"], "Away");
        assert_eq!(got["state"], result["newState"]);
        assert!(active_reply(&dir, "alice", at("2026-12-19T23:59:59Z")).is_none());
        let (subject, text, _) = active_reply(&dir, "alice", at("2026-12-24T12:00:00Z")).unwrap();
        assert_eq!(
            (subject.as_deref(), text.as_str()),
            (Some("Away"), "Back in January.")
        );
        assert!(active_reply(&dir, "alice", at("2027-01-04T00:00:00Z")).is_none());
        assert!(active_reply(&dir, "bob", at("2026-12-24T12:00:00Z")).is_none());
        let bad: Map<String, Value> = serde_json::from_value(
            json!({"update": {"singleton": {"fromDate": "tomorrow", "color": 1}}, "destroy": ["singleton"]}),
        )
        .unwrap();
        let result = set(&dir, "alice", &bad).unwrap();
        assert_eq!(
            result["notUpdated"]["singleton"]["type"],
            "invalidProperties"
        );
        assert_eq!(result["notDestroyed"]["singleton"]["type"], "singleton");
        let _ = std::fs::remove_dir_all(root);
    }
}
