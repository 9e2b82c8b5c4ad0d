//! Configuration types shared by the binaries. Secrets never reach `Debug` or a log line.
//!
//! A database URL is parsed once, at the edge, into a [`DatabaseUrl`]: a typed URL without
//! its password, and the password apart in a [`SecretString`]. Every change (another
//! database, another login) is an operation on those types, never string surgery, and the
//! driver gets its options from them, so no character of a password is ever misread.

use std::fmt;
use std::str::FromStr;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use secrecy::{ExposeSecret, SecretString};
use sqlx::ConnectOptions;
use sqlx::postgres::PgConnectOptions;
use url::Url;

/// What a user name, password or database name keeps unescaped in a URL: RFC 3986's
/// unreserved characters. The url crate's own setters leave `%` as it is, so a password such
/// as `50%41` would come back as `50A`; encoding here first makes every character literal.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// libpq also reads these from the query string; they are moved out of it or set there.
const PASSWORD_PARAM: &str = "password";
const USER_PARAM: &str = "user";

/// A Postgres connection URL. Its password is kept out of `Debug` and `Display`.
#[derive(Clone)]
pub struct DatabaseUrl {
    /// Everything but the password.
    url: Url,
    /// The password, decoded.
    password: Option<SecretString>,
}

impl DatabaseUrl {
    /// What the driver needs to connect, password included: for sqlx's pools and
    /// connections (migrations run over one too). Fails only on what parsing already
    /// accepted, so an error here is a bug rather than bad input.
    pub fn connect_options(&self) -> Result<PgConnectOptions, sqlx::Error> {
        let options = PgConnectOptions::from_url(&self.url)?;
        Ok(match &self.password {
            Some(password) => options.password(password.expose_secret()),
            None => options,
        })
    }

    /// The full URL, password included and percent-encoded: to hand to a person or another
    /// program (`export DATABASE_URL=...`), never to a log.
    pub fn expose(&self) -> String {
        match &self.password {
            Some(password) => {
                let password = password.expose_secret();
                let encoded = utf8_percent_encode(password, COMPONENT).to_string();
                self.with_password_shown(&encoded, password).into()
            }
            None => self.url.to_string(),
        }
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, database: &str) -> Self {
        let mut url = self.url.clone();
        url.set_path(&format!("/{}", utf8_percent_encode(database, COMPONENT)));
        Self {
            url,
            password: self.password.clone(),
        }
    }

    /// The same server and database, other credentials (a service's own login).
    pub fn with_credentials(&self, user: &str, password: &SecretString) -> Self {
        let mut url = self.url.clone();
        let encoded = utf8_percent_encode(user, COMPONENT).to_string();
        // A URL without a host (`postgres:///db?host=/run/postgresql`) has no user info to
        // set; libpq and sqlx take the user from the query string there.
        if url.set_username(&encoded).is_err() {
            set_query_param(&mut url, USER_PARAM, Some(user));
        }
        Self {
            url,
            password: Some(password.clone()),
        }
    }

    /// The user name in the URL, if any, decoded.
    pub fn user(&self) -> Option<String> {
        let in_authority = percent_decode_str(self.url.username()).decode_utf8().ok();
        in_authority
            .map(|user| user.into_owned())
            .filter(|user| !user.is_empty())
            .or_else(|| query_param(&self.url, USER_PARAM))
    }

    /// The password, if the URL has one (the shared login's, for a tool that logs in as it).
    pub fn password(&self) -> Option<&SecretString> {
        self.password.as_ref()
    }

    /// The URL with its password replaced by `***`, for messages.
    pub fn redacted(&self) -> String {
        match self.password {
            Some(_) => self.with_password_shown("***", "***").into(),
            None => self.url.to_string(),
        }
    }

    /// The URL with a password where it goes: `encoded` in the user info, or `raw` in the
    /// query string (which encodes it) when the URL has no host.
    fn with_password_shown(&self, encoded: &str, raw: &str) -> Url {
        let mut url = self.url.clone();
        if url.set_password(Some(encoded)).is_err() {
            set_query_param(&mut url, PASSWORD_PARAM, Some(raw));
        }
        url
    }
}

