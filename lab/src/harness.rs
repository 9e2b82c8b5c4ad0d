//! The integration-test harness: one Postgres container per test binary, a fresh database
//! per test cloned from a migrated template, and no container left behind.
//!
//! Test binaries use it as their `main` (`harness = false`), so the container has an owner
//! that outlives every test and removes it when they are done: passed, failed, panicked,
//! or interrupted with Ctrl-C. (A container in a `static` would never be dropped.)
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     lab::harness::main(lab::tests![shows_an_order_with_its_customer])
//! }
//! async fn shows_an_order_with_its_customer(ctx: lab::harness::TestContext) { /* ... */ }
//! ```

use std::process::ExitCode;
use std::sync::Arc;

use chassis::config::DatabaseUrl;
use libtest_mimic::{Arguments, Trial};
use tokio::runtime::Runtime;
use tokio::sync::OnceCell;

use crate::databases::Databases;
pub use crate::databases::{BoxFuture, Database as TestDatabase, Template};
use crate::postgres::{Postgres, Purpose};

/// A test body: an async function of the context.
pub type TestFn = fn(TestContext) -> BoxFuture<()>;

/// A named test.
#[derive(Debug, Clone, Copy)]
pub struct Test {
    pub name: &'static str,
    pub run: TestFn,
}

/// Lists async test functions for [`main`]: `lab::tests![first_test, second_test]`.
#[macro_export]
macro_rules! tests {
    ($($test:ident),+ $(,)?) => {
        vec![$($crate::harness::Test {
            name: stringify!($test),
            run: |ctx| Box::pin($test(ctx)),
        }),+]
    };
}

/// Runs `tests` with libtest's command line (filters, `--test-threads`, `--list`...), then
/// removes the container if one was started. Use it as a test binary's `main`.
pub fn main(tests: Vec<Test>) -> ExitCode {
    let args = Arguments::from_args();
    let _logging = std::env::var_os("RUST_LOG").map(|_| chassis::telemetry::init());
    let runtime = match Runtime::new() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the tokio runtime for the tests: {err}");
            return ExitCode::FAILURE;
        }
    };
    let harness = Arc::new(Harness::default());
    let handle = runtime.handle().clone();
    let trials = tests
        .into_iter()
        .map(|test| {
            let harness = harness.clone();
            let handle = handle.clone();
            Trial::test(test.name, move || {
                let ctx = TestContext { harness };
                handle.block_on((test.run)(ctx));
                Ok(())
            })
        })
        .collect();
    let conclusion = libtest_mimic::run(&args, trials);
    runtime.block_on(harness.shutdown());
    conclusion.exit_code()
}

#[derive(Debug, Default)]
struct Harness {
    postgres: OnceCell<Result<Server, String>>,
}

#[derive(Debug)]
struct Server {
    databases: Databases,
    // Taken out once, by whoever removes the container first: the end of the run or Ctrl-C.
    container: tokio::sync::Mutex<Option<Postgres>>,
}

impl Server {
    async fn take(&self) -> Option<Postgres> {
        self.container.lock().await.take()
    }
}

impl Harness {
    /// The binary's Postgres, started on first use. A failure to start is kept, so that
    /// every test reports it at once instead of each trying again.
    async fn server(self: &Arc<Self>) -> &Server {
        let server = self
            .postgres
            .get_or_init(|| async {
                let postgres = Postgres::provision(None, Purpose::Test)
                    .await
                    .map_err(|err| err.to_string())?;
                let server = Server {
                    databases: Databases::new(postgres.url().clone(), "t"),
                    container: tokio::sync::Mutex::new(Some(postgres)),
                };
                let harness = self.clone();
                tokio::spawn(async move {
                    chassis::shutdown::signal().await;
                    eprintln!("interrupted: removing the test Postgres container");
                    harness.shutdown().await;
                    std::process::exit(130);
                });
                Ok(server)
            })
            .await;
        match server {
            Ok(server) => server,
            Err(err) => panic!("{err}"),
        }
    }

    async fn shutdown(&self) {
        if let Some(Ok(server)) = self.postgres.get()
            && let Some(postgres) = server.take().await
        {
            postgres.release().await;
        }
    }
}

/// What a test gets: access to fresh databases on the binary's one Postgres.
#[derive(Debug, Clone)]
pub struct TestContext {
    harness: Arc<Harness>,
}

impl TestContext {
    /// A new, empty-but-for-the-template database for this test alone, dropped when the
    /// returned value is.
    pub async fn database(&self, template: &Template) -> TestDatabase {
        self.try_database(template).await.unwrap_or_else(|err| {
            panic!(
                "cannot create a test database from {}: {err:#}",
                template.name
            )
        })
    }

    async fn try_database(&self, template: &Template) -> anyhow::Result<TestDatabase> {
        self.harness.server().await.databases.fresh(template).await
    }

    /// The server's log so far (the container's stderr), for tests that audit it. Which
    /// statements it holds is up to the test: `ALTER DATABASE … SET log_statement = 'all'`.
    pub async fn server_log(&self) -> anyhow::Result<String> {
        let server = self.harness.server().await;
        let container = server.container.lock().await;
        let Some(postgres) = container.as_ref() else {
            anyhow::bail!("the test Postgres is already removed");
        };
        match postgres.server_log().await {
            Some(log) => Ok(log?),
            None => anyhow::bail!("the test Postgres is not a container: its log is not ours"),
        }
    }

    /// The id of the binary's Postgres container, for tests that inspect it.
    pub async fn container_id(&self) -> Option<String> {
        let server = self.harness.server().await;
        let container = server.container.lock().await;
        container
            .as_ref()
            .and_then(|postgres| postgres.container_id().map(str::to_owned))
    }

    /// Pauses, resumes or restarts the binary's Postgres container: for a test that owns
    /// the binary's server (no other test of the binary may need it meanwhile).
    pub async fn control(&self, what: crate::postgres::Control) -> anyhow::Result<()> {
        let server = self.harness.server().await;
        let container = server.container.lock().await;
        let Some(postgres) = container.as_ref() else {
            anyhow::bail!("the test Postgres is already removed");
        };
        postgres.control(what).await
    }

    /// The admin URL of the binary's Postgres (for tests that make databases of their own).
    pub async fn admin_url(&self) -> DatabaseUrl {
        self.harness.server().await.databases.admin().clone()
    }
}
