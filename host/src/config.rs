//! Host configuration: a YAML file, then environment overrides, then flags.
//!
//! Two stages, as for rule packs: [`RawConfig`] is the file as written and
//! only validates — its shape, and every number's range
//! ([`RawConfig::validate`]) —; [`RawConfig::resolve`] does the I/O — opens
//! the data directory and the job store, loads every rule pack, builds the
//! LLM client — so a bad setting fails at start, not at the first job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use serde::Deserialize;

use crate::consolidation::{Consolidator, InputLimits, Settings as ConsolidationSettings, WindowLimits};
use crate::jobs::{AnyJobStore, Shard, ShardError};
use crate::llm::{LlmClient, OpenAiClient, OpenAiConfig, ScriptedProvider};
use crate::policy::{HostRules, ModuleCeilings, PackError, PackMap, PolicyEngine, PublicKey, SandboxLimits, Trust};
use crate::reflection::{PromptLimits, Reflector, Settings};
use crate::store::DataDir;
use crate::worker;

/// The configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawConfig {
    /// Where tenants' files live.
    pub data_dir: PathBuf,
    /// The job store URL (`sqlite://…` or `postgres://…`); default
    /// `sqlite://<data_dir>/jobs.db`.
    pub database: Option<String>,
    /// The rule pack every tenant uses: a built-in name or a file.
    pub pack: String,
    /// A tenant → pack map file; overrides `pack`.
    pub pack_map: Option<PathBuf>,
    /// Where compiled policy modules are cached; default `<data_dir>/cache/modules`.
    pub module_cache: Option<PathBuf>,
    /// What rule packs may do, for every tenant.
    pub policy: PolicySection,
    /// How running hosts pick up changed packs.
    pub packs: PacksSection,
    /// The LLM.
    pub llm: LlmSection,
    /// Workers.
    pub worker: WorkerSection,
    /// The reflection flow.
    pub reflection: ReflectionSection,
    /// The consolidation flow.
    pub consolidation: ConsolidationSection,
    /// `memwarden serve`.
    pub serve: ServeSection,
    /// The MCP server: `memwarden mcp` and `/mcp` (issue 14).
    pub mcp: McpSection,
    /// The tenants this host owns, when hosts share the job database but
    /// each has a data directory of its own (issue 9, item 3).
    pub shard: Option<ShardSection>,
    /// Whether every worker on the job database uses this same data
    /// directory (a shared mount, or a single host). With PostgreSQL and
    /// no `shard`, it must be `true`, or the host refuses to start.
    pub data_dir_shared: Option<bool>,
}

/// `shard:`: the tenants a host owns. Its workers claim only their jobs;
/// its API answers `421 wrong_shard` for the others.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShardSection {
    /// The owned tenants.
    pub tenants: Vec<String>,
}

/// `packs:`: reloading rule packs while the host runs, and which keys
/// must have signed them (issue 13). SIGHUP and `POST
/// /v1/admin/packs/reload` always work; `watch` also reloads when what the
/// packs load from changes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PacksSection {
    /// Reload when the packs' files change (checked every `watch_seconds`).
    pub watch: bool,
    /// How often to check.
    pub watch_seconds: u64,
    /// Keys trusted for every tenant: a public key file, or a key inline
    /// (`ed25519:<hex>`). With any, every tenant runs only packs signed by
    /// one of them.
    pub trusted_keys: Vec<String>,
    /// Keys trusted for one tenant, on top of the global ones: that tenant
    /// runs only packs signed by one of them.
    pub tenants: BTreeMap<String, TenantPacksSection>,
}

/// `packs.tenants.<tenant>:`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantPacksSection {
    /// As `packs.trusted_keys`, for this tenant alone.
    pub trusted_keys: Vec<String>,
}

impl Default for PacksSection {
    fn default() -> Self {
        PacksSection { watch: false, watch_seconds: 2, trusted_keys: Vec::new(), tenants: BTreeMap::new() }
    }
}

