//! A service's walls as the manifest declares them: which role owns its schemas, which
//! role it logs in as, where that login's password comes from, and the limits that keep
//! it from starving the others. `kit walls` reads this; the audit and lint do not.
//!
//! ```toml
//! [[service]]
//! name = "orders"
//! roles = ["orders_svc", "orders_owner"]
//! schemas = ["orders"]
//! owner_role = "orders_owner"          # default: <name>_owner (NOLOGIN, owns the schemas)
//! runtime_role = "orders_svc"          # default: <name>_svc (LOGIN, what the service uses)
//! password_env = "ORDERS_DB_PASSWORD"  # default: KIT_<NAME>_PASSWORD
//!
//! [service.limits]                     # every key optional; defaults below
//! connection_limit = 20                # CONNECTION LIMIT of the runtime role
//! statement_timeout = "30s"
//! idle_in_transaction_session_timeout = "60s"
//! lock_timeout = "5s"
//! temp_file_limit = "1GB"              # -1: none (setting it needs a superuser)
//! ```
//!
//! A `[service.limits]` table belongs to the `[[service]]` above it, as TOML says.

use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use super::ManifestError;

/// Roles and limits of one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Walls {
    /// NOLOGIN role that owns the service's schemas and runs its migrations.
    pub owner_role: String,
    /// LOGIN role the running service connects as.
    pub runtime_role: String,
    /// Environment variable that holds the runtime role's password.
    pub password_env: String,
    pub limits: Limits,
}

/// Settings on the runtime role that bound what one service can take from the others.
/// Durations and sizes are Postgres setting values (`"5s"`, `"1GB"`); `"0"` disables one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub connection_limit: i64,
    pub statement_timeout: String,
    pub idle_in_transaction_session_timeout: String,
    pub lock_timeout: String,
    pub temp_file_limit: String,
}

impl Default for Limits {
    /// The defaults, for a service that states no limits: room for a pool of 10 with a
    /// deploy's overlap; a statement, an idle transaction or a lock wait bounded well
    /// above an HTTP request's budget; a runaway sort kept off the shared disk.
    fn default() -> Self {
        Self {
            connection_limit: 20,
            statement_timeout: "30s".to_owned(),
            idle_in_transaction_session_timeout: "60s".to_owned(),
            lock_timeout: "5s".to_owned(),
            temp_file_limit: "1GB".to_owned(),
        }
    }
}

impl Limits {
    /// The role settings, as (parameter, value) pairs.
    pub fn settings(&self) -> [(&'static str, &str); 4] {
        [
            ("statement_timeout", &self.statement_timeout),
            (
                "idle_in_transaction_session_timeout",
                &self.idle_in_transaction_session_timeout,
            ),
            ("lock_timeout", &self.lock_timeout),
            ("temp_file_limit", &self.temp_file_limit),
        ]
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLimits {
    connection_limit: Option<Spanned<i64>>,
    statement_timeout: Option<Spanned<String>>,
    idle_in_transaction_session_timeout: Option<Spanned<String>>,
    lock_timeout: Option<Spanned<String>>,
    temp_file_limit: Option<Spanned<String>>,
}

/// The walls part of a `[[service]]`, as read.
#[derive(Debug, Default)]
pub(super) struct RawWalls {
    pub owner_role: Option<Spanned<String>>,
    pub runtime_role: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub limits: Option<RawLimits>,
}

type Invalid<'a> = &'a dyn Fn(Option<Range<usize>>, String) -> ManifestError;

impl RawWalls {
    /// Validates the walls of service `name`, filling in the defaults.
    pub fn validate(self, name: &str, invalid: Invalid<'_>) -> Result<Walls, ManifestError> {
        let role = |value: Option<Spanned<String>>, suffix: &str| match value {
            None => Ok(format!("{name}_{suffix}")),
            Some(value) => {
                let role = value.get_ref();
                if role.is_empty() || role.len() > 63 || role.contains('\0') {
                    Err(invalid(
                        Some(value.span()),
                        format!("role `{role}`: a role name has 1 to 63 bytes"),
                    ))
                } else {
                    Ok(role.clone())
                }
            }
        };
        let owner_role = role(self.owner_role, "owner")?;
        let runtime_role = role(self.runtime_role, "svc")?;
        let password_env = match self.password_env {
            None => default_password_env(name),
            Some(value) if is_env_name(value.get_ref()) => value.into_inner(),
            Some(value) => {
                return Err(invalid(
                    Some(value.span()),
                    format!(
                        "password_env `{}`: an environment variable name is letters, digits and _",
                        value.get_ref()
                    ),
                ));
            }
        };
        let limits = self.limits.unwrap_or_default().validate(invalid)?;
        Ok(Walls {
            owner_role,
            runtime_role,
            password_env,
            limits,
        })
    }
}

impl RawLimits {
    fn validate(self, invalid: Invalid<'_>) -> Result<Limits, ManifestError> {
        let defaults = Limits::default();
        let connection_limit = match self.connection_limit {
            None => defaults.connection_limit,
            Some(value) if *value.get_ref() == -1 || *value.get_ref() >= 1 => value.into_inner(),
            Some(value) => {
                return Err(invalid(
                    Some(value.span()),
                    format!(
                        "connection_limit {}: give at least 1, or -1 for none",
                        value.get_ref()
                    ),
                ));
            }
        };
        let duration = |value: Option<Spanned<String>>, default: &str, key: &str| {
            setting(value, default, key, &["ms", "s", "min", "h", "d"], invalid)
        };
        Ok(Limits {
            connection_limit,
            statement_timeout: duration(
                self.statement_timeout,
                &defaults.statement_timeout,
                "statement_timeout",
            )?,
            idle_in_transaction_session_timeout: duration(
                self.idle_in_transaction_session_timeout,
                &defaults.idle_in_transaction_session_timeout,
                "idle_in_transaction_session_timeout",
            )?,
            lock_timeout: duration(self.lock_timeout, &defaults.lock_timeout, "lock_timeout")?,
            temp_file_limit: setting(
                self.temp_file_limit,
                &defaults.temp_file_limit,
                "temp_file_limit",
                &["kB", "MB", "GB", "TB"],
                invalid,
            )?,
        })
    }
}

/// A setting value: digits with one of `units` (or none), or -1 where it means "none".
fn setting(
    value: Option<Spanned<String>>,
    default: &str,
    key: &str,
    units: &[&str],
    invalid: Invalid<'_>,
) -> Result<String, ManifestError> {
    let Some(value) = value else {
        return Ok(default.to_owned());
    };
    let text = value.get_ref();
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let unit = &text[digits.len()..];
    let number_ok = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
    let unit_ok = unit.is_empty() || units.contains(&unit);
    if (number_ok && unit_ok) || (key == "temp_file_limit" && text == "-1") {
        Ok(text.clone())
    } else {
        Err(invalid(
            Some(value.span()),
            format!(
                "{key} `{text}`: write a whole number with one of {} (or none)",
                units.join(", ")
            ),
        ))
    }
}

/// `KIT_<NAME>_PASSWORD`, the name upper-cased and anything but letters and digits as `_`.
pub fn default_password_env(service: &str) -> String {
    let name: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("KIT_{name}_PASSWORD")
}

fn is_env_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
