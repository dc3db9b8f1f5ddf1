//! The operator's tenant list — entries, jobs in the last 24 hours, held
//! changes waiting, share of changes rejected — and a tenant's policy: the
//! rule pack in force (modules, versions, sha256, mode, config) with a
//! chart of rejections by code over the last 7 days, drawn on the server
//! as SVG (no script).

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use maud::{Markup, html};

use super::layout::{self, Nav, Section};
use super::{Console, PageResult, Viewer};
use crate::jobs::{JobStore, ReviewStatus};
use crate::reflection::now_ms;
use crate::serve::tenants::{check_tenant, existing_tenant};
use crate::serve::{ApiError, gated};

/// Windows of the summaries, in ms.
mod windows {
    /// "Jobs in the last 24 h".
    pub const DAY_MS: u64 = 24 * 3600 * 1000;
    /// The rejection rate and the chart.
    pub const WEEK_MS: u64 = 7 * DAY_MS;
}

/// One tenant's line in the list.
struct Summary {
    name: String,
    entries: usize,
    jobs_24h: usize,
    held: usize,
    /// Changes rejected of changes decided, over the last week.
    rejected: (usize, usize),
}

/// `GET /ui/tenants` (admin key only).
pub async fn tenants<S: JobStore>(State(console): State<Arc<Console<S>>>, viewer: Viewer) -> PageResult {
    if viewer.caller.tenant().is_some() {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "only the admin key lists tenants").into());
    }
    let data = console.api.reflector.data.clone();
    let week_ago = now_ms().saturating_sub(windows::WEEK_MS);
    // Counted from the store: entries and the last week's decisions.
    let counted = gated(&console.api, "", move || {
        let mut counted = Vec::new();
        for name in data.tenant_names()? {
            let dir = data.tenant(&name)?;
            let (mut rejected, mut decided) = (0, 0);
            for line in dir.snapshots()?.iter().filter(|line| line.created_at_ms >= week_ago) {
                rejected += line.rejected;
                decided += line.accepted + line.rejected + line.held;
            }
            counted.push((name, dir.entries()?.len(), (rejected, decided)));
        }
        Ok(counted)
    })
    .await?;
    let day_ago = now_ms().saturating_sub(windows::DAY_MS);
    let mut summaries = Vec::with_capacity(counted.len());
    for (name, entries, rejected) in counted {
        let jobs = console.api.reflector.jobs.metrics(&name).await?;
        let held = console.api.reflector.jobs.reviews(&name, Some(ReviewStatus::Pending)).await?.len();
        let jobs_24h = jobs.iter().filter(|job| job.created_at_ms >= day_ago).count();
        summaries.push(Summary { name, entries, jobs_24h, held, rejected });
    }
    let content = html! {
        h1 { "Tenants" }
        div.scroll { table {
            thead { tr {
                th scope="col" { "Tenant" } th scope="col" class="num" { "Entries" } th scope="col" class="num" { "Jobs (24 h)" }
                th scope="col" class="num" { "Held, waiting" } th scope="col" class="num" { "Rejected (7 d)" }
            } }
            tbody { @for summary in &summaries { tr {
                td { a href=(format!("/ui/tenants/{}/memory", summary.name)) { (summary.name) } }
                td.num { (summary.entries) }
                td.num { (summary.jobs_24h) }
                td.num { @if summary.held > 0 { a href=(format!("/ui/tenants/{}/reviews", summary.name)) { (summary.held) } } @else { "0" } }
                td.num { (rate(summary.rejected)) }
            } } }
        } }
    };
    let nav = Nav { viewer: &viewer, tenant: None, section: Section::Tenants };
    Ok(layout::respond(layout::page("Tenants", Some(nav), content)))
}

fn rate((rejected, decided): (usize, usize)) -> String {
    if decided == 0 {
        "—".to_string()
    } else {
        format!("{:.0}% of {decided}", 100.0 * rejected as f64 / decided as f64)
    }
}