impl PacksSection {
    /// The trusted keys, read now (key files are read again on each
    /// reload, so a key can be replaced without a restart), with the time
    /// now for expiries.
    pub fn trust(&self) -> Result<Trust, PackError> {
        let global = self.trusted_keys.iter().map(|key| read_key(key)).collect::<Result<_, _>>()?;
        let mut tenants = BTreeMap::new();
        for (tenant, section) in &self.tenants {
            let keys = section.trusted_keys.iter().map(|key| read_key(key)).collect::<Result<_, _>>()?;
            tenants.insert(tenant.clone(), keys);
        }
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        Ok(Trust::new(global, tenants, now))
    }
}

/// A trusted key: inline (`ed25519:<hex>`), or the path of a key file.
fn read_key(key: &str) -> Result<PublicKey, PackError> {
    let invalid = |message: String| PackError::Key { key: key.to_string(), message };
    let text = match key.starts_with("ed25519:") {
        true => key.to_string(),
        false => std::fs::read_to_string(key).map_err(|err| invalid(format!("cannot read it: {err}")))?,
    };
    PublicKey::parse(&text).map_err(|err| invalid(format!("not a memwarden public key: {err}")))
}

/// `policy:`: the operator's switches over every rule pack (issue 9).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicySection {
    /// Let a pack set `mode: audit` as a whole. Off: audit is set per module,
    /// on the rule being tried. Either way the core guards (secrets,
    /// single-line descriptions, size limits, piece widening) enforce.
    pub pack_audit: bool,
    /// Let a run edit any piece, not only the one it ran (`piece_not_own`).
    pub edit_any_piece: bool,
    /// The most fuel a pack's `limits:` may give one module per call
    /// (default 2.5 G, ten times the default).
    pub max_module_fuel: Option<u64>,
    /// The most memory a pack's `limits:` may give one module, in MiB
    /// (default 256; more than 256 is capped by the engine's pool).
    pub max_module_memory_mib: Option<u32>,
    /// The longest wall-clock deadline a pack's `limits:` may give one
    /// module per call, in ms (default 10 000).
    pub max_module_deadline_ms: Option<u64>,
}

impl PolicySection {
    /// The host rules these switches make.
    pub fn host_rules(&self) -> HostRules {
        let defaults = ModuleCeilings::default();
        let module_ceilings = ModuleCeilings {
            fuel: self.max_module_fuel.unwrap_or(defaults.fuel),
            memory_bytes: self.max_module_memory_mib.map_or(defaults.memory_bytes, |mib| (mib as usize) << 20),
            deadline: self.max_module_deadline_ms.map_or(defaults.deadline, std::time::Duration::from_millis),
        };
        HostRules {
            pack_audit: self.pack_audit,
            edit_any_piece: self.edit_any_piece,
            module_ceilings,
            ..HostRules::default()
        }
    }
}

/// `serve:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServeSection {
    /// Address to listen on.
    pub listen: String,
    /// Name of the environment variable holding the admin key.
    pub admin_key_env: String,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Run a worker in the same process.
    pub workers: bool,
    /// Connections open at once; at the cap, new ones wait.
    pub max_connections: usize,
    /// Time a connection has to send a whole request head.
    pub header_read_timeout_seconds: u64,
    /// Time to answer a request, reading its body included.
    pub request_timeout_seconds: u64,
    /// Evaluations and tenant-store requests in flight in the process;
    /// more are `503 server_busy`.
    pub max_blocking: usize,
    /// The same for one tenant; more are `429 tenant_busy`.
    pub max_blocking_per_tenant: usize,
}

impl Default for ServeSection {
    fn default() -> Self {
        let http = crate::serve::HttpLimits::default();
        ServeSection {
            listen: "127.0.0.1:8080".to_string(),
            admin_key_env: "MEMWARDEN_ADMIN_KEY".to_string(),
            max_body_bytes: 1024 * 1024,
            workers: true,
            max_connections: http.max_connections,
            header_read_timeout_seconds: http.header_read_timeout.as_secs(),
            request_timeout_seconds: http.request_timeout.as_secs(),
            max_blocking: 32,
            max_blocking_per_tenant: 8,
        }
    }
}

impl ServeSection {
    /// The listener's bounds.
    pub fn http_limits(&self) -> crate::serve::HttpLimits {
        crate::serve::HttpLimits {
            max_connections: self.max_connections,
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            request_timeout: Duration::from_secs(self.request_timeout_seconds),
        }
    }

