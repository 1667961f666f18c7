//! Runs one parser over the benchmark inputs many times, for callgrind:
//! `smtp_profile (ours|borrowed|theirs) (commands|replies) [rounds]`.
use std::hint::black_box;

use bytes::BytesMut;
use sansmail_smtp::codec::Command;
use sansmail_smtp::types::Reply;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rounds: usize = args.get(3).map_or(20, |r| r.parse().unwrap());
    let mut n = 0;
    match (args[1].as_str(), args[2].as_str()) {
        ("ours", "commands") => {
            let input = sansmail_benches::smtp_inputs::commands(10_000);
            let mut buf = BytesMut::with_capacity(input.len());
            for _ in 0..rounds {
                buf.extend_from_slice(&input);
                while !buf.is_empty() {
                    black_box(Command::decode_buf(&mut buf, 4096).unwrap());
                    n += 1;
                }
            }
        }
        ("borrowed", "commands") => {
            let input = sansmail_benches::smtp_inputs::commands(10_000);
            for _ in 0..rounds {
                let mut rest = &input[..];
                while !rest.is_empty() {
                    let (r, cmd) = Command::decode_borrowed(rest, 4096).unwrap();
                    black_box(cmd);
                    rest = r;
                    n += 1;
                }
            }
        }
        ("theirs", "commands") => {
            let input = sansmail_benches::smtp_inputs::commands(10_000);
            for _ in 0..rounds {
                let mut it = input.iter();
                while it.len() > 0 {
                    black_box(stalwart_smtp_proto::Request::parse(&mut it).unwrap());
                    n += 1;
                }
            }
        }
        ("ours", "replies") => {
            let input = sansmail_benches::smtp_inputs::replies(5_000);
            for _ in 0..rounds {
                let mut rest = &input[..];
                while !rest.is_empty() {
                    let (r, reply) = Reply::decode(rest).unwrap();
                    black_box(reply);
                    rest = r;
                    n += 1;
                }
            }
        }
        ("theirs", "replies") => {
            let input = sansmail_benches::smtp_inputs::replies(5_000);
            let mut receiver = stalwart_smtp_proto::response::parser::ResponseReceiver::default();
            for _ in 0..rounds {
                let mut it = input.iter();
                while it.len() > 0 {
                    black_box(receiver.parse(&mut it).unwrap());
                    receiver.reset();
                    n += 1;
                }
            }
        }
        _ => panic!("usage: smtp_profile (ours|borrowed|theirs) (commands|replies) [rounds]"),
    }
    println!("{n}");
}
