//! Helpers the benchmarks in `benches/` share.

use std::path::PathBuf;
use std::process::Command;

/// The MIME corpus, found as the tests find it (`scripts/mime_corpus.py`).
pub fn corpus_dir() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("python3")
        .arg(repo.join("scripts/mime_corpus.py"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "mime_corpus.py failed");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// The messages of a corpus tier: `T1-small`, `T2-mixed` (the whole manifest) or `T3-large`.
///
/// A tier that is not there is an error, not an empty list: a benchmark
/// that quietly measured nothing would report a meaningless ratio.
pub fn tier(name: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir();
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    // The mixed tier is every message of the manifest.
    let file = match name {
        "T2-mixed" => "manifest.tsv".to_owned(),
        _ => format!("{name}.txt"),
    };
    let list_path = repo.join("mime/tests/corpus").join(file);
    let list = std::fs::read_to_string(&list_path)
        .unwrap_or_else(|e| panic!("tier {name}: {}: {e}", list_path.display()));
    let messages: Vec<Vec<u8>> = list
        .lines()
        .filter_map(|l| l.split('\t').next().filter(|p| !p.is_empty()))
        .map(|p| {
            std::fs::read(dir.join(p)).unwrap_or_else(|e| {
                panic!(
                    "tier {name}: {}: {e} (the large tier needs `python3 gen_large.py` run once in {})",
                    dir.join(p).display(),
                    dir.display()
                )
            })
        })
        .collect();
    assert!(!messages.is_empty(), "tier {name} lists no message");
    messages
}

/// Inputs for the SMTP benchmarks, made by a fixed pseudo-random sequence
/// so every run (and every peer) sees the same bytes.
pub mod smtp_inputs {
    /// A small xorshift generator: deterministic, no dependency.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len() as u64) as usize]
        }

        fn chance(&mut self, percent: u64) -> bool {
            self.below(100) < percent
        }
    }

    const FIRST: &[&str] = &[
        "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
        "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
    ];
    const LAST: &[&str] = &[
        "smith", "jones", "garcia", "miller", "davis", "martinez", "lopez", "wilson", "anderson",
        "thomas", "taylor", "moore", "jackson", "martin", "lee", "thompson", "white", "harris",
    ];
    const DOMAINS: &[&str] = &[
        "example.com",
        "example.org",
        "example.net",
        "mail.example.co.uk",
        "corp.example.com",
        "lists.example.org",
        "eu.mx.example.net",
        "sub.domain.example.com",
        "example.de",
        "newsletters.shop.example",
    ];

    fn address(rng: &mut Rng) -> String {
        let local = match rng.below(4) {
            0 => rng.pick(FIRST).to_owned(),
            1 => format!("{}.{}", rng.pick(FIRST), rng.pick(LAST)),
            2 => format!("{}{}", rng.pick(FIRST), rng.below(1000)),
            _ => format!(
                "{}+{}-{}",
                rng.pick(FIRST),
                rng.pick(LAST),
                rng.below(100_000)
            ),
        };
        format!("{local}@{}", rng.pick(DOMAINS))
    }

    /// `count` command lines as clients send them to a server: a session's
    /// greeting, envelopes with and without ESMTP parameters, DATA and BDAT,
    /// AUTH, and the small commands, in mixed case as real clients write them.
    pub fn commands(count: usize) -> Vec<u8> {
        let mut rng = Rng(0x5eed_cafe_f00d_d00d);
        let mut out = Vec::with_capacity(count * 48);
        for _ in 0..count {
            let line = match rng.below(100) {
                0..=5 => format!("EHLO mail{}.{}", rng.below(50), rng.pick(DOMAINS)),
                6 => format!("HELO [192.0.2.{}]", rng.below(255)),
                7 => format!("LHLO lmtp.{}", rng.pick(DOMAINS)),
                8..=27 => {
                    let verb = if rng.chance(10) {
                        "mail from:"
                    } else {
                        "MAIL FROM:"
                    };
                    let from = if rng.chance(5) {
                        String::new()
                    } else {
                        address(&mut rng)
                    };
                    let mut line = format!("{verb}<{from}>");
                    if rng.chance(70) {
                        line += &format!(" SIZE={}", rng.below(50_000_000));
                    }
                    if rng.chance(50) {
                        line += if rng.chance(80) {
                            " BODY=8BITMIME"
                        } else {
                            " BODY=7BIT"
                        };
                    }
                    if rng.chance(10) {
                        line += " SMTPUTF8";
                    }
                    if rng.chance(15) {
                        line += if rng.chance(50) {
                            " RET=HDRS"
                        } else {
                            " RET=FULL"
                        };
                        line += &format!(" ENVID=QQ{}", rng.below(1_000_000_000));
                    }
                    line
                }
                28..=67 => {
                    let verb = if rng.chance(10) {
                        "rcpt to:"
                    } else {
                        "RCPT TO:"
                    };
                    let to = address(&mut rng);
                    let mut line = format!("{verb}<{to}>");
                    if rng.chance(15) {
                        line += rng.pick(&[
                            " NOTIFY=SUCCESS,FAILURE",
                            " NOTIFY=NEVER",
                            " NOTIFY=FAILURE,DELAY",
                        ]);
                        if rng.chance(50) {
                            // xtext: '+' and '=' are written as hex escapes.
                            let xtext = to.replace('+', "+2B").replace('=', "+3D");
                            line += &format!(" ORCPT=rfc822;{xtext}");
                        }
                    }
                    line
                }
                68..=75 => "DATA".to_owned(),
                76..=78 => "RSET".to_owned(),
                79..=81 => "NOOP".to_owned(),
                82..=85 => "QUIT".to_owned(),
                86..=87 => "STARTTLS".to_owned(),
                88..=89 => format!("VRFY {}", rng.pick(FIRST)),
                90..=92 => rng
                    .pick(&[
                        "AUTH PLAIN AGFsaWNlAHNlY3JldA==",
                        "AUTH PLAIN AGJvYgBodW50ZXIy",
                        "AUTH LOGIN",
                        "AUTH PLAIN",
                    ])
                    .to_owned(),
                93..=96 => {
                    let last = if rng.chance(30) { " LAST" } else { "" };
                    format!("BDAT {}{last}", rng.below(1_000_000))
                }
                97 => "HELP".to_owned(),
                98 => format!("EXPN list-{}", rng.below(20)),
                _ => "noop".to_owned(),
            };
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out
    }

    /// `count` replies as servers send them to a client: greetings, EHLO
    /// lists, envelope and data replies with enhanced status codes, AUTH
    /// challenges, refusals (some on several lines), and closing replies.
    pub fn replies(count: usize) -> Vec<u8> {
        let mut rng = Rng(0xfeed_beef_1234_5678);
        let mut out = Vec::with_capacity(count * 64);
        for _ in 0..count {
            let reply = match rng.below(100) {
                0..=4 => format!("220 mx{}.{} ESMTP ready\r\n", rng.below(9), rng.pick(DOMAINS)),
                5..=14 => {
                    let mut r = format!("250-mx{}.{} Hello [192.0.2.{}]\r\n", rng.below(9), rng.pick(DOMAINS), rng.below(255));
                    let caps = [
                        "PIPELINING".to_owned(),
                        format!("SIZE {}", 10_000_000 + rng.below(90_000_000)),
                        "ETRN".to_owned(),
                        "STARTTLS".to_owned(),
                        "AUTH PLAIN LOGIN".to_owned(),
                        "ENHANCEDSTATUSCODES".to_owned(),
                        "8BITMIME".to_owned(),
                        "DSN".to_owned(),
                        "SMTPUTF8".to_owned(),
                        "CHUNKING".to_owned(),
                    ];
                    let n = 5 + rng.below(6) as usize;
                    for (i, cap) in caps[..n].iter().enumerate() {
                        let sep = if i + 1 == n { ' ' } else { '-' };
                        r += &format!("250{sep}{cap}\r\n");
                    }
                    r
                }
                15..=34 => "250 2.1.0 Ok\r\n".to_owned(),
                35..=59 => "250 2.1.5 Ok\r\n".to_owned(),
                60..=67 => "354 End data with <CR><LF>.<CR><LF>\r\n".to_owned(),
                68..=77 => format!("250 2.0.0 Ok: queued as {:X}\r\n", rng.next()),
                78..=81 => "334 VXNlcm5hbWU6\r\n".to_owned(),
                82..=84 => "235 2.7.0 Authentication successful\r\n".to_owned(),
                85..=88 => format!("550 5.1.1 <{}>: Recipient address rejected: User unknown in virtual mailbox table\r\n", address(&mut rng)),
                89..=90 => "550-5.7.1 Message rejected as spam by Content Filtering.\r\n550-5.7.1 Please see https://www.example.com/policies for details\r\n550 5.7.1 and contact postmaster@example.com if you think this is wrong.\r\n".to_owned(),
                91..=93 => "451 4.7.1 Service unavailable - try again later\r\n".to_owned(),
                94..=96 => "221 2.0.0 Bye\r\n".to_owned(),
                _ => "250 2.0.0 Ok\r\n".to_owned(),
            };
            out.extend_from_slice(reply.as_bytes());
        }
        out
    }

    /// About `size` bytes of a DATA body as it travels: header lines, text of
    /// varying line length, base64 blocks, some lines starting with a
    /// stuffed dot; then the end-of-data line. The first line has no dot
    /// (smtp-proto 0.2.5 does not unstuff a dot on the first line).
    pub fn data_body(size: usize) -> Vec<u8> {
        let mut rng = Rng(0x00dd_ba11_5eed);
        let mut body = Vec::with_capacity(size + 1024);
        body.extend_from_slice(
            b"Received: from mail.example.com by mx.example.org\r\nSubject: benchmark\r\n\r\n",
        );
        const WORDS: &[&str] = &[
            "lorem",
            "ipsum",
            "dolor",
            "sit",
            "amet",
            "consectetur",
            "adipiscing",
            "elit",
            "sed",
            "do",
            "eiusmod",
            "tempor",
            "incididunt",
            "ut",
            "labore",
            "et",
            "dolore",
            "magna",
        ];
        while body.len() < size {
            match rng.below(100) {
                0..=1 => body.extend_from_slice(b"..a line that begins with a stuffed dot\r\n"),
                2..=29 => {
                    for _ in 0..1 + rng.below(20) {
                        body.extend_from_slice(b"TG9yZW0gaXBzdW0gZG9sb3Igc2l0IGFtZXQsIGNvbnNlY3RldHVyIGFkaXBpc2NpbmcgZWxp\r\n");
                    }
                }
                30..=34 => body.extend_from_slice(b"\r\n"),
                _ => {
                    let mut len = 0;
                    let target = 20 + rng.below(58) as usize;
                    while len < target {
                        let word = rng.pick(WORDS);
                        body.extend_from_slice(word.as_bytes());
                        body.push(b' ');
                        len += word.len() + 1;
                    }
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
        body.extend_from_slice(b".\r\n");
        body
    }
}

/// The header fields each parser reads as something other than text: the
/// structure's own (Content-*), From and To as addresses, Date as a date.
pub fn typed_field(name: &[u8]) -> bool {
    // By length first: most names match none, and are told so at once.
    let is = |n: &str| name.eq_ignore_ascii_case(n.as_bytes());
    match name.len() {
        2 => is("to"),
        4 => is("from") || is("date"),
        10 => is("content-id"),
        12 => is("content-type"),
        19 => is("content-disposition"),
        _ => false,
    }
}
