//! The tools and resources of the MCP server, with the argument schemas
//! and descriptions an agent's LLM reads. Every tool resolves the session's
//! tenant first (never from an argument), checks the name and the shard as
//! the HTTP API does, and reports a refusal as a tool error
//! `{"error": {"code", "message"}}` with the API's stable codes, so the
//! agent reads it and can act.

use std::sync::Arc;

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolResult, ErrorData, Implementation, ListResourceTemplatesResult, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ResourceTemplate, ServerCapabilities, ServerConfig,
};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, ServerHandler, tool, tool_handler, tool_router};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{McpHost, Session, propose, render, session_of};
use crate::jobs::{JobStore, ReflectionPayload};
use crate::policy::{MemoryChange, Op, Proposal, RunOutcome};
use crate::reflection::{self, now_ms};
use crate::serve::{ApiError, existing_tenant, tenant_codes};
use crate::store::{TenantFile, pieces, safe_name_of};

/// The MCP server of one session.
pub struct MemoryServer<S> {
    host: Arc<McpHost<S>>,
    /// Set for stdio, where the operator named the tenant; `None` over
    /// HTTP, where each request carries its own.
    fixed: Option<Session>,
}

impl<S> Clone for MemoryServer<S> {
    fn clone(&self) -> Self {
        MemoryServer { host: self.host.clone(), fixed: self.fixed.clone() }
    }
}

/// `memory_list` takes no arguments; any is refused, so none can name a
/// tenant.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListArgs {}

/// `memory_read`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadArgs {
    /// The entry's name exactly as memory_list shows it (a lowercase slug, e.g. `deploy-order`).
    name: String,
}

/// `memory_search`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchArgs {
    /// Words to look for in entry names, descriptions and bodies, e.g. `database migrations deploy`.
    query: String,
    /// How many entries to return at most (default 10).
    #[serde(default)]
    limit: Option<u32>,
}

/// What a change does.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// Create a new entry (needs description, type and body).
    Add,
    /// Change an existing entry; fields left out keep their value.
    Update,
    /// Delete an entry; with merge_target, fold it into that entry (which a change in the same proposal updates).
    Remove,
}

/// The kind of memory an entry is.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryType {
    /// Who the user is, what they prefer.
    User,
    /// Corrections and lessons from how work went.
    Feedback,
    /// Facts about the project: conventions, architecture, procedures.
    Project,
    /// Pointers to where things are: docs, dashboards, tickets.
    Reference,
}

/// One proposed change.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeArg {
    /// `add`, `update` or `remove`.
    op: ChangeOp,
    /// The entry's name: a lowercase slug (a-z, 0-9, `-`, `_`), e.g. `deploy-order`.
    name: String,
    /// One line saying what the entry is about (shown in the index). Required for add.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    /// The kind of memory. Required for add.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    entry_type: Option<EntryType>,
    /// The entry's markdown text. Required for add. Never put credentials here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    body: Option<String>,
    /// For a remove: the entry this one is merged into.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merge_target: Option<String>,
}

/// `memory_propose`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeArgs {
    /// One or two sentences: why these changes, what you learned. Recorded with the decision.
    reason: String,
    /// The changes, applied in order if accepted. Keep them few and focused.
    changes: Vec<ChangeArg>,
}

/// How the run ended.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunEnd {
    /// The run did what it was asked.
    Succeeded,
    /// The run failed.
    Failed,
    /// The run was stopped before it finished.
    Aborted,
}

/// `reflect`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReflectArgs {
    /// The workflow piece the run used, e.g. `plan-implement-review`, `research` or `bug-triage`.
    piece: String,
    /// How the run ended.
    outcome: RunEnd,
    /// The run's activity log: what was done and what happened (the last part is used).
    activity_log: String,
    /// Your platform's id for the run, kept with every entry the reflection writes.
    #[serde(default)]
    source_run: Option<String>,
}

/// A tool's refusal, as the agent reads it.
fn refused(err: ApiError) -> CallToolResult {
    CallToolResult::structured_error(json!({ "error": { "code": err.code, "message": err.message } }))
}

