//! Configuration types shared by the binaries. Secrets never reach `Debug` or a log line.

use std::fmt;
use std::str::FromStr;

/// A Postgres connection URL. Its password is kept out of `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The full URL, password included: pass it to a driver, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, database: &str) -> Self {
        let (base, query) = match self.0.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (self.0.as_str(), None),
        };
        // `postgres://user:pw@host:port/db`: the database is what follows the third slash.
        let server = match base.match_indices('/').nth(2) {
            Some((i, _)) => &base[..i],
            None => base,
        };
        let mut url = format!("{server}/{database}");
        if let Some(query) = query {
            url.push('?');
            url.push_str(query);
        }
        Self(url)
    }

    /// The same server and database, other credentials (a service's own login).
    pub fn with_credentials(&self, user: &str, password: &str) -> Self {
        let (scheme, rest) = self.0.split_once("://").unwrap_or(("postgres", &self.0));
        let host = rest.split_once('@').map_or(rest, |(_, host)| host);
        Self(format!("{scheme}://{user}:{password}@{host}"))
    }

    /// The user name in the URL, if any.
    pub fn user(&self) -> Option<&str> {
        let rest = self.0.split_once("://")?.1;
        let userinfo = rest.split_once('@')?.0;
        userinfo.split(':').next().filter(|u| !u.is_empty())
    }

    /// The URL with its password replaced by `***`, for messages.
    pub fn redacted(&self) -> String {
        let Some((scheme, rest)) = self.0.split_once("://") else {
            return "***".to_owned();
        };
        match rest.split_once('@') {
            Some((userinfo, host)) => {
                let user = userinfo.split(':').next().unwrap_or_default();
                format!("{scheme}://{user}:***@{host}")
            }
            None => self.0.clone(),
        }
    }
}

/// Why a string is not a usable database URL.
#[derive(Debug, thiserror::Error)]
#[error("a database URL starts with postgres:// or postgresql:// (got {0:?})")]
pub struct InvalidDatabaseUrl(String);

impl FromStr for DatabaseUrl {
    type Err = InvalidDatabaseUrl;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(Self(s.to_owned()))
        } else {
            let shown: String = s.chars().take(12).collect();
            Err(InvalidDatabaseUrl(format!("{shown}...")))
        }
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

#[cfg(test)]
mod tests {
    use super::*;

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
        let service = url.with_credentials("orders_svc", "s");
        assert_eq!(service.expose(), "postgres://orders_svc:s@h:1/shop");
        assert_eq!(service.user(), Some("orders_svc"));
    }

    #[test]
    fn rejects_what_is_not_a_postgres_url_without_echoing_it() {
        let err = "mysql://root:topsecretpassword@h/db"
            .parse::<DatabaseUrl>()
            .unwrap_err();
        assert!(err.to_string().contains("postgres://"));
        assert!(!err.to_string().contains("topsecretpassword"));
    }
}
