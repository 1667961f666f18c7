//! The decoded benchmark's work timed in alternation, one pass of a tier
//! per parser at a time, so that a slow spell of a shared machine falls on
//! both: `mime_alternate TIER ROUNDS` prints each parser's fastest and
//! median pass and the ratios. (Criterion, in `benches/mime.rs`, is the
//! measurement of record; this reads a noisy machine.)

#[path = "../benches/work/mime.rs"]
mod work;

use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let tier = args.get(1).map_or("T1-small", String::as_str);
    let rounds: usize = args
        .get(2)
        .map_or(40, |r| r.parse().expect("a number of rounds"));
    let messages = sansmail_benches::tier(tier);
    type Run = fn(&[u8]) -> usize;
    let parsers: [(&str, Run); 3] = [
        ("sansmail", work::ours_everything),
        ("mail-parser", work::mail_parser_everything),
        ("mailparse", work::mailparse_everything),
    ];
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); parsers.len()];
    for _ in 0..rounds {
        for (i, (_, run)) in parsers.iter().enumerate() {
            let start = Instant::now();
            let n: usize = messages.iter().map(|m| run(std::hint::black_box(m))).sum();
            times[i].push(start.elapsed());
            std::hint::black_box(n);
        }
    }
    let stats: Vec<(Duration, Duration)> = times
        .iter_mut()
        .map(|t| {
            t.sort();
            (t[0], t[t.len() / 2])
        })
        .collect();
    for ((name, _), (min, median)) in parsers.iter().zip(&stats) {
        println!(
            "{tier} {name:12} fastest {:8.3} ms  median {:8.3} ms  ratio to sansmail: fastest {:.2}x  median {:.2}x",
            min.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            min.as_secs_f64() / stats[0].0.as_secs_f64(),
            median.as_secs_f64() / stats[0].1.as_secs_f64(),
        );
    }
}