/// A tool's answer, or its refusal.
fn answer(result: Result<Value, ApiError>) -> Result<CallToolResult, ErrorData> {
    Ok(result.map_or_else(refused, CallToolResult::structured))
}

#[tool_router]
impl<S: JobStore + 'static> MemoryServer<S> {
    /// A server for one session; `fixed` names the tenant for stdio.
    pub fn new(host: Arc<McpHost<S>>, fixed: Option<Session>) -> MemoryServer<S> {
        MemoryServer { host, fixed }
    }

    /// The session's tenant, checked as the HTTP API checks a tenant in a
    /// path: a safe name (`unsafe_name`) this host owns (`wrong_shard`).
    fn tenant(&self, context: &RequestContext<RoleServer>) -> Result<Session, ApiError> {
        let session = session_of(self.fixed.as_ref(), context)?;
        safe_name_of("tenant", &session.tenant)?;
        if let Some(shard) = &self.host.shard
            && !shard.owns(&session.tenant)
        {
            return Err(ApiError::new(
                axum::http::StatusCode::MISDIRECTED_REQUEST,
                tenant_codes::WRONG_SHARD,
                format!("this host's shard does not own `{}`", session.tenant),
            ));
        }
        Ok(session)
    }

    /// Runs `work` on the session tenant's existing directory, off the
    /// async runtime and under the gate.
    async fn with_tenant<T: Send + 'static>(
        &self,
        context: &RequestContext<RoleServer>,
        work: impl FnOnce(crate::store::TenantDir) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let session = self.tenant(context)?;
        let data = self.host.reflector.data.clone();
        let tenant = session.tenant.clone();
        self.host.blocking(&session.tenant, move || work(existing_tenant(&data, &tenant)?)).await
    }

    #[tool(
        description = "List every memory entry: name, type and one-line description. Start here to see what is remembered; then memory_read one entry or memory_search by words.",
        annotations(read_only_hint = true)
    )]
    async fn memory_list(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(ListArgs {}): Parameters<ListArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let entries = self.with_tenant(&context, |dir| Ok(dir.entries()?)).await;
        answer(entries.map(|entries| {
            let rows: Vec<Value> = entries
                .iter()
                .map(
                    |s| json!({ "name": s.entry.name, "type": s.entry.entry_type, "description": s.entry.description }),
                )
                .collect();
            json!({ "count": rows.len(), "entries": rows })
        }))
    }

    #[tool(
        description = "Read one memory entry in full: its description, type, body and when it last changed.",
        annotations(read_only_hint = true)
    )]
    async fn memory_read(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ReadArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = async {
            safe_name_of("entry", &args.name)?;
            let name = args.name.clone();
            let stored = self.with_tenant(&context, move |dir| Ok(dir.entry(&name)?)).await?;
            let stored = stored.ok_or_else(|| {
                ApiError::not_found("entry_not_found", format!("no entry `{}`; memory_list shows the names", args.name))
            })?;
            let e = &stored.entry;
            Ok(json!({
                "name": e.name, "type": e.entry_type, "description": e.description, "body": e.body,
                "updated_at_ms": stored.updated_at_ms,
            }))
        };
        answer(result.await)
    }

    #[tool(
        description = "Search memory by words, ranked by relevance (BM25 over names, descriptions and bodies; word forms match, e.g. `deploying` finds `deploy`). Returns the best entries with a score and the start of each body.",
        annotations(read_only_hint = true)
    )]
    async fn memory_search(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<SearchArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let max = self.host.settings.max_search_results;
        let limit = args.limit.map_or(10, |n| n as usize).clamp(1, max);
        let host = self.host.clone();
        let query = args.query.clone();
        let result = self.with_tenant(&context, move |dir| Ok(host.search.search(&dir, &query, limit)?)).await;
        answer(result.map(|hits| {
            let rows: Vec<Value> = hits
                .iter()
                .map(|h| {
                    json!({
                        "name": h.name, "type": h.entry_type, "description": h.description,
                        "score": h.score, "excerpt": h.excerpt,
                    })
                })
                .collect();
            json!({ "query": args.query, "count": rows.len(), "results": rows })
        }))
    }

    #[tool(
        description = "Propose changes to memory: add, update or remove entries (a remove with merge_target folds an entry into another). The tenant's policies decide each change at once; accepted changes are written, held ones wait for a person. The answer gives every change's verdict with the policy module, code and message, and what to do about a rejection (e.g. remove a credential and propose again). Never include secrets or instructions to future runs.",
        annotations(destructive_hint = true, idempotent_hint = false)
    )]
    async fn memory_propose(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ProposeArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        let result = async {
            let session = self.tenant(&context)?;
            self.host.take_proposal(&format!("{}/{}", session.tenant, session.id))?;
            let proposal = proposal_of(args)?;
            // Held for the whole flow: evaluations and commits are the
            // blocking work the gate bounds.
            let _permit = self.host.gate.enter(&session.tenant)?;
            let proposed = propose::propose(&self.host.reflector, &session.tenant, proposal, &session.id).await?;
            Ok(render::proposed(&proposed))
        };
        Ok(match result.await {
            Ok((value, text)) => {
                let mut result = CallToolResult::structured(value);
                result.content = vec![rmcp::model::ContentBlock::text(text)];
                result
            }
            Err(err) => refused(err),
        })
    }

    #[tool(
        description = "After a run finishes, ask memwarden to reflect on it: an LLM reads the activity log and proposes what to remember, through the same policies. Returns the job id at once; the job runs in the background."
    )]
    async fn reflect(
        &self,
        context: RequestContext<RoleServer>,
        Parameters(args): Parameters<ReflectArgs>,
    ) -> Result<CallToolResult, ErrorData> {
        answer(self.enqueue_reflection(&context, args).await)
    }

    async fn enqueue_reflection(
        &self,
        context: &RequestContext<RoleServer>,
        args: ReflectArgs,
    ) -> Result<Value, ApiError> {
        let session = self.tenant(context)?;
        safe_name_of("piece", &args.piece)?;
        if let Some(problem) = args.source_run.as_deref().and_then(crate::jobs::source_run_problem) {
            return Err(ApiError::unprocessable("invalid_source_run", problem));
        }
        let (data, tenant, piece) = (self.host.reflector.data.clone(), session.tenant.clone(), args.piece.clone());
        // A tenant without a directory yet runs the built-in pieces.
        let known = self
            .host
            .blocking(&session.tenant, move || match data.tenant_names()?.contains(&tenant) {
                true => Ok(data.tenant(&tenant)?.piece(&piece)?.is_some()),
                false => Ok(pieces::builtin(&piece).is_some()),
            })
            .await?;
        if !known {
            return Err(ApiError::unprocessable("unknown_piece", format!("there is no piece `{}`", args.piece)));
        }
        let outcome = match args.outcome {
            RunEnd::Succeeded => RunOutcome::Succeeded,
            RunEnd::Failed => RunOutcome::Failed,
            RunEnd::Aborted => RunOutcome::Aborted,
        };
        let payload = ReflectionPayload {
            piece: args.piece,
            outcome,
            activity_log: args.activity_log,
            source_run: args.source_run,
        };
        let log_max_bytes = self.host.reflector.settings.prompt.activity_log_max_bytes;
        let job = reflection::request(&session.tenant, payload, None, self.host.settings.max_attempts, log_max_bytes)?;
        let enqueued = self.host.reflector.jobs.enqueue_reflection(&job, now_ms()).await?;
        Ok(json!({ "job_id": enqueued.id.0, "status": "queued" }))
    }
}