    /// The gate on blocking work.
    pub fn gate(&self) -> crate::serve::Gate {
        crate::serve::Gate::new(self.max_blocking, self.max_blocking_per_tenant)
    }
}

/// `mcp:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct McpSection {
    /// `memory_propose` calls one session may make a minute (0: no limit).
    pub proposals_per_minute: u32,
    /// Largest MCP request, in bytes: an HTTP body or a stdio line.
    pub max_request_bytes: usize,
    /// Entries `memory_search` returns at most.
    pub max_search_results: usize,
}

impl Default for McpSection {
    fn default() -> Self {
        let settings = crate::mcp::McpSettings::default();
        McpSection {
            proposals_per_minute: settings.proposals_per_minute,
            max_request_bytes: settings.max_request_bytes,
            max_search_results: settings.max_search_results,
        }
    }
}

/// `llm:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LlmSection {
    /// `openai` (any OpenAI-compatible endpoint) or `scripted`.
    pub provider: String,
    /// Endpoint base URL, up to `/v1`.
    pub base_url: String,
    /// Name of the environment variable holding the API key.
    pub api_key_env: String,
    /// The model.
    pub model: String,
    /// Per-request timeout.
    pub timeout_seconds: u64,
    /// Answer budget.
    pub max_output_tokens: u32,
    /// The model's context window.
    pub context_window_tokens: usize,
    /// Retries after the first attempt (connect errors, 429, 5xx).
    pub max_retries: u32,
    /// First retry delay, in ms (doubles, with jitter).
    pub initial_backoff_millis: u64,
    /// Attribute requests to tenants.
    pub gateway: bool,
    /// Answers file, for `provider: scripted`.
    pub script: Option<PathBuf>,
    /// Largest answer body read, in bytes; a longer one is `llm_bad_response`.
    pub max_response_bytes: usize,
}

/// `worker:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkerSection {
    /// Jobs run at once by one worker process.
    pub concurrency: usize,
    /// Lease per claim.
    pub lease_seconds: u64,
    /// Heartbeat period while the LLM works.
    pub heartbeat_seconds: u64,
    /// Sleep when the queue is empty.
    pub poll_millis: u64,
    /// Attempts per job before it is dead.
    pub max_attempts: u32,
    /// Delay before a failed job is retried.
    pub retry_delay_seconds: u64,
}

/// `reflection:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReflectionSection {
    /// Bytes of activity log sent, from its end.
    pub activity_log_max_bytes: usize,
    /// Keep the LLM's raw answer in snapshots.
    pub keep_raw_output: bool,
    /// How long a held change waits for a reviewer before it expires as
    /// denied (default 7 days).
    pub review_expire_after_hours: u64,
}

/// `consolidation:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsolidationSection {
    /// Workers consolidate dirty tenants on their own.
    pub enabled: bool,
    /// At least this long between two consolidation starts of one tenant.
    pub min_interval_seconds: u64,
    /// How often a worker looks for dirty tenants.
    pub check_seconds: u64,
    /// Entries shown, most recently changed first.
    pub max_entries: usize,
    /// Reflection notes shown, newest first.
    pub max_notes: usize,
    /// Attempts per input before waiting for new input.
    pub max_attempts: u32,
    /// Delay before a failed consolidation is retried.
    pub retry_delay_seconds: u64,
}

impl Default for ConsolidationSection {
    fn default() -> Self {
        let inputs = InputLimits::default();
        ConsolidationSection {
            enabled: true,
            min_interval_seconds: 600,
            check_seconds: 5,
            max_entries: inputs.max_entries,
            max_notes: inputs.max_notes,
            max_attempts: 3,
            retry_delay_seconds: 60,
        }
    }
}

impl Default for RawConfig {
    fn default() -> Self {
        RawConfig {
            data_dir: PathBuf::from("memwarden-data"),
            database: None,
            pack: "default".to_string(),
            pack_map: None,
            module_cache: None,
            policy: PolicySection::default(),
            packs: PacksSection::default(),
            llm: LlmSection::default(),
            worker: WorkerSection::default(),
            reflection: ReflectionSection::default(),
            consolidation: ConsolidationSection::default(),
            serve: ServeSection::default(),
            mcp: McpSection::default(),
            shard: None,
            data_dir_shared: None,
        }
    }
}

