//! The request object (RFC 8620 §3.3), its problems (§3.6.1) and result
//! references (§3.7): pure functions over JSON, fuzzed.

use serde_json::{Map, Value, json};

use crate::{CORE, Limits, MAIL, MethodError, SUBMISSION, VACATION};

/// A request-level error: an RFC 7807 problem sent with HTTP 400.
#[derive(Clone, Debug, PartialEq)]
pub struct Problem {
    /// The JMAP error type, e.g. `urn:ietf:params:jmap:error:notJSON`.
    pub kind: &'static str,
    /// What was wrong.
    pub detail: String,
    /// For `limit`: which limit.
    pub limit: Option<&'static str>,
}

impl Problem {
    fn new(kind: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind,
            detail: detail.into(),
            limit: None,
        }
    }

    /// The problem as JSON (`application/problem+json`).
    pub fn to_json(&self) -> Value {
        let mut object = json!({"type": self.kind, "status": 400, "detail": self.detail});
        if let Some(limit) = self.limit {
            object["limit"] = Value::from(limit);
        }
        object
    }
}

/// A request that passed every request-level check.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// The capabilities the client uses.
    pub using: Vec<String>,
    /// Method name, arguments, call id.
    pub calls: Vec<(String, Map<String, Value>, String)>,
}

