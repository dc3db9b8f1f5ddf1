//! A real HTTP server on loopback that speaks the OpenAI chat-completions
//! protocol, for end-to-end tests. Each request takes the next scripted
//! behaviour (the last one repeats); every request is recorded.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

/// What the server does with one request.
#[derive(Clone)]
pub enum Behaviour {
    /// 200 with a completion whose content is this text.
    Reply(String),
    /// 200 with a completion whose content `f(n)` makes, n from 0.
    ReplyWith(Arc<dyn Fn(usize) -> String + Send + Sync>),
    /// 200 with this raw body (not a completion).
    Raw(String),
    /// This status and body, with an optional Retry-After (seconds).
    Status(u16, String, Option<u64>),
    /// Wait, then reply.
    Hang(Duration, String),
}

/// One request as received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub body: Value,
    pub authorization: Option<String>,
    pub tenant_header: Option<String>,
    pub purpose_header: Option<String>,
}

struct Shared {
    script: Mutex<VecDeque<Behaviour>>,
    seen: Mutex<Vec<Seen>>,
}

/// The running server; stops with the test process.
pub struct LlmServer {
    pub base_url: String,
    shared: Arc<Shared>,
}

impl LlmServer {
    pub fn start(script: Vec<Behaviour>) -> LlmServer {
        let shared = Arc::new(Shared { script: Mutex::new(script.into()), seen: Mutex::new(Vec::new()) });
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let state = shared.clone();
        std::thread::spawn(move || {
            let runtime =
                tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let app = axum::Router::new().route("/v1/chat/completions", post(chat)).with_state(state);
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
                tx.send(listener.local_addr().expect("addr")).expect("send addr");
                axum::serve(listener, app).await.expect("serve");
            });
        });
        let addr = rx.recv().expect("server started");
        LlmServer { base_url: format!("http://{addr}/v1"), shared }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.shared.seen.lock().expect("lock").clone()
    }
}

pub fn completion(content: &str) -> Value {
    json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "model": "loopback-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290},
    })
}

async fn chat(State(shared): State<Arc<Shared>>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string);
    let number = {
        let mut seen = shared.seen.lock().expect("lock");
        seen.push(Seen {
            body,
            authorization: header("authorization"),
            tenant_header: header("x-memwarden-tenant"),
            purpose_header: header("x-memwarden-purpose"),
        });
        seen.len() - 1
    };
    let behaviour = {
        let mut script = shared.script.lock().expect("lock");
        if script.len() > 1 { script.pop_front() } else { script.front().cloned() }
    };
    match behaviour {
        None => (StatusCode::INTERNAL_SERVER_ERROR, "no script").into_response(),
        Some(Behaviour::Reply(text)) => Json(completion(&text)).into_response(),
        Some(Behaviour::ReplyWith(make)) => Json(completion(&make(number))).into_response(),
        Some(Behaviour::Raw(body)) => (StatusCode::OK, body).into_response(),
        Some(Behaviour::Status(status, body, retry_after)) => {
            let status = StatusCode::from_u16(status).expect("status");
            match retry_after {
                Some(seconds) => (status, [("retry-after", seconds.to_string())], body).into_response(),
                None => (status, body).into_response(),
            }
        }
        Some(Behaviour::Hang(delay, text)) => {
            tokio::time::sleep(delay).await;
            Json(completion(&text)).into_response()
        }
    }
}