impl Default for LlmSection {
    fn default() -> Self {
        let openai = OpenAiConfig::default();
        LlmSection {
            provider: "openai".to_string(),
            base_url: openai.base_url,
            api_key_env: "OPENAI_API_KEY".to_string(),
            model: openai.model,
            timeout_seconds: openai.timeout.as_secs(),
            max_output_tokens: openai.max_output_tokens,
            context_window_tokens: PromptLimits::default().context_window_tokens,
            max_retries: openai.max_retries,
            initial_backoff_millis: openai.initial_backoff.as_millis() as u64,
            gateway: false,
            script: None,
            max_response_bytes: openai.max_response_bytes,
        }
    }
}

impl Default for WorkerSection {
    fn default() -> Self {
        WorkerSection {
            concurrency: 2,
            lease_seconds: 60,
            heartbeat_seconds: 15,
            poll_millis: 250,
            max_attempts: 3,
            retry_delay_seconds: 30,
        }
    }
}

impl Default for ReflectionSection {
    fn default() -> Self {
        ReflectionSection {
            activity_log_max_bytes: PromptLimits::default().activity_log_max_bytes,
            keep_raw_output: false,
            review_expire_after_hours: 7 * 24,
        }
    }
}

/// The range of every numeric setting, checked by [`RawConfig::validate`].
pub mod limits {
    /// Largest `worker.concurrency` (and `--concurrency`): jobs are
    /// LLM-bound, ~16 per core is plenty.
    pub const CONCURRENCY_MAX: u64 = 1024;
    /// Smallest `llm.context_window_tokens`: the system prompt alone takes
    /// ~600 tokens.
    pub const CONTEXT_WINDOW_MIN_TOKENS: usize = 2048;
    /// Tokens a context window must keep for the prompt beside the answer.
    pub const PROMPT_MIN_TOKENS: usize = 1024;
    /// Smallest `llm.max_output_tokens`: room for a small proposal.
    pub const OUTPUT_MIN_TOKENS: u32 = 64;
    /// Smallest `serve.max_body_bytes`: room for a small enqueue.
    pub const BODY_MIN_BYTES: usize = 1024;
    /// Largest `serve.max_body_bytes`.
    pub const BODY_MAX_BYTES: usize = 64 * 1024 * 1024;
    /// Smallest `llm.max_response_bytes`.
    pub const RESPONSE_MIN_BYTES: usize = 64 * 1024;
    /// Largest `llm.max_response_bytes`.
    pub const RESPONSE_MAX_BYTES: usize = 256 * 1024 * 1024;
    /// Largest `reflection.activity_log_max_bytes`.
    pub const ACTIVITY_LOG_MAX_BYTES: usize = 16 * 1024 * 1024;
    /// Longest delay or period in seconds: one day.
    pub const DAY_SECONDS: u64 = 24 * 60 * 60;
    /// Most attempts per job.
    pub const ATTEMPTS_MAX: u32 = 100;
    /// Largest `serve.max_connections`.
    pub const CONNECTIONS_MAX: usize = 65_536;
    /// Largest `serve.max_blocking` and `serve.max_blocking_per_tenant`.
    pub const BLOCKING_MAX: usize = 4096;
    /// Longest `serve.header_read_timeout_seconds`.
    pub const HEADER_READ_MAX_SECONDS: u64 = 300;
}

/// Why a configuration is refused: one line naming the setting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A number outside its range.
    #[error("`{setting}` is {value}; it must be {expected}")]
    OutOfRange {
        /// The setting, e.g. `worker.lease_seconds`.
        setting: &'static str,
        /// Its value.
        value: String,
        /// What it must be, e.g. `between 1 and 1024`.
        expected: String,
    },
    /// `shard.tenants` is empty or names an unsafe tenant.
    #[error("`shard.tenants`: {0}")]
    Shard(#[from] ShardError),
    /// A worker would apply other hosts' tenants to its own data directory:
    /// PostgreSQL, no shard, and a data directory not declared shared.
    #[error(
        "the job database is PostgreSQL, which other hosts may share, but no `shard` is set and \
         `data_dir_shared` is not true: a worker here would apply other hosts' tenants to this data \
         directory; set `shard.tenants` to the tenants this host owns, or `data_dir_shared: true` if \
         every host on this database uses this data directory"
    )]
    PrivateDataDirUnsharded,
    /// `packs.tenants` names a tenant that is not a safe name.
    #[error("`packs.tenants`: tenant `{tenant}` {problem}")]
    PacksTenant {
        /// The name.
        tenant: String,
        /// Why it is refused.
        problem: &'static str,
    },
}

