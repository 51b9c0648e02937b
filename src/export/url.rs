//! The source database's URL: which driver, where, and a password that never shows.
//!
//! The password comes from `CUTOVER_SOURCE_PASSWORD` when set, else from the URL. Every text
//! this module hands out for people (the display form, driver errors) has it replaced by `***`.

use super::DbExportError;
use std::fmt;
use std::path::PathBuf;

/// The environment variable that holds the source database's password.
pub const PASSWORD_ENV: &str = "CUTOVER_SOURCE_PASSWORD";

/// Which database the URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    /// `mysql://` (also `mariadb://`).
    MySql,
    /// `postgres://` (also `postgresql://`).
    Postgres,
    /// `sqlite://PATH`.
    Sqlite,
}

/// A parsed source URL.
#[derive(Clone)]
pub struct SourceUrl {
    /// The driver.
    pub(crate) engine: Engine,
    /// The URL as given, with the scheme a driver knows (`mariadb://` → `mysql://`).
    raw: String,
    /// The password in effect (environment first, then the URL), if any.
    password: Option<String>,
    /// The password as written in the URL (percent-encoded), to scrub it from texts too.
    url_password: Option<String>,
}

impl fmt::Debug for SourceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SourceUrl({})", self.display())
    }
}

impl SourceUrl {
    /// Parses `url`, taking the password from `env_password` when given.
    pub fn parse(url: &str, env_password: Option<String>) -> Result<Self, DbExportError> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            DbExportError::Url("expected mysql://…, postgres://… or sqlite://PATH".into())
        })?;
        let (engine, raw) = match scheme {
            "mysql" | "mariadb" => (Engine::MySql, format!("mysql://{rest}")),
            "postgres" | "postgresql" => (Engine::Postgres, format!("postgres://{rest}")),
            "sqlite" => (Engine::Sqlite, url.to_string()),
            other => {
                return Err(DbExportError::Url(format!(
                    "scheme {other:?} is not one of mysql, mariadb, postgres, postgresql, sqlite"
                )))
            }
        };
        if engine == Engine::Sqlite && rest.is_empty() {
            return Err(DbExportError::Url("sqlite:// needs a file path".into()));
        }
        let url_password = match engine {
            Engine::Sqlite => None,
            _ => userinfo(rest).and_then(|u| u.split_once(':').map(|(_, p)| p.to_string())),
        };
        let password = env_password
            .filter(|p| !p.is_empty())
            .or_else(|| url_password.as_deref().map(percent_decode));
        Ok(Self {
            engine,
            raw,
            password,
            url_password,
        })
    }

    /// The URL for a driver (may hold the password: never show it).
    pub(crate) fn raw(&self) -> &str {
        &self.raw
    }

    /// The password in effect.
    pub(crate) fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }

    /// The SQLite file of a `sqlite://PATH` URL.
    pub(crate) fn sqlite_path(&self) -> Option<PathBuf> {
        (self.engine == Engine::Sqlite)
            .then(|| PathBuf::from(self.raw.trim_start_matches("sqlite://")))
    }

    /// The URL as it may be shown: the password replaced by `***`.
    pub fn display(&self) -> String {
        self.scrub(&self.raw)
    }

    /// `text` with every occurrence of the password (as in effect and as written) replaced.
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in [self.password.as_deref(), self.url_password.as_deref()]
            .into_iter()
            .flatten()
            .filter(|s| !s.is_empty())
        {
            out = out.replace(secret, "***");
        }
        out
    }

    /// A connection error naming the URL without its password.
    pub(crate) fn connect_error(&self, reason: impl fmt::Display) -> DbExportError {
        DbExportError::Connect {
            url: self.display(),
            reason: self.scrub(&reason.to_string()),
        }
    }

    /// A query error for `what`, scrubbed.
    pub(crate) fn query_error(&self, what: &str, reason: impl fmt::Display) -> DbExportError {
        DbExportError::Query {
            what: what.to_string(),
            reason: self.scrub(&reason.to_string()),
        }
    }
}

/// The `user[:password]` part of `rest` (after the scheme), if there is one.
fn userinfo(rest: &str) -> Option<&str> {
    let authority = rest.split(['/', '?']).next().unwrap_or(rest);
    authority.rsplit_once('@').map(|(user, _)| user)
}

/// `%XX` sequences decoded (a malformed one is kept as written).
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let u = SourceUrl::parse("mysql://app:s%40cret@127.0.0.1:3306/im", None).unwrap();
        assert_eq!(u.engine, Engine::MySql);
        assert_eq!(u.password(), Some("s@cret"));
        assert_eq!(u.display(), "mysql://app:***@127.0.0.1:3306/im");
        assert_eq!(u.scrub("login s@cret failed"), "login *** failed");
    }

    #[test]
    fn the_environment_wins_over_the_url() {
        let u = SourceUrl::parse("postgresql://app:old@h/im", Some("new".into())).unwrap();
        assert_eq!(u.engine, Engine::Postgres);
        assert_eq!(u.password(), Some("new"));
        assert!(!u.display().contains("old") && !u.scrub("new and old").contains("new"));
    }

    #[test]
    fn sqlite_and_bad_schemes() {
        let u = SourceUrl::parse("sqlite:///tmp/im.db", None).unwrap();
        assert_eq!(u.sqlite_path(), Some(PathBuf::from("/tmp/im.db")));
        assert!(SourceUrl::parse("oracle://x", None).is_err());
        assert!(SourceUrl::parse("im.db", None).is_err());
    }
}
