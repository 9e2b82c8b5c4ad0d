//! Calling another service over HTTP, the way a consumer that survives the network does:
//! a connect timeout, a timeout per attempt, one time budget for the whole call, bounded
//! and jittered retries of idempotent calls only, a circuit breaker, and the caller's
//! request id forwarded so one id follows the call across services.
//!
//! It moves JSON and status codes. What the JSON means is the consumer's business: each
//! service decodes into its own types, holding only the fields it reads, straight from
//! the bytes: a success is decoded once, into that type, with no `serde_json::Value` in
//! between (building one cost a fifth of the CPU of a page of 50).

use std::time::Duration;

use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::http::REQUEST_ID;
use crate::resilience::{
    self, BreakerConfig, BreakerState, CallError, CircuitBreaker, RetryPolicy,
};

/// How patient a consumer is with one owner. The numbers are the consumer's own decision,
/// so there is no default here: each service names its policy beside the client that uses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// Time to establish a TCP connection.
    pub connect_timeout: Duration,
    /// Time for one attempt, from request to the last byte of the answer.
    pub attempt_timeout: Duration,
    /// Time for the whole call, every attempt and backoff included.
    pub budget: Duration,
    pub retry: RetryPolicy,
    pub breaker: BreakerConfig,
}

/// Why a call did not produce an answer the consumer can use.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The owner is down, hanging, failing, or the breaker is open: an expected event that
    /// the consumer handles by policy (degrade, or fail closed).
    #[error("{upstream} unavailable: {reason}")]
    Unavailable {
        upstream: &'static str,
        reason: String,
        /// When it may be worth trying again.
        retry_after: Duration,
    },
    /// The owner answered about this request: a client error, or a 500 (see
    /// `owner_unavailable`), to be interpreted by the caller. The owner is up, so this is
    /// never "unavailable": what the caller cannot map to an answer of its own is the owner
    /// refusing the call (a 502 for the caller's client).
    #[error("{upstream} answered {status}")]
    Rejected {
        upstream: &'static str,
        status: StatusCode,
        body: serde_json::Value,
    },
    /// The owner answered with success, in a shape this consumer cannot read: a broken
    /// contract, which waiting will not mend.
    #[error("{upstream} answered with an unreadable body: {reason}")]
    Unreadable {
        upstream: &'static str,
        reason: String,
    },
}

impl UpstreamError {
    /// Seconds to put in a `Retry-After` header; `None` when waiting would not help, because
    /// the owner is up and answered.
    pub fn retry_after_secs(&self) -> Option<u32> {
        match self {
            Self::Unavailable { retry_after, .. } => {
                Some(retry_after.as_secs().clamp(1, 60) as u32)
            }
            Self::Rejected { .. } | Self::Unreadable { .. } => None,
        }
    }
}

/// Why an upstream could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum InvalidUpstream {
    #[error("the upstream base URL {url} is not an http(s) URL: {reason}")]
    Url { url: String, reason: String },
    #[error("cannot build the HTTP client: {0}")]
    Client(#[from] reqwest::Error),
}

/// One attempt's failure, sorted into "worth retrying" and "an answer".
#[derive(Debug, thiserror::Error)]
enum Attempt {
    #[error("{0}")]
    Transient(String),
    #[error("answered {0}")]
    Answer(StatusCode, serde_json::Value),
}

/// One owner service as seen by one consumer.
#[derive(Debug)]
pub struct Upstream {
    name: &'static str,
    base_url: String,
    /// `base_url` parsed once; each call sets its path and query on a copy.
    base: Url,
    http: reqwest::Client,
    breaker: CircuitBreaker,
    config: UpstreamConfig,
}

impl Upstream {
    /// An owner at `base_url` (e.g. `http://127.0.0.1:8101`), called `name` in logs.
    pub fn new(
        name: &'static str,
        base_url: &str,
        config: UpstreamConfig,
    ) -> Result<Self, InvalidUpstream> {
        let base_url = base_url.trim_end_matches('/').to_owned();
        let invalid = |reason: String| InvalidUpstream::Url {
            url: base_url.clone(),
            reason,
        };
        let base = Url::parse(&base_url).map_err(|err| invalid(err.to_string()))?;
        if base.cannot_be_a_base() || !matches!(base.scheme(), "http" | "https") {
            return Err(invalid("not an http(s) base".to_owned()));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.attempt_timeout)
            .pool_idle_timeout(Duration::from_secs(30))
            // Services talk to each other directly, never through the user's HTTP proxy.
            .no_proxy()
            .build()?;
        Ok(Self {
            name,
            base_url,
            base,
            http,
            breaker: CircuitBreaker::new(name, config.breaker),
            config,
        })
    }