/// `GET /ui/tenants/{tenant}/policy`.
pub async fn policy<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path(tenant): Path<String>,
) -> PageResult {
    check_tenant(&console.api, &viewer.caller, &tenant)?;
    let (data, name) = (console.api.reflector.data.clone(), tenant.clone());
    gated(&console.api, &tenant, move || existing_tenant(&data, &name).map(drop)).await?;
    let packs = console.api.reflector.packs.current();
    let pack = packs.pack_for(&tenant).clone();
    let (manifest, _) = pack.manifest();
    let versions: Vec<String> = pack.modules().map(|module| module.version().to_string()).collect();
    let week_ago = now_ms().saturating_sub(windows::WEEK_MS);
    let mut by_code: BTreeMap<String, u32> = BTreeMap::new();
    for job in console.api.reflector.jobs.metrics(&tenant).await? {
        if job.created_at_ms >= week_ago {
            for (code, count) in job.rejections {
                *by_code.entry(code).or_default() += count;
            }
        }
    }
    let mode = |audit: bool| if audit { "audit" } else { "enforce" };
    let content = html! {
        h1 { "Policy of " (tenant) }
        table { tbody {
            tr { th scope="row" { "Pack" } td { (manifest.name) } }
            tr { th scope="row" { "Revision" } td { code { (manifest.revision) } } }
            tr { th scope="row" { "Mode" } td { (serde_json::to_value(manifest.mode).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()) } }
            tr { th scope="row" { "Signed revision" } td { @if let Some(n) = pack.signed_revision() { (n) } @else { "unsigned" } } }
        } }
        h2 { "Modules, in order" }
        div.scroll { table {
            thead { tr {
                th scope="col" { "#" } th scope="col" { "Module" } th scope="col" { "Version" } th scope="col" { "sha256" }
                th scope="col" { "Mode" } th scope="col" { "Config" }
            } }
            tbody { @for (at, module) in manifest.modules.iter().enumerate() { tr {
                td.num { (at + 1) }
                td { (module.name) @if let Some(id) = &module.id { " " span.muted { "(" (id) ")" } } }
                td { (versions.get(at).map(String::as_str).unwrap_or("?")) }
                td { code title=(module.sha256) { (module.sha256.get(..16).unwrap_or(&module.sha256)) "…" } }
                td { (mode(module.audit)) }
                td { @if module.config.is_empty() || module.config == "{}" { span.muted { "defaults" } } @else { code { (module.config) } } }
            } } }
        } }
        h2 { "Rejections by code, last 7 days" }
        @if by_code.is_empty() { p.muted { "No rejection in the last 7 days." } }
        @else {
            (chart(&by_code))
            table {
                thead { tr { th scope="col" { "Code" } th scope="col" class="num" { "Rejections" } } }
                tbody { @for (code, count) in &by_code { tr { td { code { (code) } } td.num { (count) } } } }
            }
        }
    };
    let nav = Nav { viewer: &viewer, tenant: Some(&tenant), section: Section::Policy };
    Ok(layout::respond(layout::page(&format!("Policy of {tenant}"), Some(nav), content)))
}

/// A horizontal bar per code, as inline SVG (allowed by the CSP: it is
/// markup, not a script or a style).
fn chart(by_code: &BTreeMap<String, u32>) -> Markup {
    const ROW: u32 = 24;
    const LABEL: u32 = 200;
    const BARS: u32 = 360;
    let most = by_code.values().copied().max().unwrap_or(1).max(1);
    let height = ROW * by_code.len() as u32 + 8;
    html! {
        svg.chart xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Rejections by code over the last 7 days"
            viewBox=(format!("0 0 {} {height}", LABEL + BARS + 50)) width=(LABEL + BARS + 50) height=(height) {
            @for (row, (code, count)) in by_code.iter().enumerate() {
                @let y = row as u32 * ROW + 4;
                @let width = (BARS * count / most).max(1);
                text x="4" y=(y + 15) { (code) }
                rect.bar x=(LABEL) y=(y + 3) width=(width) height=(ROW - 8) {}
                text x=(LABEL + width + 6) y=(y + 15) { (count) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_scales_bars_to_the_most_frequent_code() {
        let by_code = BTreeMap::from([("secret_detected".to_string(), 4), ("<x>".to_string(), 2)]);
        let svg = chart(&by_code).into_string();
        assert!(svg.contains(r#"width="360""#) && svg.contains(r#"width="180""#), "{svg}");
        assert!(svg.contains("&lt;x&gt;") && !svg.contains("<x>"), "{svg}");
    }

    #[test]
    fn a_rate_names_its_base() {
        assert_eq!(rate((1, 4)), "25% of 4");
        assert_eq!(rate((0, 0)), "—");
    }
}