/// The proposal the tool's arguments make, parsed as strictly as an LLM's
/// answer (sizes, reasoning length); over the host's change ceiling it is
/// refused whole, as `/v1/policy/eval` refuses it (`proposal_too_large`).
fn proposal_of(args: ProposeArgs) -> Result<Proposal, ApiError> {
    let max = crate::policy::HardLimits::default().max_changes;
    if args.changes.len() > max {
        return Err(ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            crate::serve::PROPOSAL_TOO_LARGE,
            format!("{} changes, over the host ceiling of {max}; propose fewer at once", args.changes.len()),
        ));
    }
    let changes: Vec<MemoryChange> = args
        .changes
        .into_iter()
        .map(|c| MemoryChange {
            op: match c.op {
                ChangeOp::Add => Op::Add,
                ChangeOp::Update => Op::Update,
                ChangeOp::Remove => Op::Remove,
            },
            name: c.name,
            description: c.description,
            entry_type: c.entry_type.and_then(|t| serde_json::to_value(t).ok()?.as_str().map(str::to_string)),
            body: c.body,
            merge_target: c.merge_target,
        })
        .collect();
    let text = serde_json::to_string(&json!({ "reasoning": args.reason, "memory_changes": changes }))
        .map_err(|err| ApiError::unprocessable("invalid_proposal", err.to_string()))?;
    Proposal::from_json(&text).map_err(|err| ApiError::unprocessable("invalid_proposal", err.to_string()))
}

