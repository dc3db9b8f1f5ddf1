//! Connection strings with a literal password: URLs whose user-info
//! carries one (`postgres://app:s3cret@db:5432/app`, `https://user:pw@host`,
//! legacy Sentry DSNs with a secret key), called at every `://`, and
//! `.pgpass` lines (`host:5432:db:user:password`). Connection strings in
//! `Key=Value;` form (`Password=…;`) are assignments and live in
//! `assignment`; `AccountKey=` is in the catalogue.

use super::class::{self, ALNUM, DASH, DOT, HEX, PLUS, VISIBLE};
use super::{Found, placeholder, value};

/// Longest authority (`user:password@host:port`) considered.
const MAX_AUTHORITY: usize = 512;

/// Schemes whose URLs are database or broker connection strings.
const DATABASES: &[&[u8]] = &[
    b"postgres",
    b"postgresql",
    b"mysql",
    b"mariadb",
    b"mongodb",
    b"mongodb+srv",
    b"redis",
    b"rediss",
    b"amqp",
    b"amqps",
    b"mssql",
    b"sqlserver",
    b"oracle",
    b"cockroachdb",
    b"clickhouse",
    b"couchbase",
    b"neo4j",
    b"cassandra",
    b"nats",
    b"kafka",
    b"ldap",
    b"ldaps",
    b"ftp",
    b"sftp",
    b"smtp",
    b"smtps",
];

/// The credential in the URL whose `://` starts at `colon`, if its
/// user-info holds a password that is not a placeholder.
pub(super) fn url_at(bytes: &[u8], colon: usize) -> Option<Found> {
    let scheme_len = bytes[..colon].iter().rev().take_while(|&&b| class::is(b, ALNUM | PLUS | DASH | DOT)).count();
    let scheme = &bytes[colon - scheme_len..colon];
    if scheme.len() < 2 || !scheme[0].is_ascii_alphabetic() {
        return None;
    }
    let authority_start = colon + 3;
    let authority_len = bytes[authority_start..]
        .iter()
        .take(MAX_AUTHORITY)
        .position(|&b| matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b'<' | b'>') || b.is_ascii_whitespace())
        .unwrap_or_else(|| (bytes.len() - authority_start).min(MAX_AUTHORITY));
    let authority = &bytes[authority_start..authority_start + authority_len];
    let at = authority.iter().rposition(|&b| b == b'@')?;
    let (userinfo, host) = (&authority[..at], &authority[at + 1..]);
    let colon_in_userinfo = userinfo.iter().position(|&b| b == b':')?;
    let (user, password) = (&userinfo[..colon_in_userinfo], &userinfo[colon_in_userinfo + 1..]);
    let invented = password.len() < 4 || password == user || placeholder::is_placeholder(password) || host.is_empty();
    if invented {
        return None;
    }
    // Sentry's old DSNs put a 32-hex secret key after the public one.
    let sentry = class::contains_ignore_case(host, b"sentry")
        && user.len() == 32
        && password.len() == 32
        && password.iter().all(|&b| class::is(b, HEX));
    let kind = if sentry {
        "a Sentry DSN with a secret key"
    } else if DATABASES.iter().any(|db| scheme.eq_ignore_ascii_case(db)) {
        "a database connection string with a password"
    } else {
        "a URL with a password"
    };
    Some(Found::Likely(kind))
}

/// A `.pgpass` line, `host:port:database:user:password`, whose first `:`
/// is at `colon`, with a real password.
pub(super) fn pgpass_at(bytes: &[u8], colon: usize) -> Option<Found> {
    let start = colon - bytes[..colon].iter().rev().take_while(|&&b| class::is(b, VISIBLE) && b != b'`').count();
    let len = bytes[start..].iter().take(MAX_AUTHORITY).take_while(|&&b| class::is(b, VISIBLE) && b != b'`').count();
    let mut fields = bytes[start..start + len].split(|&b| b == b':');
    let (host, port, database, user) = (fields.next()?, fields.next()?, fields.next()?, fields.next()?);
    let password = fields.next()?;
    let shaped = fields.next().is_none()
        && [host, database, user].iter().all(|field| !field.is_empty())
        && (port == b"*" || (!port.is_empty() && port.iter().all(u8::is_ascii_digit)));
    (shaped && value::password_like(password, false)).then_some(Found::Likely("a pgpass entry with a password"))
}
