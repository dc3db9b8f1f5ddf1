//! The memwarden LLM client: OpenAI-compatible chat completions
//! ([`OpenAiClient`]: retries with backoff, a cap on the answer's size,
//! gateway headers) or answers read from a file ([`ScriptedProvider`]),
//! behind one enum.
//!
//! What it does not do: it knows nothing of jobs, policies, prompts or the
//! tenant store, and reads no file but the script it is handed. It needs a
//! tokio runtime for its timers; the HTTP stack is reqwest with rustls.

#![deny(missing_docs)]

mod openai;
mod scripted;

pub use openai::{OpenAiClient, OpenAiConfig, limits};
pub use scripted::{ScriptedProvider, ScriptedResponse};

/// One request: a system prompt, a user message, and the JSON schema the
/// answer must follow.
#[derive(Debug, Clone)]
pub struct ChatRequest {
    /// The tenant, for gateway attribution and scripted matching.
    pub tenant: String,
    /// What the answer is for: `reflection` or `consolidation` (scripted
    /// matching, and the `x-memwarden-purpose` header in gateway mode).
    pub purpose: &'static str,
    /// The piece of the run (empty for a consolidation), for scripted
    /// matching.
    pub piece: String,
    /// The system prompt.
    pub system: String,
    /// The user message.
    pub user: String,
    /// JSON schema of the expected answer.
    pub schema: serde_json::Value,
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The message content.
    pub text: String,
    /// The model that answered.
    pub model: String,
    /// Prompt tokens, as the server counted them.
    pub tokens_in: u64,
    /// Completion tokens, as the server counted them.
    pub tokens_out: u64,
}

/// Why no answer came.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LlmError {
    /// The server refused the credentials (401/403); retrying cannot help.
    #[error("the LLM endpoint refused the credentials (HTTP {status}): {message}")]
    Auth {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// No answer within the timeout, after every retry.
    #[error("the LLM did not answer within {seconds} s (after {attempts} attempts)")]
    Timeout {
        /// The per-request timeout.
        seconds: u64,
        /// Attempts made.
        attempts: u32,
    },
    /// Unreachable, overloaded (429) or failing (5xx), after every retry.
    #[error("the LLM endpoint is unavailable after {attempts} attempts: {message}")]
    Unavailable {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        message: String,
    },
    /// The server refused the request itself (a 4xx other than auth).
    #[error("the LLM endpoint rejected the request (HTTP {status}): {message}")]
    Rejected {
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// The answer is not a chat completion.
    #[error("the LLM answer is not a chat completion: {0}")]
    BadResponse(String),
    /// The answer is longer than the client reads (`llm.max_response_bytes`).
    #[error("the LLM answer is larger than {max_bytes} bytes (llm.max_response_bytes)")]
    TooLarge {
        /// The cap.
        max_bytes: usize,
    },
    /// The scripted provider has no answer left for this request.
    #[error("the script has no answer left for tenant `{tenant}`, piece `{piece}`")]
    ScriptExhausted {
        /// The tenant asked for.
        tenant: String,
        /// The piece asked for.
        piece: String,
    },
}

impl LlmError {
    /// Stable code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            LlmError::Auth { .. } => "llm_auth",
            LlmError::Timeout { .. } => "llm_timeout",
            LlmError::Unavailable { .. } => "llm_unavailable",
            LlmError::Rejected { .. } => "llm_rejected",
            // A malformed answer either way.
            LlmError::BadResponse(_) | LlmError::TooLarge { .. } => "llm_bad_response",
            LlmError::ScriptExhausted { .. } => "llm_script_exhausted",
        }
    }

    /// Whether a later attempt of the job could succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            LlmError::Timeout { .. }
                | LlmError::Unavailable { .. }
                | LlmError::BadResponse(_)
                | LlmError::TooLarge { .. }
        )
    }
}

/// Metrics of LLM calls, through the `metrics` facade.
pub mod metric_names {
    /// Wall time of a completion, retries included. Tags: `purpose`,
    /// `outcome` (`ok` or an error code).
    pub const REQUEST_SECONDS: &str = "memwarden_llm_request_seconds";
    /// Tokens used. Tags: `purpose`, `direction` (`in`, `out`).
    pub const TOKENS: &str = "memwarden_llm_tokens_total";
}

/// The configured provider.
pub enum LlmClient {
    /// A real OpenAI-compatible endpoint.
    OpenAi(OpenAiClient),
    /// Answers from a file.
    Scripted(ScriptedProvider),
}

impl LlmClient {
    /// Asks for one completion, and counts its latency and tokens.
    pub async fn complete(&self, request: &ChatRequest) -> Result<Completion, LlmError> {
        let started = std::time::Instant::now();
        let result = match self {
            LlmClient::OpenAi(client) => client.complete(request).await,
            LlmClient::Scripted(script) => script.complete(request),
        };
        let outcome = match &result {
            Ok(_) => "ok",
            Err(err) => err.code(),
        };
        metrics::histogram!(metric_names::REQUEST_SECONDS, "purpose" => request.purpose, "outcome" => outcome)
            .record(started.elapsed().as_secs_f64());
        if let Ok(completion) = &result {
            metrics::counter!(metric_names::TOKENS, "purpose" => request.purpose, "direction" => "in")
                .increment(completion.tokens_in);
            metrics::counter!(metric_names::TOKENS, "purpose" => request.purpose, "direction" => "out")
                .increment(completion.tokens_out);
        }
        result
    }

    /// The model name, for records.
    pub fn model(&self) -> &str {
        match self {
            LlmClient::OpenAi(client) => client.model(),
            LlmClient::Scripted(_) => "scripted",
        }
    }
}
