//! The server session gives the same bytes and events however the input is
//! split, and never panics on any input.

mod common;

use common::Harness;
use proptest::prelude::*;

/// Lines a client might send, good and bad, with literals of each kind.
const PIECES: &[&[u8]] = &[
    b"a1 LOGIN alice secret\r\n",
    b"a2 LOGIN {5}\r\nalice {6+}\r\nsecret\r\n",
    b"a3 SELECT INBOX\r\n",
    b"a4 FETCH 1:* (FLAGS UID)\r\n",
    b"a5 UID FETCH 2 BODY.PEEK[]\r\n",
    b"a6 STORE 1 +FLAGS (\\Deleted)\r\n",
    b"a7 EXPUNGE\r\n",
    b"a8 SEARCH RETURN (SAVE) UNSEEN\r\n",
    b"a9 FETCH $ UID\r\n",
    b"b1 APPEND INBOX {3}\r\nabc\r\n",
    b"b2 APPEND INBOX (\\Seen) {2+}\r\nxy {1+}\r\nz\r\n",
    b"b3 APPEND Nowhere {4+}\r\nlost\r\n",
    b"b4 IDLE\r\nDONE\r\n",
    b"b5 NOOP\r\n",
    b"b6 FROB\r\n",
    b"b7 NOOP\n",
    b"b8 SEARCH ((((ALL))))\r\n",
    b"b9 UID MOVE 1 Trash\r\n",
    b"c1 CAPABILITY\r\n",
    b"c2 ENABLE QRESYNC\r\n",
    b"c3 EXAMINE Trash\r\n",
    b"c4 UNSELECT\r\n",
    b"c5 AUTHENTICATE PLAIN\r\nAGFsaWNlAHNlY3JldA==\r\n",
    b"c6 ID (\"name\" \"test\")\r\n",
    b"c7 LIST \"\" *\r\n",
];

fn script() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(proptest::sample::select(PIECES.to_vec()), 1..12)
        .prop_map(|pieces| pieces.concat())
}

fn run(input: &[u8], cuts: &[usize]) -> (String, Vec<String>) {
    let mut h = Harness::plaintext();
    let mut out = String::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&input.len())) {
        let cut = cut.clamp(start, input.len());
        out.push_str(&h.send(&input[start..cut]));
        start = cut;
    }
    out.push_str(&h.eof());
    // Chunk boundaries differ with the splits; their concatenation does not.
    let mut events = Vec::new();
    let mut appended = Vec::new();
    for e in &h.events {
        match e {
            sansmail_imap::server::Event::AppendChunk(c) => appended.extend_from_slice(c),
            other => {
                if !appended.is_empty() {
                    events.push(format!("chunks {:?}", std::mem::take(&mut appended)));
                }
                events.push(format!("{other:?}"));
            }
        }
    }
    (out, events)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn splitting_the_input_changes_nothing(input in script(), cuts in proptest::collection::vec(0usize..400, 0..8)) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = run(&input, &[]);
        let split = run(&input, &cuts);
        prop_assert_eq!(&whole, &split);
        let bytewise: Vec<usize> = (1..input.len()).collect();
        prop_assert_eq!(whole, run(&input, &bytewise));
    }

    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..400)) {
        let (out, _) = run(&input, &[]);
        // Whatever came in, every line the server wrote ends in CRLF.
        prop_assert!(out.is_empty() || out.ends_with("\r\n"));
    }
}
