//! An OpenAI-compatible `/v1/chat/completions` client.
//!
//! - Structured output: `response_format: json_schema`; a server that
//!   refuses it (HTTP 400 naming `response_format`) gets plain JSON mode
//!   from then on.
//! - Retries: connect errors, timeouts, 429 and 5xx, with exponential
//!   backoff and full jitter, honouring `Retry-After`; never 401/403.
//! - Gateway mode: the tenant goes in the `user` field and the
//!   `X-Memwarden-Tenant` header, for per-tenant attribution upstream.
//! - A bounded answer: the body is read chunk by chunk up to
//!   `max_response_bytes`, so a hostile or broken endpoint cannot make the
//!   host buffer more (issue 9); past it the answer is `llm_bad_response`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde::Deserialize;
use serde_json::json;

use super::{ChatRequest, Completion, LlmError};

/// Settings of an [`OpenAiClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiConfig {
    /// e.g. `https://api.openai.com/v1` or `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Sent as a Bearer token when set.
    pub api_key: Option<String>,
    /// The model to ask.
    pub model: String,
    /// Per request.
    pub timeout: Duration,
    /// `max_tokens` of the completion.
    pub max_output_tokens: u32,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubles per retry up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Ceiling of one backoff, and of a `Retry-After` honoured.
    pub max_backoff: Duration,
    /// Attribute requests to tenants (`user` field and header).
    pub gateway: bool,
    /// Largest response body read, in bytes; a longer answer is refused.
    pub max_response_bytes: usize,
}

/// Defaults of the client.
pub mod limits {
    /// Largest response body read by default: a few times the largest
    /// proposal (1 MiB) wrapped in a chat completion.
    pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: "https://api.openai.com/v1".to_string(),
            api_key: None,
            model: "gpt-4o-mini".to_string(),
            timeout: Duration::from_secs(60),
            max_output_tokens: 2048,
            max_retries: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            gateway: false,
            max_response_bytes: limits::MAX_RESPONSE_BYTES,
        }
    }
}

/// The HTTP client.
pub struct OpenAiClient {
    http: reqwest::Client,
    config: OpenAiConfig,
    json_schema_supported: AtomicBool,
}

/// The header carrying the tenant in gateway mode.
pub const TENANT_HEADER: &str = "x-memwarden-tenant";

/// Gateway-mode header naming what a request is for (`reflection` or
/// `consolidation`), so a gateway can budget the two apart.
pub const PURPOSE_HEADER: &str = "x-memwarden-purpose";

enum Attempt {
    Done(Completion),
    /// Worth another try, after at least this long.
    Retry {
        message: String,
        after: Option<Duration>,
        timed_out: bool,
    },
    Fatal(LlmError),
    /// The server refused `json_schema`; ask again in JSON mode at once.
    Downgrade,
}