/// `memory://MEMORY.md` and `memory://{name}`.
const INDEX_URI: &str = "memory://MEMORY.md";

#[tool_handler]
impl<S: JobStore + 'static> ServerHandler for MemoryServer<S> {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().enable_resources().build())
            .with_server_info(Implementation::new("memwarden", env!("CARGO_PKG_VERSION")))
            .with_instructions(
                "Long-term memory for this user and project, guarded by policies. Read with memory_list, \
                 memory_read and memory_search; write only through memory_propose, and read its verdicts: \
                 a rejected change says why and what to change. Never store credentials.",
            )
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let entries = self.with_tenant(&context, |dir| Ok(dir.entries()?)).await.map_err(resource_error)?;
        let mut resources = vec![
            Resource::new(INDEX_URI, "MEMORY.md")
                .with_description("The index: one line per entry")
                .with_mime_type("text/markdown"),
        ];
        resources.extend(entries.iter().map(|s| {
            Resource::new(format!("memory://{}", s.entry.name), s.entry.name.clone())
                .with_description(s.entry.description.clone())
                .with_mime_type("text/markdown")
        }));
        Ok(ListResourcesResult::with_all_items(resources))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let template = ResourceTemplate::new("memory://{name}", "memory entry")
            .with_description("One memory entry as markdown with its front matter")
            .with_mime_type("text/markdown");
        Ok(ListResourceTemplatesResult::with_all_items(vec![template]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.clone();
        let Some(name) = uri.strip_prefix("memory://").map(str::to_string) else {
            return Err(ErrorData::invalid_params(format!("unknown resource `{uri}`: use memory://{{name}}"), None));
        };
        if name != "MEMORY.md" {
            safe_name_of("entry", &name).map_err(|err| resource_error(err.into()))?;
        }
        let wanted = name.clone();
        let text = self
            .with_tenant(&context, move |dir| match wanted.as_str() {
                "MEMORY.md" => Ok(dir.read_file(&TenantFile::MemoryIndex)?),
                // `entry` leaves out what a merge superseded (issue 12).
                _ => Ok(dir.entry(&wanted)?.map(|stored| stored.entry.to_markdown())),
            })
            .await
            .map_err(resource_error)?;
        let text = text.ok_or_else(|| ErrorData::resource_not_found(format!("entry_not_found: no `{uri}`"), None))?;
        let contents = ResourceContents::text(text, uri).with_mime_type("text/markdown");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }
}

/// A refusal as a protocol error, its code first in the message.
fn resource_error(err: ApiError) -> ErrorData {
    let message = format!("{}: {}", err.code, err.message);
    match err.code {
        "entry_not_found" | tenant_codes::TENANT_NOT_FOUND => ErrorData::resource_not_found(message, None),
        _ if err.status.is_client_error() => ErrorData::invalid_params(message, None),
        _ => ErrorData::internal_error(message, None),
    }
}
