//! JMAP request bodies from any bytes: no panic; what parses has its
//! calls' references resolved against the earlier calls without panic,
//! and a request written back from its parts parses to the same parts.

use sansmail_jmap::{Limits, parse_request, request::resolve_references};
use serde_json::{Value, json};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let limits = Limits::default();
    let Ok(request) = parse_request(data, &limits) else {
        return;
    };
    let calls: Vec<Value> = request
        .calls
        .iter()
        .map(|(name, args, id)| json!([name, args, id]))
        .collect();
    let written = json!({"using": request.using, "methodCalls": calls}).to_string();
    assert_eq!(
        parse_request(written.as_bytes(), &limits).ok(),
        Some(request.clone())
    );
    // Each call's arguments stand in for its response, as if echoed.
    let mut earlier: Vec<(String, Value, String)> = Vec::new();
    for (name, args, id) in request.calls {
        let _ = resolve_references(args.clone(), &earlier);
        earlier.push((name, Value::Object(args), id));
    }
}