/// Reads a request body: JSON, the request shape, known capabilities,
/// and the size and call limits.
pub fn parse_request(body: &[u8], limits: &Limits) -> Result<Request, Problem> {
    if body.len() > limits.max_size_request {
        return Err(Problem {
            limit: Some("maxSizeRequest"),
            ..Problem::new(
                "urn:ietf:params:jmap:error:limit",
                format!("the request is over {} octets", limits.max_size_request),
            )
        });
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        Problem::new(
            "urn:ietf:params:jmap:error:notJSON",
            format!("not JSON: {e}"),
        )
    })?;
    let not_request = |why: &str| Problem::new("urn:ietf:params:jmap:error:notRequest", why);
    let object = value
        .as_object()
        .ok_or_else(|| not_request("the request is not an object"))?;
    let using: Vec<String> = object
        .get("using")
        .and_then(Value::as_array)
        .ok_or_else(|| not_request("\"using\" must be an array of capabilities"))?
        .iter()
        .map(|u| u.as_str().map(str::to_owned))
        .collect::<Option<_>>()
        .ok_or_else(|| not_request("\"using\" must hold strings"))?;
    if let Some(unknown) = using
        .iter()
        .find(|u| ![CORE, MAIL, SUBMISSION, VACATION].contains(&u.as_str()))
    {
        return Err(Problem::new(
            "urn:ietf:params:jmap:error:unknownCapability",
            format!("the capability {unknown:?} is not supported"),
        ));
    }
    let calls = object
        .get("methodCalls")
        .and_then(Value::as_array)
        .ok_or_else(|| not_request("\"methodCalls\" must be an array"))?;
    if calls.len() > limits.max_calls_in_request {
        return Err(Problem {
            limit: Some("maxCallsInRequest"),
            ..Problem::new(
                "urn:ietf:params:jmap:error:limit",
                format!("more than {} method calls", limits.max_calls_in_request),
            )
        });
    }
    let calls = calls
        .iter()
        .map(|call| match call.as_array().map(Vec::as_slice) {
            Some([Value::String(name), Value::Object(args), Value::String(id)]) => {
                Ok((name.clone(), args.clone(), id.clone()))
            }
            _ => Err(not_request(
                "each method call is [name, arguments object, call id]",
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(Request { using, calls })
}

/// Replaces each `#name` argument (a result reference) by the value it
/// points at in an earlier response; an argument given both ways, or a
/// reference that leads nowhere, is `invalidArguments` /
/// `invalidResultReference`.
pub fn resolve_references(
    args: Map<String, Value>,
    earlier: &[(String, Value, String)],
) -> Result<Map<String, Value>, MethodError> {
    let mut out = Map::new();
    for (key, value) in &args {
        let Some(name) = key.strip_prefix('#') else {
            continue;
        };
        if args.contains_key(name) {
            return Err(MethodError::invalid(format!(
                "{name} is given both directly and by reference"
            )));
        }
        let bad = |why: &str| MethodError::new("invalidResultReference", why.to_owned());
        let (Some(of), Some(method), Some(path)) = (
            value.get("resultOf").and_then(Value::as_str),
            value.get("name").and_then(Value::as_str),
            value.get("path").and_then(Value::as_str),
        ) else {
            return Err(bad("a reference has resultOf, name and path"));
        };
        let Some((_, result, _)) = earlier.iter().find(|(n, _, id)| id == of && n == method) else {
            return Err(bad("no earlier response matches the reference"));
        };
        let found = pointer(result, path).ok_or_else(|| bad("the path leads nowhere"))?;
        out.insert(name.to_owned(), found);
    }
    for (key, value) in args {
        if !key.starts_with('#') {
            out.insert(key, value);
        }
    }
    Ok(out)
}

/// A JSON pointer (RFC 6901) with JMAP's `*`: applied to each item of an
/// array, the results flattened into one array.
pub fn pointer(value: &Value, path: &str) -> Option<Value> {
    if path.is_empty() {
        return Some(value.clone());
    }
    let rest = path.strip_prefix('/')?;
    let (token, rest) = match rest.split_once('/') {
        Some((token, rest)) => (token, format!("/{rest}")),
        None => (rest, String::new()),
    };
    let token = token.replace("~1", "/").replace("~0", "~");
    match value {
        Value::Array(items) if token == "*" => {
            let mut out = Vec::new();
            for item in items {
                match pointer(item, &rest)? {
                    Value::Array(inner) => out.extend(inner),
                    other => out.push(other),
                }
            }
            Some(Value::Array(out))
        }
        Value::Array(items) => pointer(items.get(token.parse::<usize>().ok()?)?, &rest),
        Value::Object(map) => pointer(map.get(&token)?, &rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_problems_have_their_types() {
        let limits = Limits::default();
        let kind = |body: &str| parse_request(body.as_bytes(), &limits).unwrap_err().kind;
        assert_eq!(kind("{"), "urn:ietf:params:jmap:error:notJSON");
        assert_eq!(kind("[]"), "urn:ietf:params:jmap:error:notRequest");
        assert_eq!(
            kind(r#"{"using": [], "methodCalls": [["a", [], "c"]]}"#),
            "urn:ietf:params:jmap:error:notRequest"
        );
        assert_eq!(
            kind(r#"{"using": ["urn:x"], "methodCalls": []}"#),
            "urn:ietf:params:jmap:error:unknownCapability"
        );
        let many = format!(
            r#"{{"using": [], "methodCalls": [{}]}}"#,
            vec![r#"["Core/echo", {}, "c"]"#; 33].join(",")
        );
        let problem = parse_request(many.as_bytes(), &limits).unwrap_err();
        assert_eq!(problem.limit, Some("maxCallsInRequest"));
        assert_eq!(problem.to_json()["limit"], "maxCallsInRequest");
    }

    #[test]
    fn references_follow_pointers_through_arrays() {
        let earlier = vec![(
            "Email/get".to_owned(),
            json!({"list": [{"threadId": "T1"}, {"threadId": "T2"}]}),
            "c1".to_owned(),
        )];
        let args: Map<String, Value> = serde_json::from_value(json!({
            "#ids": {"resultOf": "c1", "name": "Email/get", "path": "/list/*/threadId"},
            "properties": ["id"],
        }))
        .unwrap();
        let resolved = resolve_references(args, &earlier).unwrap();
        assert_eq!(resolved["ids"], json!(["T1", "T2"]));
        let wrong: Map<String, Value> = serde_json::from_value(json!({
            "#ids": {"resultOf": "c9", "name": "Email/get", "path": "/list"},
        }))
        .unwrap();
        assert_eq!(
            resolve_references(wrong, &earlier).unwrap_err().kind,
            "invalidResultReference"
        );
        assert_eq!(
            pointer(&json!({"a/b": {"~": 1}}), "/a~1b/~0"),
            Some(json!(1))
        );
    }

    proptest::proptest! {
        /// A request written from its parts reads back as the same parts.
        #[test]
        fn requests_round_trip(
            names in proptest::collection::vec("[A-Za-z]{1,8}/[a-z]{1,8}", 0..5),
            text in "[ -~]{0,20}",
        ) {
            let calls: Vec<Value> = names
                .iter()
                .enumerate()
                .map(|(i, n)| json!([n, {"text": text}, format!("c{i}")]))
                .collect();
            let body = json!({"using": [CORE], "methodCalls": calls}).to_string();
            let request = parse_request(body.as_bytes(), &Limits::default()).unwrap();
            proptest::prop_assert_eq!(request.using, vec![CORE.to_owned()]);
            proptest::prop_assert_eq!(request.calls.len(), names.len());
            for (i, (name, args, id)) in request.calls.iter().enumerate() {
                proptest::prop_assert_eq!(name, &names[i]);
                proptest::prop_assert_eq!(&args["text"], &Value::from(text.clone()));
                proptest::prop_assert_eq!(id, &format!("c{i}"));
            }
        }
    }
}