impl OpenAiClient {
    /// A client for `config`.
    pub fn new(config: OpenAiConfig) -> Result<OpenAiClient, LlmError> {
        // reqwest is built without a default TLS provider; use ring's.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder().timeout(config.timeout).build().map_err(|err| LlmError::Unavailable {
            attempts: 0,
            message: format!("cannot build the HTTP client: {err}"),
        })?;
        Ok(OpenAiClient { http, config, json_schema_supported: AtomicBool::new(true) })
    }

    /// The model asked.
    pub fn model(&self) -> &str {
        &self.config.model
    }

    pub(crate) async fn complete(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        let mut attempts = 0;
        loop {
            attempts += 1;
            let (message, after, timed_out) = match self.attempt(request).await {
                Attempt::Done(completion) => return Ok(completion),
                Attempt::Fatal(err) => return Err(err),
                Attempt::Downgrade => {
                    tracing::info!(model = %self.config.model, "the endpoint refuses json_schema; using JSON mode");
                    self.json_schema_supported.store(false, Ordering::Relaxed);
                    attempts -= 1;
                    continue;
                }
                Attempt::Retry { message, after, timed_out } => (message, after, timed_out),
            };
            if attempts > self.config.max_retries {
                return Err(match timed_out {
                    true => LlmError::Timeout { seconds: self.config.timeout.as_secs(), attempts },
                    false => LlmError::Unavailable { attempts, message },
                });
            }
            let delay = after.unwrap_or_else(|| self.backoff(attempts)).min(self.config.max_backoff);
            tracing::warn!(tenant = %request.tenant, attempt = attempts, delay_ms = delay.as_millis() as u64, %message, "LLM call failed; retrying");
            tokio::time::sleep(delay).await;
        }
    }

    /// Full jitter: uniform in `0..=initial * 2^(attempt-1)`.
    fn backoff(&self, attempt: u32) -> Duration {
        let ceiling = self.config.initial_backoff.saturating_mul(1 << attempt.saturating_sub(1).min(16));
        ceiling.mul_f64(fastrand::f64()).min(self.config.max_backoff)
    }

    async fn attempt(&self, request: &ChatRequest) -> Attempt {
        let response_format = match self.json_schema_supported.load(Ordering::Relaxed) {
            true => {
                json!({"type": "json_schema", "json_schema": {"name": "proposal", "strict": true, "schema": request.schema}})
            }
            false => json!({"type": "json_object"}),
        };
        let mut body = json!({
            "model": self.config.model,
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": request.user},
            ],
            "max_tokens": self.config.max_output_tokens,
            "temperature": 0,
            "response_format": response_format,
        });
        let url = format!("{}/chat/completions", self.config.base_url.trim_end_matches('/'));
        let mut builder = self.http.post(url);
        if let Some(key) = &self.config.api_key {
            builder = builder.bearer_auth(key);
        }
        if self.config.gateway {
            body["user"] = json!(request.tenant);
            builder = builder.header(TENANT_HEADER, &request.tenant).header(PURPOSE_HEADER, request.purpose);
        }
        let response = match builder.json(&body).send().await {
            Ok(response) => response,
            Err(err) => return Attempt::Retry { message: one_line(&err), after: None, timed_out: err.is_timeout() },
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let cap = self.config.max_response_bytes;
        let too_large = || Attempt::Fatal(LlmError::TooLarge { max_bytes: cap });
        if status == StatusCode::OK && response.content_length().is_some_and(|length| length > cap as u64) {
            return too_large();
        }
        let body = match read_capped(response, cap).await {
            Ok(body) => body,
            Err(err) => return Attempt::Retry { message: one_line(&err), after: None, timed_out: err.is_timeout() },
        };
        if status == StatusCode::OK && body.cut {
            return too_large();
        }
        let text = String::from_utf8_lossy(&body.bytes);
        let excerpt: String = text.chars().take(300).collect();
        match status {
            StatusCode::OK => parse_completion(&text).map_or_else(Attempt::Fatal, Attempt::Done),
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Attempt::Fatal(LlmError::Auth { status: status.as_u16(), message: excerpt })
            }
            StatusCode::BAD_REQUEST
                if text.contains("response_format") && self.json_schema_supported.load(Ordering::Relaxed) =>
            {
                Attempt::Downgrade
            }
            StatusCode::TOO_MANY_REQUESTS => {
                Attempt::Retry { message: format!("HTTP 429: {excerpt}"), after: retry_after, timed_out: false }
            }
            status if status.is_server_error() => Attempt::Retry {
                message: format!("HTTP {}: {excerpt}", status.as_u16()),
                after: retry_after,
                timed_out: false,
            },
            status => Attempt::Fatal(LlmError::Rejected { status: status.as_u16(), message: excerpt }),
        }
    }
}

#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    model: Option<String>,
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: Message,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

/// A response body read up to a cap.
struct CappedBody {
    /// At most the cap's worth.
    bytes: Vec<u8>,
    /// Whether the body went on past the cap (the rest is not read).
    cut: bool,
}

/// Reads `response`'s body chunk by chunk, stopping at `cap` bytes.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<CappedBody, reqwest::Error> {
    let expected = response.content_length().map_or(0, |length| length.min(cap as u64) as usize);
    let mut bytes = Vec::with_capacity(expected);
    while let Some(chunk) = response.chunk().await? {
        let room = cap - bytes.len();
        if chunk.len() > room {
            bytes.extend_from_slice(&chunk[..room]);
            return Ok(CappedBody { bytes, cut: true });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(CappedBody { bytes, cut: false })
}

fn parse_completion(text: &str) -> Result<Completion, LlmError> {
    let response: ChatResponse = serde_json::from_str(text).map_err(|err| LlmError::BadResponse(err.to_string()))?;
    let content = response.choices.into_iter().next().and_then(|choice| choice.message.content);
    let content = content.ok_or_else(|| LlmError::BadResponse("the answer has no message content".to_string()))?;
    let usage = response.usage.unwrap_or(Usage { prompt_tokens: 0, completion_tokens: 0 });
    Ok(Completion {
        text: content,
        model: response.model.unwrap_or_default(),
        tokens_in: usage.prompt_tokens,
        tokens_out: usage.completion_tokens,
    })
}

fn one_line(err: &reqwest::Error) -> String {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