/// Why a string is not a usable database URL. The messages never repeat the URL, which
/// may hold a password.
#[derive(Debug, thiserror::Error)]
pub enum InvalidDatabaseUrl {
    #[error("a database URL starts with postgres:// or postgresql:// (got {0:?})")]
    Scheme(String),
    #[error("not a valid URL: {0}")]
    Malformed(#[from] url::ParseError),
    #[error("its {0} is not UTF-8 once percent-decoded")]
    NotUtf8(&'static str),
    #[error("Postgres cannot use it: {0}")]
    Options(String),
}

impl FromStr for DatabaseUrl {
    type Err = InvalidDatabaseUrl;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if !(s.starts_with("postgres://") || s.starts_with("postgresql://")) {
            let shown: String = s.chars().take(12).collect();
            return Err(InvalidDatabaseUrl::Scheme(format!("{shown}...")));
        }
        let mut url = Url::parse(s)?;
        let mut password = url
            .password()
            .map(|encoded| percent_decode_str(encoded).decode_utf8())
            .transpose()
            .map_err(|_| InvalidDatabaseUrl::NotUtf8("password"))?
            .map(|password| SecretString::from(password.into_owned()));
        // Only fails for URLs that have no password to remove.
        let _ = url.set_password(None);
        if let Some(in_query) = query_param(&url, PASSWORD_PARAM) {
            password = Some(in_query.into());
            set_query_param(&mut url, PASSWORD_PARAM, None);
        }
        // Checked once here, so that `connect_options` cannot fail on what was accepted.
        let checked = Self { url, password };
        checked
            .connect_options()
            .map_err(|err| InvalidDatabaseUrl::Options(err.to_string()))?;
        Ok(checked)
    }
}

fn query_param(url: &Url, key: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value.into_owned())
}

/// Sets (or with `None`, removes) one query parameter, keeping the others in order.
fn set_query_param(url: &mut Url, key: &str, value: Option<&str>) {
    let mut pairs: Vec<(String, String)> = url
        .query_pairs()
        .into_owned()
        .filter(|(k, _)| k != key)
        .collect();
    if let Some(value) = value {
        pairs.push((key.to_owned(), value.to_owned()));
    }
    if pairs.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
}
/// clap reads a [`DatabaseUrl`] through this parser, whose errors never repeat the value:
/// clap's own would print the rejected URL, password and all.
#[derive(Debug, Clone, Copy, Default)]
pub struct DatabaseUrlParser;

impl clap::builder::TypedValueParser for DatabaseUrlParser {
    type Value = DatabaseUrl;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<DatabaseUrl, clap::Error> {
        let name = arg.map_or_else(|| "the database URL".to_owned(), ToString::to_string);
        let invalid = |message: String| {
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value for {name}: {message}\n"),
            )
            .with_cmd(cmd)
        };
        value
            .to_str()
            .ok_or_else(|| invalid("not valid UTF-8".to_owned()))?
            .parse()
            .map_err(|err: InvalidDatabaseUrl| invalid(err.to_string()))
    }
}

impl clap::builder::ValueParserFactory for DatabaseUrl {
    type Parser = DatabaseUrlParser;

