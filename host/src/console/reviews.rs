//! The review queue: each held change with the rule that held it, the
//! proposed text with the flagged span marked, the current entry beside
//! it, and — for the admin or a reviewer key — Approve and Deny (with a
//! reason). Deciding goes through the API's own functions
//! ([`approve_as`], [`deny_as`]): an agent's key is refused there too.

use std::sync::Arc;

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;

use super::layout::{self, Nav, Section, csrf_field, utc};
use super::login::CsrfForm;
use super::{Console, PageResult, Viewer};
use crate::jobs::{JobStore, Review, ReviewStatus};
use crate::serve::reviews::{approve_as, deny_as};
use crate::serve::tenants::{check_tenant, with_tenant};
use crate::store::StoredEntry;

/// `POST …/deny`.
#[derive(Debug, Deserialize)]
pub struct DenyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: String,
}

/// `GET /ui/tenants/{tenant}/reviews`.
pub async fn queue<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path(tenant): Path<String>,
) -> PageResult {
    check_tenant(&console.api, &viewer.caller, &tenant)?;
    let pending = console.api.reflector.jobs.reviews(&tenant, Some(ReviewStatus::Pending)).await?;
    let held: Vec<(Review, Vec<Value>)> = pending
        .into_iter()
        .map(|review| {
            let changes = match serde_json::from_str::<Value>(&review.change) {
                Ok(Value::Array(changes)) => changes,
                Ok(change) => vec![change],
                Err(_) => Vec::new(),
            };
            (review, changes)
        })
        .collect();
    // The entries the held changes would replace, as they are now.
    let names: Vec<String> = held
        .iter()
        .flat_map(|(_, changes)| changes.iter().filter_map(|c| c["name"].as_str().map(str::to_string)))
        .collect();
    let current: Vec<(String, Option<StoredEntry>)> = with_tenant(&console.api, &viewer.caller, &tenant, move |dir| {
        names.into_iter().map(|name| Ok((name.clone(), dir.entry(&name).ok().flatten()))).collect()
    })
    .await?;
    let decides = viewer.decides_reviews(&tenant);
    let content = html! {
        h1 { "Review queue of " (tenant) }
        @if held.is_empty() { p { "No change is waiting for review." } }
        @if !decides && !held.is_empty() {
            p.muted { "This key may read the queue; only the admin key or a reviewer key decides." }
        }
        @for (review, changes) in &held {
            @let decision: Value = serde_json::from_str(&review.decision).unwrap_or(Value::Null);
            @let holds = decision["holds"].as_array().cloned().unwrap_or_default();
            section.card aria-labelledby=(format!("review-{}", review.id)) {
                h2 id=(format!("review-{}", review.id)) { "Review " (review.id) " · job " (review.job_id) }
                p.muted { "held " (utc(review.created_at_ms)) " · expires " (utc(review.expires_at_ms)) }
                table {
                    thead { tr { th scope="col" { "Rule" } th scope="col" { "Code" } th scope="col" { "Why" } } }
                    tbody { @for hold in &holds { tr {
                        td { (hold["module"].as_str().unwrap_or("?")) }
                        td { code { (hold["code"].as_str().unwrap_or("?")) } }
                        td { (hold["message"].as_str().unwrap_or("")) }
                    } } }
                }
                @for change in changes {
                    @let name = change["name"].as_str().unwrap_or("");
                    @let now = current.iter().find(|(n, _)| n == name).and_then(|(_, e)| e.as_ref());
                    div.side {
                        div {
                            h3 { "Proposed: " (change["op"].as_str().unwrap_or("?")) " " code { (name) } }
                            @if let Some(description) = change["description"].as_str() {
                                p { (flagged(description, "description", &holds)) }
                            }
                            @if let Some(body) = change["body"].as_str() { pre.proposed { (flagged(body, "body", &holds)) } }
                        }
                        div {
                            h3 { "Current entry" }
                            @match now {
                                Some(stored) => { p { (stored.entry.description) } pre { (stored.entry.body) } }
                                None => p.muted { "No entry by this name now." },
                            }
                        }
                    }
                }
                @if decides {
                    div.actions {
                        form method="post" action=(format!("/ui/tenants/{tenant}/reviews/{}/approve", review.id)) {
                            (csrf_field(&viewer))
                            button type="submit" aria-label=(format!("Approve review {}", review.id)) { "Approve" }
                        }
                        form method="post" action=(format!("/ui/tenants/{tenant}/reviews/{}/deny", review.id)) {
                            (csrf_field(&viewer))
                            label for=(format!("reason-{}", review.id)) { "Reason for denying" }
                            input type="text" id=(format!("reason-{}", review.id)) name="reason" maxlength="2048";
                            button.secondary type="submit" aria-label=(format!("Deny review {}", review.id)) { "Deny" }
                        }
                    }
                }
            }
        }
    };
    let nav = Nav { viewer: &viewer, tenant: Some(&tenant), section: Section::Reviews };
    Ok(layout::respond(layout::page(&format!("Reviews of {tenant}"), Some(nav), content)))
}

