//! A tenant's activity: its jobs and snapshots, newest first, filtered by
//! outcome and by rejection code; one snapshot with the decision on every
//! change and the diff of every file; and rolling back to before a
//! snapshot, after a confirmation step, through the API's rollback.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{self, Nav, Section, csrf_field, utc};
use super::login::CsrfForm;
use super::{Console, PageResult, Viewer};
use crate::jobs::JobStore;
use crate::serve::tenants::{diff_of, roll_back, with_tenant};
use crate::store::SnapshotIndexLine;

/// Rows shown at most on one activity page, newest first.
const MAX_ROWS: usize = 200;

/// `GET …/activity?outcome=&code=`; an empty value is no filter.
#[derive(Debug, Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    outcome: String,
    #[serde(default)]
    code: String,
}

/// A job or a snapshot no job row describes (a review, a rollback).
struct Row {
    at_ms: u64,
    kind: String,
    job_id: String,
    outcome: String,
    reason_code: Option<String>,
    rejections: BTreeMap<String, u32>,
    snapshot: Option<SnapshotIndexLine>,
}

/// `GET /ui/tenants/{tenant}/activity`.
pub async fn list<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path(tenant): Path<String>,
    Query(filters): Query<Filters>,
) -> PageResult {
    let lines = with_tenant(&console.api, &viewer.caller, &tenant, |dir| Ok(dir.snapshots()?)).await?;
    let jobs = console.api.reflector.jobs.metrics(&tenant).await?;
    // Snapshots by their job; operator actions share job ids (`rollback`).
    let mut by_job: BTreeMap<(String, String), Vec<SnapshotIndexLine>> = BTreeMap::new();
    for line in lines {
        by_job.entry((line.kind.clone(), line.job_id.clone())).or_default().push(line);
    }
    let mut rows: Vec<Row> = jobs
        .into_iter()
        .map(|job| {
            let (kind, job_id) = (job.kind.as_str().to_string(), job.job_id.to_string());
            let snapshot = by_job.get_mut(&(kind.clone(), job_id.clone())).and_then(Vec::pop);
            Row {
                at_ms: job.created_at_ms,
                kind,
                job_id,
                outcome: job.outcome,
                reason_code: job.reason_code,
                rejections: job.rejections,
                snapshot,
            }
        })
        .collect();
    rows.extend(by_job.into_values().flatten().map(|line| Row {
        at_ms: line.created_at_ms,
        kind: line.kind.clone(),
        job_id: line.job_id.clone(),
        outcome: "applied".to_string(),
        reason_code: None,
        rejections: BTreeMap::new(),
        snapshot: Some(line),
    }));
    rows.sort_by_key(|row| std::cmp::Reverse(row.at_ms));
    let outcomes: BTreeSet<&str> = rows.iter().map(|row| row.outcome.as_str()).collect();
    let codes: BTreeSet<&str> = rows.iter().flat_map(|row| row.rejections.keys().map(String::as_str)).collect();
    let shown: Vec<&Row> = rows
        .iter()
        .filter(|row| filters.outcome.is_empty() || row.outcome == filters.outcome)
        .filter(|row| filters.code.is_empty() || row.rejections.contains_key(&filters.code))
        .collect();
    let content = html! {
        h1 { "Activity of " (tenant) }
        form.filters method="get" action=(format!("/ui/tenants/{tenant}/activity")) {
            div { label for="outcome" { "Outcome" } (select("outcome", &outcomes, &filters.outcome)) }
            div { label for="code" { "Rejection code" } (select("code", &codes, &filters.code)) }
            button type="submit" { "Filter" }
        }
        p.muted { (shown.len()) " of " (rows.len()) " jobs and snapshots"
            @if shown.len() > MAX_ROWS { "; the newest " (MAX_ROWS) " are shown" } }
        div.scroll { table {
            thead { tr {
                th scope="col" { "When" } th scope="col" { "Kind" } th scope="col" { "Job" } th scope="col" { "Outcome" }
                th scope="col" { "Rejections" } th scope="col" { "Snapshot" }
                th scope="col" class="num" { "Accepted" } th scope="col" class="num" { "Rejected" } th scope="col" class="num" { "Held" }
            } }
            tbody { @for row in shown.iter().take(MAX_ROWS) { tr {
                td { (utc(row.at_ms)) }
                td { (row.kind) }
                td { (row.job_id) }
                td { (row.outcome) @if let Some(code) = &row.reason_code { " " code { (code) } } }
                td { @for (code, count) in &row.rejections { code { (code) } " ×" (count) br; } }
                @match &row.snapshot {
                    Some(line) => {
                        td { a href=(format!("/ui/tenants/{tenant}/snapshots/{}", line.id)) { code { (line.id) } } }
                        td.num { (line.accepted) } td.num { (line.rejected) } td.num { (line.held) }
                    }
                    None => { td.muted { "—" } td.num { "—" } td.num { "—" } td.num { "—" } }
                }
            } } }
        } }
    };
    let nav = Nav { viewer: &viewer, tenant: Some(&tenant), section: Section::Activity };
    Ok(layout::respond(layout::page(&format!("Activity of {tenant}"), Some(nav), content)))
}

fn select(name: &str, options: &BTreeSet<&str>, chosen: &str) -> Markup {
    html! {
        select id=(name) name=(name) {
            option value="" { "any" }
            @for option in options {
                @if *option == chosen { option value=(option) selected { (option) } }
                @else { option value=(option) { (option) } }
            }
        }
    }
}

