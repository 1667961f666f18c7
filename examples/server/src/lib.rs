//! mail-server, and the single-protocol servers built from the same parts.
//!
//! Modules follow the mail flow: [`listen`] (listeners and the accept
//! loop) → [`smtp`] (inbound and submission sessions) → policy
//! ([`users`], [`accounts`], [`limits`], [`sender_auth`], [`filter`]) → [`queue`] and
//! [`relay`] (delivery to other domains, [`dsn`] for bounces) or [`local`]
//! (delivery into the store) → [`imap`] and [`pop3`] (reading). [`server`]
//! assembles them from [`config`]; [`tls`] makes the certificates and
//! [`dkim_keys`] the DKIM keys; [`dane`] the TLSA record of the certificate;
//! [`web`] serves HTTP (the MTA-STS policy, and JMAP through [`jmap_http`]); [`tls_reports`] sends RFC 8460
//! reports about the relay's TLS sessions; [`acme`] obtains certificates
//! (RFC 8555); [`control`] and [`admin`] are the admin commands' socket and
//! what they change (users, reloads); [`metrics`] counts for Prometheus.
//! Mail itself lives in `sansmail-store`, shared by every service; with a
//! PostgreSQL store, [`shared`] keeps what several instances share
//! ([`queue_db`] the queue, [`failures_db`] login failures).

pub mod accounts;
pub mod acme;
pub mod admin;
pub mod config;
pub mod control;
pub mod dane;
pub mod dkim_keys;
pub mod dsn;
pub mod failures_db;
pub mod filter;
pub mod imap;
pub mod jmap_http;
pub mod limits;
pub mod listen;
pub mod local;
pub mod metrics;
pub mod pop3;
pub mod queue;
pub mod queue_db;
pub mod relay;
pub mod sender_auth;
pub mod server;
pub mod shared;
pub mod smtp;
pub mod tls;
pub mod tls_reports;
pub mod tokens;
pub mod users;
pub mod vacation;
pub mod web;
pub mod webmail;