    /// The owner's base URL, for links to its resources.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The breaker's current state.
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// GET, retried when it fails transiently. `Ok(None)` when the owner says 404.
    pub async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        request_id: &str,
    ) -> Result<Option<T>, UpstreamError> {
        match self
            .call::<(), T>(Method::GET, path, None, request_id, true)
            .await
        {
            Ok(value) => Ok(Some(value)),
            Err(UpstreamError::Rejected {
                status: StatusCode::NOT_FOUND,
                ..
            }) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// POST, made once: a POST that timed out may have happened, so it is not repeated.
    pub async fn post<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        request_id: &str,
    ) -> Result<T, UpstreamError> {
        self.call(Method::POST, path, Some(body), request_id, false)
            .await
    }

    async fn call<B: Serialize + Sync, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
        request_id: &str,
        idempotent: bool,
    ) -> Result<T, UpstreamError> {
        let url = self.url(path);
        let attempt = || async {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .header(REQUEST_ID, request_id);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|err| Attempt::Transient(describe(&err)))?;
            let status = response.status();
            let bytes = response
                .bytes()
                .await
                .map_err(|err| Attempt::Transient(describe(&err)))?;
            if owner_unavailable(status) {
                return Err(Attempt::Transient(format!("answered {status}")));
            }
            if status.is_success() {
                Ok(bytes)
            } else {
                // A refusal is rare and read as a document by the caller: a `Value` here.
                let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
                Err(Attempt::Answer(status, json))
            }
        };
        let outcome = resilience::call(
            &self.breaker,
            &self.config.retry,
            idempotent,
            self.config.budget,
            attempt,
            |err| matches!(err, Attempt::Transient(_)),
        )
        .await;
        let unavailable = |reason: String, retry_after: Duration| {
            tracing::warn!(upstream = self.name, %url, %reason, breaker = self.breaker.state().as_str(), "upstream unavailable");
            UpstreamError::Unavailable {
                upstream: self.name,
                reason,
                retry_after,
            }
        };
        match outcome {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                let reason = err.to_string();
                tracing::warn!(upstream = self.name, %url, %reason, "upstream answered unreadably");
                UpstreamError::Unreadable {
                    upstream: self.name,
                    reason,
                }
            }),
            Err(CallError::Failed {
                error: Attempt::Answer(status, body),
                ..
            }) => Err(UpstreamError::Rejected {
                upstream: self.name,
                status,
                body,
            }),
            Err(CallError::Failed {
                error: Attempt::Transient(reason),
                attempts,
            }) => Err(unavailable(
                format!("{reason} ({attempts} attempts)"),
                Duration::from_secs(2),
            )),
            Err(CallError::TimedOut { after }) => Err(unavailable(
                format!("no answer within the {} ms budget", after.as_millis()),
                Duration::from_secs(2),
            )),
            Err(CallError::Open(open)) => Err(unavailable(open.to_string(), open.retry_after)),
        }
    }
}

/// Whether an answer says the owner cannot serve anyone right now (down behind a proxy,
/// overloaded, out of its own dependencies): worth a retry, and a failure for the breaker.
///
/// Any other answer is about this one request. A 4xx is the request's fault, and a 500 is
/// the owner's fault for this request (a bug its content triggered), not a sign that the
/// owner is down: counted, either would let one client open the breaker for every client
/// (five guest checkouts with a NUL byte did), and a retry would meet the same answer. They
/// come back as `Rejected`, which the caller turns into a 502 or its own 4xx.
fn owner_unavailable(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
            | StatusCode::TOO_MANY_REQUESTS
    )
}

impl Upstream {
    /// `path` (with its query, if any) on the owner's base URL, without parsing the base
    /// again.
    fn url(&self, path: &str) -> Url {
        let (path, query) = match path.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (path, None),
        };
        let mut url = self.base.clone();
        url.set_path(path);
        url.set_query(query);
        url
    }
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        "timed out".to_owned()
    } else if err.is_connect() {
        "connection refused or unreachable".to_owned()
    } else {
        err.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_answers_that_say_the_owner_cannot_serve_anyone_count_against_it() {
        for status in [502, 503, 504, 429] {
            assert!(owner_unavailable(
                StatusCode::from_u16(status).unwrap_or_default()
            ));
        }
        for status in [500, 501, 400, 404, 409, 422] {
            assert!(!owner_unavailable(
                StatusCode::from_u16(status).unwrap_or_default()
            ));
        }
    }

    use std::time::Duration;

    use super::{InvalidUpstream, Upstream, UpstreamConfig};
    use crate::resilience::{BreakerConfig, RetryPolicy};

    fn config() -> UpstreamConfig {
        UpstreamConfig {
            connect_timeout: Duration::from_millis(10),
            attempt_timeout: Duration::from_millis(10),
            budget: Duration::from_millis(10),
            retry: RetryPolicy {
                max_attempts: 1,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(1),
            },
            breaker: BreakerConfig {
                failure_threshold: 1,
                open_for: Duration::from_millis(1),
                max_open_for: Duration::from_millis(1),
            },
        }
    }

    #[test]
    fn puts_a_path_and_its_query_on_the_base_parsed_once() -> Result<(), InvalidUpstream> {
        let upstream = Upstream::new("owner", "http://127.0.0.1:8101/", config())?;

        assert_eq!(upstream.base_url(), "http://127.0.0.1:8101");
        assert_eq!(
            upstream.url("/v1/customers?ids=1,2").as_str(),
            "http://127.0.0.1:8101/v1/customers?ids=1,2"
        );
        assert_eq!(
            upstream.url("/v1/customers/7").as_str(),
            "http://127.0.0.1:8101/v1/customers/7"
        );
        Ok(())
    }

    #[test]
    fn refuses_a_base_that_is_not_an_http_url() {
        for base in ["127.0.0.1:8101", "mailto:owner@example.com", "not a url"] {
            assert!(
                matches!(
                    Upstream::new("owner", base, config()),
                    Err(InvalidUpstream::Url { .. })
                ),
                "{base}"
            );
        }
    }
}
