//! `memwarden mcp --tenant T`: an MCP memory server on standard input and
//! output for one local agent (issue 14). The operator names the tenant;
//! the agent cannot. Standard output carries only the protocol: every log
//! line goes to standard error.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Args;
use memwarden::config::RawConfig;
use memwarden::mcp::{self, McpHost};

#[derive(Debug, Args)]
pub(crate) struct McpArgs {
    /// The tenant whose memory this server serves.
    #[arg(long)]
    tenant: String,
}

pub(crate) async fn mcp(config: &RawConfig, args: &McpArgs) -> anyhow::Result<ExitCode> {
    memwarden::store::safe_name_of("tenant", &args.tenant)?;
    let shard = config.shard()?;
    if let Some(shard) = &shard
        && !shard.owns(&args.tenant)
    {
        anyhow::bail!("this host's shard does not own `{}`", args.tenant);
    }
    let reflector = Arc::new(config.resolve().await?);
    // Packs change without a restart here too: SIGHUP, or `packs.watch`.
    memwarden::packs::reload_on_sighup(reflector.packs.clone());
    if config.packs.watch {
        let period = std::time::Duration::from_secs(config.packs.watch_seconds.max(1));
        memwarden::packs::watch(reflector.packs.clone(), period);
    }
    let host = Arc::new(McpHost::new(reflector, config.serve.gate(), shard, config.mcp_settings()));
    mcp::serve_stdio(host, &args.tenant).await?;
    Ok(ExitCode::SUCCESS)
}
