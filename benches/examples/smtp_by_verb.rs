//! The command benchmark's input split by verb (MAIL, RCPT, EHLO, DATA and
//! the rest), each part timed with our borrowed form and with smtp-proto in
//! alternation: `smtp_by_verb` prints the fastest pass of each, per
//! command. `smtp_by_verb VERB (ours|theirs) ROUNDS` only runs one parser
//! over one part, for callgrind.
use std::hint::black_box;
use std::time::Instant;

#[path = "../shared/smtp_passes.rs"]
#[allow(dead_code)] // times commands only, not the DATA pass
mod smtp_passes;

use smtp_passes::{borrowed_commands as ours, stalwart_commands as theirs};

const VERBS: [&str; 4] = ["MAIL", "RCPT", "EHLO", "DATA"];

/// The lines of `all` whose verb is `verb` ("other": none of [`VERBS`]).
fn part(all: &[u8], verb: &str) -> Vec<u8> {
    let mut input = Vec::new();
    for line in all.split_inclusive(|&b| b == b'\n') {
        let head = line[..4].to_ascii_uppercase();
        let is = match verb {
            "other" => !VERBS.iter().any(|v| v.as_bytes() == head),
            _ => verb.as_bytes() == head,
        };
        if is {
            input.extend_from_slice(line);
        }
    }
    input
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let all = sansmail_benches::smtp_inputs::commands(10_000);
    if let [_, verb, parser, rounds] = &args[..] {
        let input = part(&all, verb);
        let rounds: usize = rounds.parse().expect("a number of rounds");
        for _ in 0..rounds {
            match parser.as_str() {
                "ours" => black_box(ours(black_box(&input))),
                _ => black_box(theirs(black_box(&input))),
            };
        }
        return;
    }
    for verb in VERBS.into_iter().chain(["other"]) {
        let input = part(&all, verb);
        let n = ours(&input);
        assert_eq!(n, theirs(&input));
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for _ in 0..400 {
            let t = Instant::now();
            ours(black_box(&input));
            a.push(t.elapsed());
            let t = Instant::now();
            theirs(black_box(&input));
            b.push(t.elapsed());
        }
        let (a, b) = (a.iter().min().unwrap(), b.iter().min().unwrap());
        println!(
            "{verb}: {n} commands; ours {:.1} ns, smtp-proto {:.1} ns a command: {:.2}x",
            a.as_nanos() as f64 / n as f64,
            b.as_nanos() as f64 / n as f64,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}
