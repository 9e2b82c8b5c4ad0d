//! How a service reaches the other team's data: straight into its tables (as legacy always
//! did), or through the contract the owner publishes in the database (`kit road`, state 2:
//! `customers_api`, `orders_api`). It is the deployment's choice, made once per service
//! ([`crate::customers::router_reaching`]); each request runs in it, so the `db.rs`
//! functions pick their SQL without every route passing it along.

use axum::Router;
use axum::extract::Request;
use axum::middleware::{self, Next};

/// Where a service's cross-owner statements go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// The other team's tables.
    #[default]
    Tables,
    /// The other team's contract: its views and functions, never its tables.
    Contract,
}

tokio::task_local! {
    static REACH: Reach;
}

impl std::str::FromStr for Reach {
    type Err = String;

    /// `tables` or `contract`, as a command line names them.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "tables" => Ok(Reach::Tables),
            "contract" => Ok(Reach::Contract),
            other => Err(format!(
                "no reach `{other}`: `tables` (states 0 and 1) or `contract` (state 2)"
            )),
        }
    }
}

impl Reach {
    pub const BOTH: [Reach; 2] = [Reach::Tables, Reach::Contract];

    /// The reach of the request being served; outside one (the check, a test), the tables.
    pub fn current() -> Reach {
        REACH.try_with(|reach| *reach).unwrap_or_default()
    }

    /// `tables` or `contract`, whichever this reach runs.
    pub fn pick<'a>(self, tables: &'a str, contract: &'a str) -> &'a str {
        match self {
            Reach::Tables => tables,
            Reach::Contract => contract,
        }
    }
}

/// `chassis::db::to_completion` in the request's reach: the work runs in a task of its own,
/// and a task-local does not follow a spawned task by itself (without this, a contract-mode
/// write would reach into the tables, and be refused).
pub(crate) async fn to_completion<T, E>(
    work: impl Future<Output = Result<T, E>> + Send + 'static,
) -> Result<T, E>
where
    T: Send + 'static,
    E: From<sqlx::Error> + Send + 'static,
{
    chassis::db::to_completion(REACH.scope(Reach::current(), work)).await
}

/// `router`, each of its requests served in `reach`.
pub(crate) fn scoped(router: Router, reach: Reach) -> Router {
    router.layer(middleware::from_fn(move |request: Request, next: Next| {
        REACH.scope(reach, next.run(request))
    }))
}
