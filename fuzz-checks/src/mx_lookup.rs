//! Arbitrary bytes as DNS responses to a lookup in progress: no panic, no
//! endless loop, never more queries than the bound, and always an end;
//! arbitrary domains are refused or looked up, never a panic.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::pieces;
use sansmail_mx::{Config, Lookup, Output};

/// Runs the check on one input; panics when a property fails.
pub fn check(data: &[u8]) {
    let Some((&knobs, mut rest)) = data.split_first() else {
        return;
    };
    let servers: Vec<SocketAddr> = vec![
        "127.0.0.1:53".parse().unwrap(),
        "127.0.0.2:53".parse().unwrap(),
    ];
    let mut config = Config::new(servers, u64::from(knobs));
    config.max_queries = 12;
    config.tcp = knobs & 1 == 0;
    let mut now = Instant::now();
    // Sometimes the domain itself comes from the input: validation must not panic.
    let domain = if knobs & 2 != 0 {
        let (piece, _) = pieces::next_piece(&mut rest);
        String::from_utf8_lossy(piece).into_owned()
    } else {
        "example.org".to_owned()
    };
    let Ok(mut lookup) = Lookup::new(&domain, config, now) else {
        return;
    };
    let mut steps = 0;
    loop {
        steps += 1;
        assert!(steps < 10_000, "the lookup does not end");
        match lookup.poll_output() {
            Output::Send(query) => {
                assert!(lookup.queries_sent() <= 12, "query bound exceeded");
                let (piece, silent) = pieces::next_piece(&mut rest);
                if silent || piece.is_empty() {
                    continue;
                }
                let mut response = piece.to_vec();
                // Mostly answer with the right id, so the bytes reach the parser.
                if response.len() >= 2 && response[0] & 1 == 0 {
                    response[..2].copy_from_slice(&query.id.to_be_bytes());
                }
                lookup.handle_response(now, query.server, query.transport, &response);
            }
            Output::Timeout(deadline) => {
                now = deadline.max(now + Duration::from_millis(1));
                lookup.handle_timeout(now);
            }
            Output::Done(_) => break,
        }
    }
    assert!(lookup.queries_sent() <= 12);
}
