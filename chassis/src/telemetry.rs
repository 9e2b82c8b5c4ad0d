//! Logging for every binary: `tracing` with a `RUST_LOG`-style filter, written to stderr so
//! that stdout stays for what the user asked for (URLs, tables). One line per request (the
//! response, with the request span's method, URI and id). Lines are handed to a writer
//! thread ([`tracing_appender::non_blocking`]), so a request never waits for the terminal or
//! the file behind stderr; when that thread falls behind by more than its buffer (128k
//! lines) lines are dropped, not requests slowed.

use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Event, Subscriber};
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Registry, reload};

/// The filter used when `RUST_LOG` is unset: requests at info, library chatter quieter.
pub const DEFAULT_FILTER: &str = "info,sqlx=warn,testcontainers=warn,bollard=warn,hyper=warn";

/// Keeps the log's writer thread running; dropping it writes out what is still queued.
/// Hold it for as long as the program logs (`let _logging = telemetry::init();`).
#[must_use = "dropping the guard stops the log's writer thread"]
#[derive(Debug)]
pub struct Logging {
    _guard: Option<WorkerGuard>,
}

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

/// Installs the global subscriber. Safe to call twice (the second call installs nothing),
/// so tests and binaries can both call it.
pub fn init() -> Logging {
    init_with_default(DEFAULT_FILTER)
}

/// Like [`init`], with `default` as the filter when `RUST_LOG` is unset: a benchmark
/// measures the services, not the terminal, so it logs warnings only unless asked.
pub fn init_with_default(default: &str) -> Logging {
    let colours = std::io::stderr().is_terminal();
    install(std::io::stderr(), default, colours)
}

/// Like [`init_with_default`], the lines going to `out` (a file, say) instead of stderr,
/// without colours.
pub fn init_to(out: impl Write + Send + 'static, default: &str) -> Logging {
    install(out, default, false)
}

fn install(out: impl Write + Send + 'static, default: &str, colours: bool) -> Logging {
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let (filter, handle) = reload::Layer::new(filter);
    let (writer, guard) = tracing_appender::non_blocking(out);
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_ansi(colours)
                .with_target(false),
        )
        .try_init();
    match installed {
        Ok(()) => {
            let _ = FILTER.set(handle);
            Logging {
                _guard: Some(guard),
            }
        }
        Err(_) => Logging { _guard: None },
    }
}

/// Replaces the filter of the subscriber [`init`] installed (for example `"info"`, or
/// `"warn"`), from now on; `kit bench` uses it to time what logging costs. Fails when
/// the subscriber was installed otherwise, or the directives do not parse.
pub fn set_filter(directives: &str) -> anyhow::Result<()> {
    let handle = FILTER
        .get()
        .ok_or_else(|| anyhow::anyhow!("the log was not installed by telemetry::init"))?;
    handle.reload(EnvFilter::try_new(directives)?)?;
    Ok(())
}

/// Installs the global subscriber with an [`ErrorLog`] beside the usual log lines, and
/// returns it. `quiet` keeps the log lines off unless `RUST_LOG` asks for them (for
/// commands whose stdout is a report, such as the matrix). Like [`init`], a second
/// call installs nothing; the returned log then stays empty.
pub fn init_with_error_log(quiet: bool) -> ErrorLog {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let filter = match EnvFilter::try_from_default_env() {
        Ok(filter) => filter,
        Err(_) if quiet => EnvFilter::new("off"),
        Err(_) => EnvFilter::new(DEFAULT_FILTER),
    };
    let errors = ErrorLog::default();
    let _ = tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_filter(filter),
        )
        // Spans at any level (the request span carries the id), events at ERROR only.
        .with(
            errors
                .clone()
                .with_filter(tracing_subscriber::filter::filter_fn(|meta| {
                    meta.is_span() || *meta.level() == tracing::Level::ERROR
                })),
        )
        .try_init();
    errors
}

/// What a service logged at ERROR while it served one request: the line an operator would
/// read in the service's log, keyed by the request id that the response also carries (the
/// `x-request-id` header). The matrix and the tests use it to show *why* a flow failed,
/// which the problem+json body rightly does not say.
#[derive(Debug, Clone, Default)]
pub struct ErrorLog {
    by_request: Arc<Mutex<HashMap<String, Vec<LoggedError>>>>,
}

/// One ERROR event: its message and the `error` and `sqlstate` fields, when present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoggedError {
    pub message: String,
    pub error: Option<String>,
    pub sqlstate: Option<String>,
}

impl std::fmt::Display for LoggedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(sqlstate) = &self.sqlstate {
            write!(f, "SQLSTATE {sqlstate}: ")?;
        }
        // sqlx's own prefixes say nothing the SQLSTATE does not.
        let error = self.error.as_deref().unwrap_or(&self.message);
        let error = error.trim_start_matches("database error: ");
        f.write_str(error.trim_start_matches("error returned from database: "))
    }
}

impl ErrorLog {
    /// The errors logged while serving the request with this id, in order.
    pub fn for_request(&self, request_id: &str) -> Vec<LoggedError> {
        self.by_request
            .lock()
            .map(|log| log.get(request_id).cloned().unwrap_or_default())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Fields(HashMap<&'static str, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name(), format!("{value:?}"));
    }
}

/// The request id of a request span, kept in the span's extensions.
struct RequestId(String);

impl<S> tracing_subscriber::Layer<S> for ErrorLog
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(request_id) = fields.0.remove("request_id")
            && let Some(span) = ctx.span(id)
        {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let Some(request_id) = ctx.event_scope(event).and_then(|scope| {
            scope
                .from_root()
                .find_map(|span| span.extensions().get::<RequestId>().map(|id| id.0.clone()))
        }) else {
            return;
        };
        let mut fields = Fields::default();
        event.record(&mut fields);
        let logged = LoggedError {
            message: fields.0.remove("message").unwrap_or_default(),
            error: fields.0.remove("error"),
            sqlstate: fields.0.remove("sqlstate"),
        };
        if let Ok(mut log) = self.by_request.lock() {
            log.entry(request_id).or_default().push(logged);
        }
    }
}
