//! The migrated pair, started one way for the binary, the matrix and the tests: roles and
//! schemas bootstrapped, each service on its own login, each calling the other over HTTP.
//! The two services are separate crates that share no type; this module only wires them.

use std::sync::Arc;
use std::time::Duration;

use chassis::DatabaseUrl;
use chassis::consumer::UpstreamConfig;
use chassis::ownership::Owner;
use chassis::releases::{Applied, Release, Target};
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use super::serving::{Listeners, Running, Serving};
use crate::databases::Template;
use crate::scenario::Scenario;

/// The services' own database passwords (demo defaults; set them for anything shared).
/// They are secrets from the moment clap reads them, so `Debug` never shows them.
#[derive(Debug, Clone, Args)]
pub struct Secrets {
    /// Password of the customers service's login role.
    #[arg(
        long,
        env = "MIGRATED_CUSTOMERS_DB_PASSWORD",
        default_value = migrated_customers::DEMO_PASSWORD,
        value_parser = chassis::config::secret,
        global = true,
        hide_env_values = true,
        hide_default_value = true
    )]
    pub customers_db_password: SecretString,

    /// Password of the orders service's login role.
    #[arg(
        long,
        env = "MIGRATED_ORDERS_DB_PASSWORD",
        default_value = migrated_orders::DEMO_PASSWORD,
        value_parser = chassis::config::secret,
        global = true,
        hide_env_values = true,
        hide_default_value = true
    )]
    pub orders_db_password: SecretString,
}

impl Secrets {
    /// Both owners, with these passwords for their runtime roles.
    pub fn owners(&self) -> [Owner; 2] {
        [
            migrated_customers::owner(self.customers_db_password.expose_secret()),
            migrated_orders::owner(self.orders_db_password.expose_secret()),
        ]
    }
}

/// Flags over the services' call policies. Each service owns its policy
/// (`migrated_orders::CALL_POLICY`, `migrated_customers::CALL_POLICY`, beside the client
/// that uses it); a flag given here replaces that one field in both, an absent one keeps
/// each service's own.
#[derive(Debug, Clone, Args)]
pub struct CallPolicy {
    /// Time to connect to the other service, in milliseconds [default: each service's
    /// CALL_POLICY].
    #[arg(long, env = "MIGRATED_CONNECT_TIMEOUT_MS", global = true)]
    pub connect_timeout_ms: Option<u64>,

    /// Time for one attempt of a call to the other service, in milliseconds [default:
    /// each service's CALL_POLICY].
    #[arg(long, env = "MIGRATED_ATTEMPT_TIMEOUT_MS", global = true)]
    pub attempt_timeout_ms: Option<u64>,

    /// Time for a whole call, retries included, in milliseconds: the most a request
    /// waits on the other service before degrading or failing closed [default: each
    /// service's CALL_POLICY].
    #[arg(long, env = "MIGRATED_CALL_BUDGET_MS", global = true)]
    pub call_budget_ms: Option<u64>,
}

impl CallPolicy {
    /// Each service's own policy, with the fields these flags set replaced.
    pub fn calls(&self) -> Calls {
        Calls {
            to_customers: self.over(migrated_orders::CALL_POLICY),
            to_orders: self.over(migrated_customers::CALL_POLICY),
        }
    }

    fn over(&self, policy: UpstreamConfig) -> UpstreamConfig {
        let millis = |flag: Option<u64>, own: Duration| flag.map_or(own, Duration::from_millis);
        UpstreamConfig {
            connect_timeout: millis(self.connect_timeout_ms, policy.connect_timeout),
            attempt_timeout: millis(self.attempt_timeout_ms, policy.attempt_timeout),
            budget: millis(self.call_budget_ms, policy.budget),
            ..policy
        }
    }
}

/// How patient each service of the pair is with the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calls {
    /// The orders service, calling customers.
    pub to_customers: UpstreamConfig,
    /// The customers service, calling orders.
    pub to_orders: UpstreamConfig,
}

impl Calls {
    /// Each service's own policy, as its team set it beside its client.
    pub fn owned() -> Self {
        Self {
            to_customers: migrated_orders::CALL_POLICY,
            to_orders: migrated_customers::CALL_POLICY,
        }
    }

    /// One policy for both directions, e.g. a test's tighter one.
    pub fn both(policy: UpstreamConfig) -> Self {
        Self {
            to_customers: policy,
            to_orders: policy,
        }
    }
}

/// The call policy of runs that observe business behaviour rather than the network (the
/// matrix, the scenario, parity and flow tests): patient enough that a busy machine cannot
/// turn a slow answer into a 503, so that what is observed is the release or the rule, not
/// the load. The network's failures are shown by runs that choose a tight policy on purpose.
pub fn patient_calls() -> UpstreamConfig {
    UpstreamConfig {
        connect_timeout: Duration::from_secs(5),
        attempt_timeout: Duration::from_secs(15),
        budget: Duration::from_secs(30),
        ..migrated_orders::CALL_POLICY
    }
}

/// Where `scenario`'s owner ships: its owner role, its release table, its shape schema
/// and the runtime role that uses the shape.
fn target_of(scenario: &Scenario) -> Target<'static> {
    let (role, releases, shape_schema, runtime) = match scenario.owner.as_str() {
        "customers" => (
            migrated_customers::OWNER_ROLE,
            "customers.schema_releases",
            migrated_customers::SHAPE_SCHEMA,
            migrated_customers::RUNTIME_ROLE,
        ),
        _ => (
            migrated_orders::OWNER_ROLE,
            "orders.schema_releases",
            migrated_orders::SHAPE_SCHEMA,
            migrated_orders::RUNTIME_ROLE,
        ),
    };
    Target {
        role: Some(role),
        releases,
        owner_column: false,
        shape_schema,
        runtime_role: Some(runtime),
    }
}