/// `POST …/reviews/{id}/approve`: back to the queue.
pub async fn approve<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, i64)>,
    Form(form): Form<CsrfForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    approve_as(&console.api, &viewer.caller, &tenant, id).await?;
    Ok(Redirect::to(&format!("/ui/tenants/{tenant}/reviews")).into_response())
}

/// `POST …/reviews/{id}/deny`: back to the queue.
pub async fn deny<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path((tenant, id)): Path<(String, i64)>,
    Form(form): Form<DenyForm>,
) -> PageResult {
    viewer.check_csrf(&form.csrf)?;
    let reason = Some(form.reason.trim()).filter(|reason| !reason.is_empty());
    deny_as(&console.api, &viewer.caller, &tenant, id, reason).await?;
    Ok(Redirect::to(&format!("/ui/tenants/{tenant}/reviews")).into_response())
}

/// `text` with what the holds flag marked: each `backticked` fragment of a
/// hold's message found in the text; failing that, the whole field when a
/// hold's message names it (`body: …`), since modules report which field
/// they flag, not offsets.
fn flagged(text: &str, field: &str, holds: &[Value]) -> Markup {
    let messages: Vec<&str> = holds.iter().filter_map(|hold| hold["message"].as_str()).collect();
    let mut spans: Vec<(usize, usize)> = messages
        .iter()
        .flat_map(|message| message.split('`').skip(1).step_by(2))
        .filter(|quoted| quoted.len() >= 3)
        .filter_map(|quoted| text.find(quoted).map(|start| (start, start + quoted.len())))
        .collect();
    if spans.is_empty() && messages.iter().any(|message| message.starts_with(&format!("{field}:"))) {
        spans.push((0, text.len()));
    }
    spans.sort_unstable();
    let mut parts: Vec<(&str, bool)> = Vec::new();
    let mut at = 0;
    for (start, end) in spans {
        if start < at {
            continue;
        }
        parts.push((&text[at..start], false));
        parts.push((&text[start..end], true));
        at = end;
    }
    parts.push((&text[at..], false));
    html! { @for (part, marked) in parts { @if marked { mark { (part) } } @else { (part) } } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_quoted_fragment_is_marked_and_escaped() {
        let holds = [json!({"message": "body: matches `<b>forward mail</b>`"})];
        let html = flagged("please <b>forward mail</b> now", "body", &holds).into_string();
        assert_eq!(html, "please <mark>&lt;b&gt;forward mail&lt;/b&gt;</mark> now");
    }

    #[test]
    fn a_named_field_is_marked_whole_and_others_not() {
        let holds = [json!({"message": "body: reads as an instruction to future runs: override (score 6.0)"})];
        assert_eq!(flagged("Ignore all", "body", &holds).into_string(), "<mark>Ignore all</mark>");
        assert_eq!(flagged("A rule", "description", &holds).into_string(), "A rule");
    }
}