    fn value_parser() -> Self::Parser {
        DatabaseUrlParser
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The password lives apart from the URL; showing the redacted form keeps it out.
        f.debug_tuple("DatabaseUrl")
            .field(&self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// clap reads a password through this, so that the field holding it is a [`SecretString`]
/// (which `Debug` shows as redacted) from the moment it is parsed.
pub fn secret(value: &str) -> Result<SecretString, std::convert::Infallible> {
    Ok(value.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each character that means something in a URL, alone and all together.
    const NASTY: [&str; 10] = [
        "p@ss", "p:ss", "p/ss", "p%41ss", "p#ss", "p ss", "p?ss", "p'ss", "p+ss", "@:/%# ",
    ];

    /// The password the driver will send, read back through sqlx's own URL form.
    fn driver_password(url: &DatabaseUrl) -> String {
        let options = url.connect_options().unwrap();
        let shown = options.to_url_lossy();
        let encoded = shown.password().unwrap_or_default();
        percent_decode_str(encoded)
            .decode_utf8()
            .unwrap()
            .into_owned()
    }

    #[test]
    fn hides_the_password_from_debug_and_display() {
        let url: DatabaseUrl = "postgres://app:s3cret@db:5432/shop".parse().unwrap();
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/shop");
        assert!(!format!("{url:?}").contains("s3cret"));
    }

    #[test]
    fn swaps_the_database_and_keeps_the_query() {
        let url: DatabaseUrl = "postgres://a:b@h:1/shop?sslmode=disable".parse().unwrap();
        assert_eq!(
            url.with_database("t_1").expose(),
            "postgres://a:b@h:1/t_1?sslmode=disable"
        );
        let bare: DatabaseUrl = "postgres://a:b@h:1".parse().unwrap();
        assert_eq!(bare.with_database("x").expose(), "postgres://a:b@h:1/x");
    }

    #[test]
    fn swaps_the_credentials_and_keeps_the_server() {
        let url: DatabaseUrl = "postgres://admin:pw@h:1/shop".parse().unwrap();
        let service = url.with_credentials("orders_svc", &"s".into());
        assert_eq!(service.expose(), "postgres://orders_svc:s@h:1/shop");
        assert_eq!(service.user().as_deref(), Some("orders_svc"));
    }

    #[test]
    fn hands_the_driver_every_reserved_character_of_a_password_unchanged() {
        let admin: DatabaseUrl = "postgres://admin:pw@h:1/shop".parse().unwrap();
        for password in NASTY {
            let service = admin
                .with_credentials("svc", &password.into())
                .with_database("t_1");

            assert_eq!(driver_password(&service), password);
            let options = service.connect_options().unwrap();
            assert_eq!(
                (options.get_username(), options.get_database()),
                ("svc", Some("t_1"))
            );
        }
    }

    #[test]
    fn reads_back_what_it_exposes_for_every_reserved_character() {
        let admin: DatabaseUrl = "postgres://admin:pw@h:1/shop".parse().unwrap();
        for password in NASTY {
            let exposed = admin.with_credentials("svc", &password.into()).expose();

            let again: DatabaseUrl = exposed.parse().unwrap();
            assert_eq!(driver_password(&again), password, "{exposed}");
            assert_eq!(again.expose(), exposed);
        }
    }

    #[test]
    fn decodes_a_percent_encoded_password_given_by_the_user() {
        let url: DatabaseUrl = "postgres://app:p%40ss%3Aw%2Frd%25%23%20x@h/db"
            .parse()
            .unwrap();
        assert_eq!(driver_password(&url), "p@ss:w/rd%# x");
    }

    #[test]
    fn never_shows_a_password_in_debug_or_display() {
        let admin: DatabaseUrl = "postgres://admin:pw@h:1/shop".parse().unwrap();
        for password in NASTY.into_iter().chain(["hunter2-secret"]) {
            let service = admin.with_credentials("svc", &password.into());
            let encoded = utf8_percent_encode(password, COMPONENT).to_string();
            for shown in [
                service.to_string(),
                format!("{service:?}"),
                service.redacted(),
            ] {
                assert!(shown.contains(":***@"), "{shown}");
                assert!(!shown.contains(&encoded), "{shown}");
            }
        }
    }

    #[test]
    fn moves_a_password_in_the_query_string_out_of_sight() {
        let url: DatabaseUrl = "postgres://app@h/db?sslmode=disable&password=hunter2"
            .parse()
            .unwrap();
        assert_eq!(driver_password(&url), "hunter2");
        assert!(!url.to_string().contains("hunter2"), "{url}");
        assert!(!format!("{url:?}").contains("hunter2"));
    }

    #[test]
    fn puts_credentials_in_the_query_string_of_a_url_without_a_host() {
        let socket: DatabaseUrl = "postgres:///shop?host=/run/postgresql".parse().unwrap();
        let service = socket.with_credentials("svc", &"hunter2@ x".into());

        assert_eq!(driver_password(&service), "hunter2@ x");
        assert_eq!(service.user().as_deref(), Some("svc"));
        let again: DatabaseUrl = service.expose().parse().unwrap();
        assert_eq!(driver_password(&again), "hunter2@ x");
        assert!(!service.to_string().contains("hunter2"), "{service}");
    }

    #[test]
    fn rejects_what_is_not_a_postgres_url_without_echoing_it() {
        for bad in [
            "mysql://root:topsecretpassword@h/db",
            "postgres://root:topsecretpassword@h:notaport/db",
            "postgres://root:topsecretpassword@h/db?sslmode=sometimes",
        ] {
            let err = bad.parse::<DatabaseUrl>().unwrap_err();
            assert!(!err.to_string().contains("topsecretpassword"), "{err}");
        }
        let err = "mysql://h/db".parse::<DatabaseUrl>().unwrap_err();
        assert!(err.to_string().contains("postgres://"));
    }
}