/// The role `scenario`'s migration runs as.
pub fn owner_role(scenario: &Scenario) -> &'static str {
    target_of(scenario).role.unwrap_or_default()
}

/// Ships `scenario` as its owner's release: the migrated migration and the owner's new
/// shape, run as the owner role (only it can change its schemas), recorded in the owner's
/// own release table, in one transaction.
pub async fn ship(admin: &DatabaseUrl, scenario: &Scenario) -> anyhow::Result<Applied> {
    let release = Release {
        id: scenario.id,
        owner: &scenario.owner,
        sql: scenario.migrated_sql,
        shape: scenario.migrated_shape,
    };
    Ok(chassis::releases::apply(admin, target_of(scenario), release).await?)
}

/// Creates the roles and schemas, applies both services' migrations, then leaves each
/// history read-only to its service.
pub async fn migrate(admin: &DatabaseUrl, owners: &[Owner]) -> anyhow::Result<usize> {
    chassis::ownership::bootstrap(admin, owners).await?;
    let applied =
        migrated_customers::migrate(admin).await? + migrated_orders::migrate(admin).await?;
    chassis::ownership::seal_histories(admin, owners).await?;
    Ok(applied)
}

/// Inserts both services' missing seed rows.
pub async fn seed(admin: &DatabaseUrl) -> anyhow::Result<u64> {
    let pool = chassis::db::pool(admin, "shared-db-kit-seed")?;
    let inserted = crate::seed::write::migrated(&pool).await?;
    pool.close().await;
    Ok(inserted)
}

/// Bootstraps, migrates and seeds; returns (migrations applied, rows inserted).
pub async fn build(admin: &DatabaseUrl, secrets: &Secrets) -> anyhow::Result<(usize, u64)> {
    let applied = migrate(admin, &secrets.owners()).await?;
    Ok((applied, seed(admin).await?))
}

/// Both schemas bootstrapped, migrated and seeded, as a template to copy; each copy gets
/// its database privileges again (they are not copied from a template).
pub fn template(secrets: Secrets) -> Template {
    let owners = secrets.owners();
    Template::new("migrated", move |url| {
        let secrets = secrets.clone();
        async move {
            build(&url, &secrets).await?;
            Ok(())
        }
    })
    .after_copy(move |url| {
        let owners = owners.clone();
        async move {
            chassis::ownership::secure_database(&url, &owners).await?;
            Ok(())
        }
    })
}

/// The two services' apps, not yet serving: each on its own login in `admin`'s database,
/// each calling the other at its URL. The orders service's client to customers is kept,
/// so that a test can watch its breaker.
#[derive(Debug)]
pub struct Apps {
    pub customers: axum::Router,
    pub orders: axum::Router,
    pub customers_client: Arc<migrated_orders::CustomersClient>,
}

impl Apps {
    /// `urls`: where customers and orders answer, as [`Listeners::urls`] gives them.
    pub fn new(
        admin: &DatabaseUrl,
        secrets: &Secrets,
        urls: [&str; 2],
        calls: &Calls,
    ) -> anyhow::Result<Self> {
        let [customers_url, orders_url] = urls;
        let [customers_owner, orders_owner] = secrets.owners();
        let customers_client = Arc::new(migrated_orders::CustomersClient::new(
            customers_url,
            calls.to_customers,
        )?);
        let customers = migrated_customers::router(migrated_customers::AppState {
            pool: chassis::db::pool(&customers_owner.runtime_url(admin), migrated_customers::APP)?,
            orders: Arc::new(migrated_customers::OrdersClient::new(
                orders_url,
                calls.to_orders,
            )?),
        });
        let orders = migrated_orders::router(migrated_orders::AppState {
            pool: chassis::db::pool(&orders_owner.runtime_url(admin), migrated_orders::APP)?,
            customers: customers_client.clone(),
        });
        Ok(Self {
            customers,
            orders,
            customers_client,
        })
    }
}

/// Serves both services on `listeners`, each calling the other there.
pub fn start(
    admin: &DatabaseUrl,
    secrets: &Secrets,
    listeners: Listeners,
    calls: &Calls,
) -> anyhow::Result<Running> {
    let [customers_url, orders_url] = listeners.urls()?;
    let apps = Apps::new(admin, secrets, [&customers_url, &orders_url], calls)?;
    Ok(Running {
        customers: Serving::spawn_with(listeners.customers, apps.customers, listeners.limits)?,
        orders: Serving::spawn_with(listeners.orders, apps.orders, listeners.limits)?,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::{CallPolicy, Calls};

    #[test]
    fn without_flags_each_service_keeps_its_own_call_policy() {
        let flags = CallPolicy {
            connect_timeout_ms: None,
            attempt_timeout_ms: None,
            call_budget_ms: None,
        };

        assert_eq!(flags.calls(), Calls::owned());
    }

    #[test]
    fn a_flag_replaces_only_its_own_field_in_both_policies() {
        let flags = CallPolicy {
            connect_timeout_ms: None,
            attempt_timeout_ms: None,
            call_budget_ms: Some(300),
        };

        let calls = flags.calls();

        for (got, own) in [
            (calls.to_customers, migrated_orders::CALL_POLICY),
            (calls.to_orders, migrated_customers::CALL_POLICY),
        ] {
            assert_eq!(got.budget, Duration::from_millis(300));
            assert_eq!(
                (got.connect_timeout, got.retry),
                (own.connect_timeout, own.retry)
            );
        }
    }
}
