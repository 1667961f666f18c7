//! The command and reply benchmarks' work timed in alternation, one pass
//! per parser at a time, so that a slow spell of a shared machine falls on
//! both: `smtp_alternate (commands|borrowed|replies|borrowed-replies|data) ROUNDS` prints each parser's
//! fastest and median pass and the ratio. (Criterion, in `benches/smtp.rs`,
//! is the measurement of record; this reads a noisy machine.)
#[path = "../shared/smtp_passes.rs"]
mod smtp_passes;

use std::hint::black_box;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use sansmail_smtp::codec::Command;

/// One pass of a parser over the input, giving how many items it read.
type Pass = Box<dyn FnMut(&[u8]) -> usize>;

/// The input, our pass and smtp-proto's.
type Work = (Vec<u8>, Pass, fn(&[u8]) -> usize);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map_or("replies", String::as_str);
    let rounds: usize = args
        .get(2)
        .map_or(200, |r| r.parse().expect("a number of rounds"));
    if what == "data" {
        return time_data(rounds);
    }
    let (input, mut ours, theirs): Work = match what {
        "commands" => {
            let mut buf = BytesMut::new();
            (
                sansmail_benches::smtp_inputs::commands(10_000),
                Box::new(move |input: &[u8]| {
                    buf.extend_from_slice(input);
                    let mut n = 0;
                    while !buf.is_empty() {
                        black_box(Command::decode_buf(&mut buf, 4096).expect("valid input"));
                        n += 1;
                    }
                    n
                }),
                smtp_passes::stalwart_commands,
            )
        }
        "borrowed" => (
            sansmail_benches::smtp_inputs::commands(10_000),
            Box::new(smtp_passes::borrowed_commands),
            smtp_passes::stalwart_commands,
        ),
        "borrowed-replies" => (
            sansmail_benches::smtp_inputs::replies(5_000),
            Box::new(smtp_passes::borrowed_replies),
            smtp_passes::stalwart_replies,
        ),
        _ => (
            sansmail_benches::smtp_inputs::replies(5_000),
            Box::new(smtp_passes::owned_replies),
            smtp_passes::stalwart_replies,
        ),
    };
    assert_eq!(ours(&input), theirs(&input));
    let (mut a, mut b): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        black_box(ours(black_box(&input)));
        a.push(start.elapsed());
        let start = Instant::now();
        black_box(theirs(black_box(&input)));
        b.push(start.elapsed());
    }
    report(what, a, b);
}

/// The DATA benchmark's one-buffer case: the body already in the receive
/// buffer (the copy into it made before the clock starts), unstuffed in
/// place; smtp-proto unstuffs it into its output buffer.
fn time_data(rounds: usize) {
    let body = sansmail_benches::smtp_inputs::data_body(1 << 20);
    let mut out = Vec::new();
    let theirs = |out: &mut Vec<u8>| {
        let mut rx = stalwart_smtp_proto::request::receiver::DataReceiver::new();
        out.clear();
        rx.ingest(&mut body.iter(), out);
        out.len()
    };
    let ours = smtp_passes::unstuff_in_place;
    assert_eq!(ours(BytesMut::from(&body[..])).0, theirs(&mut out));
    let (mut a, mut b): (Vec<Duration>, Vec<Duration>) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let buf = BytesMut::from(&body[..]);
        let start = Instant::now();
        let emptied = black_box(ours(buf));
        a.push(start.elapsed());
        drop(emptied);
        let start = Instant::now();
        black_box(theirs(&mut out));
        b.push(start.elapsed());
    }
    report("data", a, b);
}

/// Prints each parser's fastest and median pass and their ratios.
fn report(what: &str, mut a: Vec<Duration>, mut b: Vec<Duration>) {
    a.sort();
    b.sort();
    let (fa, ma, fb, mb) = (a[0], a[a.len() / 2], b[0], b[b.len() / 2]);
    println!(
        "{what}: sansmail fastest {:?} median {:?}; smtp-proto fastest {:?} median {:?}; ratio fastest {:.2}x median {:.2}x",
        fa,
        ma,
        fb,
        mb,
        fb.as_secs_f64() / fa.as_secs_f64(),
        mb.as_secs_f64() / ma.as_secs_f64()
    );
}
