//! Email/query's standard filters and sorts (RFC 8621 §4.4) over a real
//! maildir: each one selects or orders a known set of messages.

use serde_json::{Value, json};

use sansmail_jmap::{Jmap, Limits, account_id};
use sansmail_store::{FlagSet, Keyword, NewMessage, SystemFlag};

mod common;
use common::{TempDir, alices_inbox, maildir_store};

/// One message of the account.
struct Sample {
    /// What the tests call it (its Message-ID's local part).
    name: &'static str,
    raw: &'static str,
    flag: Option<SystemFlag>,
    keyword: Option<&'static str>,
    /// Arrival, seconds since the epoch.
    received: i64,
}

/// The account's messages: "root" and "reply" are one thread; "reply" is
/// the only one flagged.
const MESSAGES: &[Sample] = &[
    Sample {
        name: "root",
        raw: "From: Zed <zed@x.example>\r\nTo: amy@y.example\r\nSubject: Budget\r\n\
         Date: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <root@x.example>\r\n\
         X-Ticket: T-17\r\n\r\nthe numbers\r\n",
        flag: Some(SystemFlag::Seen),
        keyword: None,
        received: 1_700_000_300,
    },
    Sample {
        name: "reply",
        raw: "From: alice@x.example\r\nTo: Bob <bob@y.example>\r\nSubject: Re: Budget\r\n\
         Date: Wed, 3 Jan 2024 10:00:00 +0000\r\nMessage-ID: <reply@x.example>\r\n\
         In-Reply-To: <root@x.example>\r\nReferences: <root@x.example>\r\n\r\nagreed\r\n",
        flag: Some(SystemFlag::Flagged),
        keyword: Some("work"),
        received: 1_700_000_100,
    },
    Sample {
        name: "alone",
        raw: "From: Mia <mia@z.example>\r\nTo: Carl <carl@y.example>\r\nSubject: apples\r\n\
         Date: Tue, 2 Jan 2024 10:00:00 +0000\r\nMessage-ID: <alone@z.example>\r\n\r\n\
         a longer body than the others have, to be the largest of the three\r\n",
        flag: Some(SystemFlag::Seen),
        keyword: Some("work"),
        received: 1_700_000_200,
    },
];

struct Account {
    _dir: TempDir,
    jmap: Jmap,
    /// Email id → the name in [`MESSAGES`].
    names: Vec<(String, &'static str)>,
}

impl Account {
    async fn new(test: &str) -> Account {
        let (dir, store) = maildir_store(&format!("query-{test}"));
        let inbox = alices_inbox(&store).await;
        for sample in MESSAGES {
            let mut flags = FlagSet::new();
            if let Some(flag) = sample.flag {
                flags.set(flag);
            }
            if let Some(keyword) = sample.keyword {
                flags.add_keyword(Keyword::new(keyword).unwrap());
            }
            let message = NewMessage {
                flags,
                received: Some(sample.received),
                ..NewMessage::bytes(sample.raw.as_bytes().to_vec())
            };
            inbox.append(vec![message]).await.unwrap();
        }
        let jmap = Jmap::new(store, Limits::default(), vec!["test.host".into()]);
        let mut account = Account {
            _dir: dir,
            jmap,
            names: Vec::new(),
        };
        let all = account.call("Email/query", json!({}));
        let got = account.call(
            "Email/get",
            json!({"ids": all["ids"], "properties": ["messageId"]}),
        );
        for email in got["list"].as_array().unwrap() {
            let message_id = email["messageId"][0].as_str().unwrap();
            let name = message_id.split('@').next().unwrap();
            let name = MESSAGES.iter().find(|m| m.name == name).unwrap().name;
            account
                .names
                .push((email["id"].as_str().unwrap().to_owned(), name));
        }
        assert_eq!(account.names.len(), MESSAGES.len());
        account
    }