/// `GET /ui/tenants/{tenant}/snapshots/{id}`.
pub async fn snapshot<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, String)>,
) -> PageResult {
    let (meta, changes) =
        with_tenant(&console.api, &viewer.caller, &tenant, move |dir| Ok(dir.read_snapshot(&id)?)).await?;
    let decision = meta.decision.clone().unwrap_or(Value::Null);
    let verdicts: Vec<Value> = decision["memory"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(decision["piece"].as_object().map(|_| &decision["piece"]))
        .cloned()
        .collect();
    let content = html! {
        h1 { "Snapshot " code { (meta.id) } }
        table { tbody {
            tr { th scope="row" { "When" } td { (utc(meta.created_at_ms)) } }
            tr { th scope="row" { "Kind" } td { (meta.kind) } }
            tr { th scope="row" { "Job" } td { (meta.job_id) } }
            tr { th scope="row" { "Source run" } td { @if let Some(run) = &meta.source_run { code { (run) } } @else { "—" } } }
            tr { th scope="row" { "Approved by" } td { @if let Some(by) = &meta.reviewer { (by) } @else { "—" } } }
            @if let Some(restores) = &meta.restores { tr { th scope="row" { "Restores before" } td { code { (restores) } } } }
        } }
        h2 { "Reasoning" }
        pre { (meta.reasoning) }
        h2 { "Decision" }
        div.scroll { table {
            thead { tr {
                th scope="col" { "Change" } th scope="col" { "Verdict" } th scope="col" { "Module" }
                th scope="col" { "Code" } th scope="col" { "Message" }
            } }
            tbody { @for verdict in &verdicts { (decision_rows(verdict)) } }
        } }
        @if verdicts.is_empty() { p.muted { "No policy decision: this snapshot was written by an operator action." } }
        h2 { "Files" }
        @for change in &changes {
            @let path = change.file.path();
            h3 { code { (path) } }
            (layout::diff(&diff_of(&path, change.before.as_deref(), change.after.as_deref())))
        }
        p { a href=(format!("/ui/tenants/{tenant}/snapshots/{}/rollback", meta.id)) { "Roll back to before this snapshot…" } }
    };
    let nav = Nav { viewer: &viewer, tenant: Some(&tenant), section: Section::Activity };
    Ok(layout::respond(layout::page(&format!("Snapshot {}", meta.id), Some(nav), content)))
}

/// One row per rejection and hold of a change; one row for a change that
/// passed every module.
fn decision_rows(verdict: &Value) -> Markup {
    let name = verdict["name"].as_str().unwrap_or("piece");
    let op = verdict["op"].as_str().unwrap_or("edit");
    let word = if verdict["accepted"] == true {
        "accepted"
    } else if verdict["held"] == true {
        "held"
    } else {
        "rejected"
    };
    let records: Vec<&Value> = ["rejections", "holds", "amendments"]
        .iter()
        .flat_map(|field| verdict[*field].as_array().into_iter().flatten())
        .collect();
    html! {
        @if records.is_empty() {
            tr { td { (op) " " code { (name) } } td { (word) } td.muted { "every module" } td { "—" } td { "—" } }
        }
        @for record in &records {
            tr {
                td { (op) " " code { (name) } }
                td { (word) @if record["advisory"] == true { " (advisory)" } }
                td { (record["module"].as_str().unwrap_or("?")) }
                td { code { (record["code"].as_str().unwrap_or("?")) } }
                td { (record["message"].as_str().unwrap_or("")) }
            }
        }
    }
}

/// `GET …/snapshots/{id}/rollback`: what rolling back would undo, and the
/// button that does it.
pub async fn confirm_rollback<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, String)>,
) -> PageResult {
    let wanted = id.clone();
    let later = with_tenant(&console.api, &viewer.caller, &tenant, move |dir| {
        let lines = dir.snapshots()?;
        match lines.iter().position(|line| line.id == wanted) {
            Some(start) => Ok(lines[start..].to_vec()),
            None => Err(crate::store::StoreError::UnknownSnapshot { id: wanted }.into()),
        }
    })
    .await?;
    let content = html! {
        h1 { "Roll back to before " code { (id) } "?" }
        p { "The memory and pieces go back to how they were before this snapshot. These " (later.len())
            " snapshots are undone; the rollback is recorded as a snapshot of its own, so it can be undone too." }
        ul { @for line in &later { li { code { (line.id) } " · " (line.kind) } } }
        form method="post" action=(format!("/ui/tenants/{tenant}/snapshots/{id}/rollback")) {
            (csrf_field(&viewer))
            div.actions {
                button.danger type="submit" { "Roll back" }
                a href=(format!("/ui/tenants/{tenant}/snapshots/{id}")) { "Cancel" }
            }
        }
    };
    let nav = Nav { viewer: &viewer, tenant: Some(&tenant), section: Section::Activity };
    Ok(layout::respond(layout::page("Roll back", Some(nav), content)))
}

/// `POST …/snapshots/{id}/rollback`: then the rollback's own snapshot.
pub async fn rollback<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let done = roll_back(&console.api, &viewer.caller, &tenant, id).await?;
    Ok(Redirect::to(&format!("/ui/tenants/{tenant}/snapshots/{}", done.snapshot_id)).into_response())
}
