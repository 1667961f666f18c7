//! One parser doing the decoded benchmark's work over a corpus tier N
//! times, for counting instructions with callgrind beside the peers:
//! `valgrind --tool=callgrind target/release/examples/mime_profile
//! (ours|mail-parser|mailparse) T1-small N` (run once with N = 0 and
//! subtract: that is reading the corpus).

#[path = "../benches/work/mime.rs"]
mod work;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(parser), Some(tier), Some(rounds)) = (args.get(1), args.get(2), args.get(3)) else {
        eprintln!("usage: mime_profile (ours|mail-parser|mailparse) TIER ROUNDS");
        std::process::exit(2);
    };
    let run: fn(&[u8]) -> usize = match parser.as_str() {
        "ours" => work::ours_everything,
        "mail-parser" => work::mail_parser_everything,
        "mailparse" => work::mailparse_everything,
        other => {
            eprintln!("unknown parser {other}");
            std::process::exit(2);
        }
    };
    let messages = sansmail_benches::tier(tier);
    let rounds: usize = rounds.parse().expect("a number of rounds");
    let mut total = 0;
    for _ in 0..rounds {
        total += messages
            .iter()
            .map(|m| run(std::hint::black_box(m)))
            .sum::<usize>();
    }
    println!("{total}");
}