    /// One method call's arguments (the account id added) → its answer,
    /// or the error object.
    fn call(&self, method: &str, mut args: Value) -> Value {
        args["accountId"] = Value::from(account_id("alice"));
        let request = json!({
            "using": ["urn:ietf:params:jmap:core", "urn:ietf:params:jmap:mail"],
            "methodCalls": [[method, args, "0"]],
        });
        let body = serde_json::to_vec(&request).unwrap();
        let answer = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current().block_on(self.jmap.api("alice", &body))
        })
        .unwrap();
        answer["methodResponses"][0][1].clone()
    }

    /// The names of the messages a query gives, in its order.
    fn query(&self, args: Value) -> Vec<&'static str> {
        let answer = self.call("Email/query", args);
        let ids = answer["ids"]
            .as_array()
            .unwrap_or_else(|| panic!("{answer}"));
        ids.iter()
            .map(|id| {
                let id = id.as_str().unwrap();
                self.names.iter().find(|(e, _)| e == id).unwrap().1
            })
            .collect()
    }

    fn filter(&self, filter: Value) -> Vec<&'static str> {
        self.query(json!({"filter": filter, "sort": [{"property": "receivedAt"}]}))
    }

    fn sort(&self, sort: Value) -> Vec<&'static str> {
        self.query(json!({"sort": sort}))
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_standard_filter_selects_what_it_names() {
    let account = Account::new("filters").await;
    let f = |filter: Value| account.filter(filter);
    assert_eq!(f(json!({"hasKeyword": "$flagged"})), ["reply"]);
    assert_eq!(f(json!({"notKeyword": "$seen"})), ["reply"]);
    assert_eq!(f(json!({"hasKeyword": "WORK"})), ["reply", "alone"]);
    assert_eq!(
        f(json!({"allInThreadHaveKeyword": "work"})),
        ["alone"],
        "the root of the reply's thread lacks the keyword"
    );
    assert_eq!(
        f(json!({"someInThreadHaveKeyword": "$flagged"})),
        ["reply", "root"]
    );
    assert_eq!(f(json!({"noneInThreadHaveKeyword": "$flagged"})), ["alone"]);
    assert_eq!(f(json!({"header": ["X-Ticket"]})), ["root"]);
    assert_eq!(f(json!({"header": ["x-ticket", "t-17"]})), ["root"]);
    assert!(f(json!({"header": ["X-Ticket", "T-99"]})).is_empty());
    assert_eq!(f(json!({"from": "alice"})), ["reply"]);
    assert_eq!(f(json!({"to": "carl"})), ["alone"]);
    assert_eq!(f(json!({"subject": "budget"})), ["reply", "root"]);
    assert_eq!(f(json!({"body": "AGREED"})), ["reply"]);
    assert_eq!(f(json!({"text": "mia"})), ["alone"]);
    assert_eq!(f(json!({"minSize": 200})), ["reply", "alone"]);
    assert_eq!(f(json!({"maxSize": 200})), ["root"]);
    assert_eq!(
        f(json!({"after": "2023-11-14T22:16:40Z", "before": "2023-11-14T22:18:20Z"})),
        ["alone"]
    );
    assert_eq!(
        f(json!({"operator": "NOT", "conditions": [{"hasKeyword": "work"}]})),
        ["root"]
    );
    assert_eq!(
        f(json!({"operator": "OR", "conditions": [{"from": "zed"}, {"to": "carl"}]})),
        ["alone", "root"]
    );

    let error = account.call("Email/query", json!({"filter": {"colour": "red"}}));
    assert_eq!(error["type"], "unsupportedFilter");
    let error = account.call("Email/query", json!({"filter": {"minSize": "big"}}));
    assert_eq!(error["type"], "invalidArguments");
    let error = account.call("Email/query", json!({"filter": {"after": "yesterday"}}));
    assert_eq!(error["type"], "invalidArguments");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_standard_sort_orders_and_the_next_comparator_breaks_ties() {
    let account = Account::new("sorts").await;
    let s = |sort: Value| account.sort(sort);
    assert_eq!(
        s(json!([{"property": "receivedAt"}])),
        ["reply", "alone", "root"]
    );
    assert_eq!(
        s(json!([{"property": "receivedAt", "isAscending": false}])),
        ["root", "alone", "reply"]
    );
    assert_eq!(
        s(json!([{"property": "sentAt"}])),
        ["root", "alone", "reply"]
    );
    // The first address's name, or its address: alice, Mia, Zed.
    assert_eq!(s(json!([{"property": "from"}])), ["reply", "alone", "root"]);
    // amy@…, Bob, Carl.
    assert_eq!(s(json!([{"property": "to"}])), ["root", "reply", "alone"]);
    // The base subject: "Re: Budget" sorts as "budget".
    assert_eq!(
        s(json!([{"property": "subject"}, {"property": "sentAt", "isAscending": false}])),
        ["alone", "reply", "root"]
    );
    assert_eq!(
        s(json!([{"property": "size", "isAscending": false}])),
        ["alone", "reply", "root"]
    );
    assert_eq!(
        s(json!([
            {"property": "hasKeyword", "keyword": "work", "isAscending": false},
            {"property": "receivedAt", "isAscending": false},
        ])),
        ["alone", "reply", "root"]
    );
    assert_eq!(
        s(json!([
            {"property": "someInThreadHaveKeyword", "keyword": "$flagged", "isAscending": false},
            {"property": "receivedAt"},
        ])),
        ["reply", "root", "alone"]
    );
    assert_eq!(
        s(json!([
            {"property": "allInThreadHaveKeyword", "keyword": "$seen", "isAscending": false},
            {"property": "receivedAt"},
        ])),
        ["alone", "reply", "root"]
    );

    let error = account.call("Email/query", json!({"sort": [{"property": "hasKeyword"}]}));
    assert_eq!(error["type"], "invalidArguments");
    let error = account.call("Email/query", json!({"sort": [{"property": "colour"}]}));
    assert_eq!(error["type"], "unsupportedSort");
}
