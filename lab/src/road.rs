//! The legacy pair on the road (`kit road`): a fresh legacy database moved to a state, the
//! pair started as that state requires (its logins, its reach, its flows on the owner's
//! API), and a scenario shipped there. The road test and `kit matrix --road` share it.
//!
//! Roles are cluster-wide: each database's logins carry its name, so databases on one
//! server walk the road side by side.

use anyhow::Context as _;
use chassis::DatabaseUrl;
use chassis::telemetry::ErrorLog;
use kit::manifest::Manifest;
use kit::road::{self, State};
use kit::walls::Passwords;
use legacy::strangler::ApiFlows;

use crate::flows::{Observed, Probe};
use crate::pairs::legacy::{Api, Logins, start_with};
use crate::pairs::{Listeners, Running};
use crate::scenario::{Pair, Scenario};

const CUSTOMERS_PASSWORD: &str = "road customers pw";
const ORDERS_PASSWORD: &str = "road orders pw";

/// The road manifest with the role names of the database named `name`.
pub fn manifest(name: &str) -> anyhow::Result<Manifest> {
    let text = include_str!("../../kit/manifests/legacy-road.toml")
        .replace(
            "legacy_customers_svc",
            &format!("legacy_customers_svc_{name}"),
        )
        .replace("legacy_orders_svc", &format!("legacy_orders_svc_{name}"));
    Ok(Manifest::parse("legacy-road.toml", &text)?)
}

/// Each service's runtime password.
pub fn passwords() -> Passwords {
    Passwords::new()
        .with("customers", CUSTOMERS_PASSWORD)
        .with("orders", ORDERS_PASSWORD)
}

/// A service's login on the database named `name`.
fn role(service: &str, name: &str) -> String {
    format!("legacy_{service}_svc_{name}")
}

/// Each service's login on the database `url` (named `name`), as state `at` has them.
pub fn logins(url: &DatabaseUrl, name: &str, at: State) -> Logins {
    let login = |service: &str, password: &str| {
        let Ok(password) = chassis::config::secret(password);
        url.with_credentials(&role(service, name), &password)
    };
    match at {
        State::SharedLogin => Logins::shared(url),
        _ => Logins {
            customers: login("customers", CUSTOMERS_PASSWORD),
            orders: login("orders", ORDERS_PASSWORD),
            reach: if at == State::Contract {
                legacy::Reach::Contract
            } else {
                legacy::Reach::Tables
            },
            // From state 3 on, every flow calls the owner: its SQL grants are gone.
            api: Api {
                flows: if at >= State::Api {
                    ApiFlows::all()
                } else {
                    ApiFlows::none()
                },
                compare: false,
            },
        },
    }
}

/// Moves the database `url` (named `name`) to `to`, and checks that its catalogue says so.
pub async fn go(url: &DatabaseUrl, name: &str, to: State) -> anyhow::Result<()> {
    let (admin, manifest) = (url.expose(), manifest(name)?);
    road::apply(&admin, &manifest, &passwords(), to)
        .await
        .with_context(|| format!("moving {name} to road state {to}"))?;
    let at = road::status(&admin, &manifest).await?;
    anyhow::ensure!(at == to, "{name} went to road state {to} but is at {at}");
    Ok(())
}

/// The legacy pair on the database `url` (named `name`) as state `at` starts it, and a
/// probe of its flows.
pub async fn serve(
    url: &DatabaseUrl,
    name: &str,
    at: State,
    errors: Option<ErrorLog>,
) -> anyhow::Result<(Running, Probe)> {
    let running = start_with(&logins(url, name, at), Listeners::loopback().await?)?;
    let probe = Probe::new(
        Pair::Legacy,
        &running.customers.url,
        &running.orders.url,
        errors,
    );
    Ok((running, probe))
}

/// Ships `scenario` at state `at` on the fresh legacy database `url` (named `name`): every
/// flow before, then after the release, or the release's error when the owner's
/// migration failed.
pub async fn ship_at(
    url: &DatabaseUrl,
    name: &str,
    at: State,
    scenario: &Scenario,
    errors: Option<ErrorLog>,
) -> anyhow::Result<(Observed, Result<Observed, String>)> {
    if at != State::SharedLogin {
        go(url, name, at).await?;
    }
    let (running, probe) = serve(url, name, at, errors).await?;
    let before = probe.observe(1).await?;
    let after = match crate::pairs::legacy::ship(url, scenario).await {
        Ok(_) => Ok(probe.observe(2).await?),
        Err(err) => Err(crate::one_line(&err)),
    };
    drop(running);
    Ok((before, after))
}

/// Drops the logins the road made for the database named `name`, once it is gone: roles
/// outlive the databases they were made for.
pub async fn drop_logins(admin: &DatabaseUrl, name: &str) -> anyhow::Result<()> {
    use sqlx::{Connection as _, Executor as _};
    let mut conn = sqlx::PgConnection::connect(&admin.expose()).await?;
    for service in ["customers", "orders"] {
        let sql = format!("DROP ROLE IF EXISTS \"{}\"", role(service, name));
        conn.execute(sql.as_str())
            .await
            .with_context(|| format!("dropping the road login {}", role(service, name)))?;
    }
    Ok(())
}