impl ConfigError {
    /// Stable code of this error.
    pub fn code(&self) -> &'static str {
        "config_invalid"
    }
}

/// Refuses `value` of `setting` unless it lies in `min..=max`.
fn in_range<T: PartialOrd + std::fmt::Display>(
    setting: &'static str,
    value: T,
    min: T,
    max: T,
) -> Result<(), ConfigError> {
    if min <= value && value <= max {
        return Ok(());
    }
    Err(ConfigError::OutOfRange { setting, value: value.to_string(), expected: format!("between {min} and {max}") })
}

/// Refuses `value` of `setting` unless it is at least `min`, for `why`.
fn at_least<T: PartialOrd + std::fmt::Display>(
    setting: &'static str,
    value: T,
    min: T,
    why: impl std::fmt::Display,
) -> Result<(), ConfigError> {
    if value >= min {
        return Ok(());
    }
    Err(ConfigError::OutOfRange { setting, value: value.to_string(), expected: format!("at least {min} ({why})") })
}

/// Environment variables that override the file, each with its setting.
pub const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("MEMWARDEN_DATA_DIR", "data_dir"),
    ("MEMWARDEN_DB", "database"),
    ("MEMWARDEN_PACK", "pack"),
    ("MEMWARDEN_LLM_PROVIDER", "llm.provider"),
    ("MEMWARDEN_LLM_BASE_URL", "llm.base_url"),
    ("MEMWARDEN_LLM_MODEL", "llm.model"),
    ("MEMWARDEN_LLM_SCRIPT", "llm.script"),
];

impl RawConfig {
    /// Reads `path` (if given), then applies the environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<RawConfig> {
        let mut config = match path {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read config `{}`", path.display()))?;
                // The error quotes at most a little of the file (issue 9).
                serde_norway::from_str(&text)
                    .map_err(|err| anyhow::anyhow!(crate::messages::parse_error(&err)))
                    .with_context(|| format!("config `{}` is not valid", path.display()))?
            }
            None => RawConfig::default(),
        };
        for (var, _) in ENV_OVERRIDES {
            if let Ok(value) = std::env::var(var) {
                config.set(var, value);
            }
        }
        match path {
            Some(path) => config.validate().with_context(|| format!("config `{}` is not valid", path.display()))?,
            None => config.validate().context("the configuration is not valid")?,
        }
        Ok(config)
    }

    /// Checks every numeric setting's range, and the lease against the
    /// heartbeat: a lease shorter than two heartbeats lapses while its
    /// worker is alive, and another worker asks the LLM again (issue 9).
    /// Reports the first setting out of range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use limits::*;
        let (llm, worker) = (&self.llm, &self.worker);
        in_range("llm.timeout_seconds", llm.timeout_seconds, 1, 3600)?;
        in_range("llm.context_window_tokens", llm.context_window_tokens, CONTEXT_WINDOW_MIN_TOKENS, 100_000_000)?;
        in_range("llm.max_output_tokens", llm.max_output_tokens, OUTPUT_MIN_TOKENS, 10_000_000)?;
        let room = llm.context_window_tokens.saturating_sub(PROMPT_MIN_TOKENS);
        if llm.max_output_tokens as usize > room {
            return Err(ConfigError::OutOfRange {
                setting: "llm.max_output_tokens",
                value: llm.max_output_tokens.to_string(),
                expected: format!(
                    "at most {room} (`llm.context_window_tokens` {} less {PROMPT_MIN_TOKENS} for the prompt)",
                    llm.context_window_tokens
                ),
            });
        }
        in_range("llm.max_retries", llm.max_retries, 0, 20)?;
        in_range("llm.initial_backoff_millis", llm.initial_backoff_millis, 0, 60_000)?;
        in_range("llm.max_response_bytes", llm.max_response_bytes, RESPONSE_MIN_BYTES, RESPONSE_MAX_BYTES)?;
        in_range("worker.concurrency", worker.concurrency as u64, 1, CONCURRENCY_MAX)?;
        in_range("worker.heartbeat_seconds", worker.heartbeat_seconds, 1, DAY_SECONDS / 2)?;
        let heartbeats = format!("twice `worker.heartbeat_seconds`, {}", worker.heartbeat_seconds);
        at_least("worker.lease_seconds", worker.lease_seconds, 2 * worker.heartbeat_seconds, heartbeats)?;
        in_range("worker.lease_seconds", worker.lease_seconds, 2, DAY_SECONDS)?;
        in_range("worker.poll_millis", worker.poll_millis, 10, 60_000)?;
        in_range("worker.max_attempts", worker.max_attempts, 1, ATTEMPTS_MAX)?;
        in_range("worker.retry_delay_seconds", worker.retry_delay_seconds, 0, DAY_SECONDS)?;
        let log = self.reflection.activity_log_max_bytes;
        in_range("reflection.activity_log_max_bytes", log, 1, ACTIVITY_LOG_MAX_BYTES)?;
        let consolidation = &self.consolidation;
        in_range("consolidation.min_interval_seconds", consolidation.min_interval_seconds, 0, 7 * DAY_SECONDS)?;
        in_range("consolidation.check_seconds", consolidation.check_seconds, 1, DAY_SECONDS)?;
        in_range("consolidation.max_entries", consolidation.max_entries, 1, 100_000)?;
        in_range("consolidation.max_notes", consolidation.max_notes, 0, 100_000)?;
        in_range("consolidation.max_attempts", consolidation.max_attempts, 1, ATTEMPTS_MAX)?;
        in_range("consolidation.retry_delay_seconds", consolidation.retry_delay_seconds, 0, DAY_SECONDS)?;
        in_range("serve.max_body_bytes", self.serve.max_body_bytes, BODY_MIN_BYTES, BODY_MAX_BYTES)?;
        let serve = &self.serve;
        in_range("serve.max_connections", serve.max_connections, 1, CONNECTIONS_MAX)?;
        in_range("serve.header_read_timeout_seconds", serve.header_read_timeout_seconds, 1, HEADER_READ_MAX_SECONDS)?;
        in_range("serve.request_timeout_seconds", serve.request_timeout_seconds, 1, DAY_SECONDS)?;
        in_range("serve.max_blocking", serve.max_blocking, 1, BLOCKING_MAX)?;
        in_range("serve.max_blocking_per_tenant", serve.max_blocking_per_tenant, 1, serve.max_blocking)?;
        let mcp = &self.mcp;
        in_range("mcp.proposals_per_minute", u64::from(mcp.proposals_per_minute), 0, 100_000)?;
        in_range("mcp.max_request_bytes", mcp.max_request_bytes, BODY_MIN_BYTES, BODY_MAX_BYTES)?;
        in_range("mcp.max_search_results", mcp.max_search_results, 1, 1000)?;
        self.shard()?;
        for tenant in self.packs.tenants.keys() {
            if let Some(problem) = crate::names::name_problem(tenant) {
                return Err(ConfigError::PacksTenant { tenant: tenant.clone(), problem });
            }
        }
        Ok(())
    }

    /// The MCP server's settings.
    pub fn mcp_settings(&self) -> crate::mcp::McpSettings {
        crate::mcp::McpSettings {
            proposals_per_minute: self.mcp.proposals_per_minute,
            max_request_bytes: self.mcp.max_request_bytes,
            max_attempts: self.max_attempts(),
            max_search_results: self.mcp.max_search_results,
        }
    }

    /// The shard this host owns, if `shard` is set.
    pub fn shard(&self) -> Result<Option<Shard>, ConfigError> {
        self.shard.as_ref().map(|section| Shard::new(section.tenants.iter().cloned())).transpose().map_err(Into::into)
    }

    /// Refuses the one layout that splits a tenant across hosts (issue 9,
    /// item 3): a job database other hosts may share (PostgreSQL), no
    /// shard, and a data directory not declared shared — its workers would
    /// claim any tenant's job and apply it to this host's directory.
    /// SQLite serves one machine, so any layout is safe with it.
    pub fn check_layout(&self) -> Result<(), ConfigError> {
        let url = self.database_url();
        let shared_database = url.starts_with("postgres://") || url.starts_with("postgresql://");
        if shared_database && self.shard.is_none() && self.data_dir_shared != Some(true) {
            return Err(ConfigError::PrivateDataDirUnsharded);
        }
        Ok(())
    }

    fn set(&mut self, var: &str, value: String) {
        match var {
            "MEMWARDEN_DATA_DIR" => self.data_dir = value.into(),
            "MEMWARDEN_DB" => self.database = Some(value),
            "MEMWARDEN_PACK" => self.pack = value,
            "MEMWARDEN_LLM_PROVIDER" => self.llm.provider = value,
            "MEMWARDEN_LLM_BASE_URL" => self.llm.base_url = value,
            "MEMWARDEN_LLM_MODEL" => self.llm.model = value,
            "MEMWARDEN_LLM_SCRIPT" => self.llm.script = Some(value.into()),
            _ => {}
        }
    }

    /// The job store URL.
    pub fn database_url(&self) -> String {
        self.database.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("jobs.db").display()))
    }

    /// Opens everything the config names, once it is valid.
    pub async fn resolve(&self) -> anyhow::Result<Reflector<AnyJobStore>> {
        // Again: flags and callers may have changed it since `load`.
        self.validate().context("the configuration is not valid")?;
        self.check_layout().context("the configuration is not valid")?;
        let data = DataDir::open(&self.data_dir)
            .with_context(|| format!("cannot open the data directory `{}`", self.data_dir.display()))?;
        let url = self.database_url();
        let jobs = AnyJobStore::open(&url).await.with_context(|| format!("cannot open the job store `{url}`"))?;
        let jobs = jobs.with_shard(self.shard()?);
        let cache = self.module_cache.clone().unwrap_or_else(|| self.data_dir.join("cache").join("modules"));
        let engine = PolicyEngine::with_options(SandboxLimits::default(), Some(&cache))
            .context("cannot start the policy engine")?;
        let packs = self.load_packs(&engine)?;
        let loader: crate::packs::Loader = {
            let config = self.clone();
            Box::new(move || config.load_packs(&engine))
        };
        let revisions = crate::trust::Revisions::open(&self.data_dir)?;
        let packs = crate::packs::Packs::reloadable(packs, loader, revisions)?;
        let llm = self.llm_client()?;
        let settings = Settings {
            worker: format!("{}-{}", hostname(), std::process::id()),
            lease: Duration::from_secs(self.worker.lease_seconds),
            heartbeat: Duration::from_secs(self.worker.heartbeat_seconds),
            retry_delay: Duration::from_secs(self.worker.retry_delay_seconds),
            prompt: PromptLimits {
                activity_log_max_bytes: self.reflection.activity_log_max_bytes,
                context_window_tokens: self.llm.context_window_tokens,
                max_output_tokens: self.llm.max_output_tokens as usize,
            },
            keep_raw_output: self.reflection.keep_raw_output,
            consolidation_attempts: self.consolidation.max_attempts.max(1),
            review_expire_after: Duration::from_secs(self.reflection.review_expire_after_hours.saturating_mul(3600)),
        };
        let indexes = Arc::default();
        Ok(Reflector { jobs, data: Arc::new(data), packs: Arc::new(packs), llm: Arc::new(llm), indexes, settings })
    }

    /// Every pack the config names, loaded and checked afresh: at start,
    /// and again on each reload. A tenant that trusts keys (`packs.trusted_keys`, `packs.tenants`)
    /// gets its pack only if one of them signed it.
    pub fn load_packs(&self, engine: &PolicyEngine) -> anyhow::Result<PackMap> {
        let rules = self.policy.host_rules();
        let trust = self.packs.trust()?;
        let map = match &self.pack_map {
            Some(map) => PackMap::load_trusted(engine, map, rules, &trust)?,
            None => {
                let map = PackMap::single_trusted(engine, &self.pack, rules, &trust)?;
                if map.default_pack().modules().next().is_none() {
                    // Loads, but only the host checks guard the writes.
                    tracing::warn!(pack = %self.pack, "the rule pack has no modules: only the host's own checks apply");
                }
                map
            }
        };
        self.archive_packs(&map)?;
        Ok(map)
    }

    /// Keeps every pack of `map` in the policy archive (see
    /// [`crate::replay::archive_packs`]).
    fn archive_packs(&self, map: &PackMap) -> anyhow::Result<()> {
        let data = DataDir::open(&self.data_dir)?;
        crate::replay::archive_packs(&data, map).context("cannot keep the packs in the policy archive")
    }

    /// The consolidation flow, sharing `reflector`'s store, packs and LLM.
    pub fn consolidator(&self, reflector: &Reflector<AnyJobStore>) -> Consolidator<AnyJobStore> {
        let settings = ConsolidationSettings {
            worker: reflector.settings.worker.clone(),
            lease: reflector.settings.lease,
            heartbeat: reflector.settings.heartbeat,
            retry_delay: Duration::from_secs(self.consolidation.retry_delay_seconds),
            inputs: InputLimits {
                max_entries: self.consolidation.max_entries,
                max_notes: self.consolidation.max_notes,
            },
            window: WindowLimits {
                context_window_tokens: self.llm.context_window_tokens,
                max_output_tokens: self.llm.max_output_tokens as usize,
            },
            keep_raw_output: self.reflection.keep_raw_output,
            review_expire_after: reflector.settings.review_expire_after,
        };
        Consolidator {
            jobs: reflector.jobs.clone(),
            data: reflector.data.clone(),
            packs: reflector.packs.clone(),
            llm: reflector.llm.clone(),
            indexes: reflector.indexes.clone(),
            settings,
        }
    }

    fn llm_client(&self) -> anyhow::Result<LlmClient> {
        match self.llm.provider.as_str() {
            "scripted" => {
                let path =
                    self.llm.script.as_ref().context("llm.provider is `scripted` but llm.script names no file")?;
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read LLM script `{}`", path.display()))?;
                let script = ScriptedProvider::from_yaml(&text)
                    .map_err(|err| anyhow::anyhow!("LLM script `{}` is not valid: {err}", path.display()))?;
                Ok(LlmClient::Scripted(script))
            }
            "openai" => {
                let config = OpenAiConfig {
                    base_url: self.llm.base_url.clone(),
                    // Trimmed, as the admin key is: a key file's newline is no part of it.
                    api_key: crate::serve::key_from_env(&self.llm.api_key_env),
                    model: self.llm.model.clone(),
                    timeout: Duration::from_secs(self.llm.timeout_seconds.max(1)),
                    max_output_tokens: self.llm.max_output_tokens,
                    max_retries: self.llm.max_retries,
                    initial_backoff: Duration::from_millis(self.llm.initial_backoff_millis),
                    max_backoff: Duration::from_secs(30),
                    gateway: self.llm.gateway,
                    max_response_bytes: self.llm.max_response_bytes,
                };
                Ok(LlmClient::OpenAi(OpenAiClient::new(config)?))
            }
            other => anyhow::bail!("unknown llm.provider `{other}` (openai or scripted)"),
        }
    }

    /// How a worker runs, with the command line's overrides.
    pub fn worker_options(&self, concurrency: Option<usize>, drain: bool) -> worker::Options {
        let schedule = worker::Schedule {
            check: Duration::from_secs(self.consolidation.check_seconds.max(1)),
            min_interval: Duration::from_secs(self.consolidation.min_interval_seconds),
        };
        worker::Options {
            concurrency: concurrency.unwrap_or(self.worker.concurrency).max(1),
            poll: Duration::from_millis(self.worker.poll_millis.max(10)),
            drain,
            consolidation: self.consolidation.enabled.then_some(schedule),
        }
    }

    /// Attempts a new job gets.
    pub fn max_attempts(&self) -> u32 {
        self.worker.max_attempts.max(1)
    }
}

fn hostname() -> String {
    rustix::system::uname().nodename().to_string_lossy().into_owned()
}
