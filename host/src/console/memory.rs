//! A tenant's memory: the list of entries, each with its type,
//! description, size and last change with the run it came from; and one
//! entry with its body rendered from markdown and every version of it —
//! diff, verdicts, who approved — from the store's provenance.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use maud::{Markup, PreEscaped, html};
use pulldown_cmark::{CowStr, Event, Options, Parser, Tag};

use super::layout::{self, Nav, Section, utc};
use super::{Console, PageResult, Viewer};
use crate::jobs::JobStore;
use crate::serve::ApiError;
use crate::serve::tenants::{diff_of, with_tenant};
use crate::store::{StoredEntry, safe_name_of};

/// One row of the list: an entry and the snapshot that last changed it.
struct Row {
    stored: StoredEntry,
    last: Option<LastChange>,
}

/// The snapshot that last wrote an entry.
#[derive(Clone)]
struct LastChange {
    snapshot_id: String,
    kind: String,
    source_run: Option<String>,
}

/// `GET /ui/tenants/{tenant}/memory`.
pub async fn list<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path(tenant): Path<String>,
) -> PageResult {
    let rows = with_tenant(&console.api, &viewer.caller, &tenant, |dir| {
        let entries = dir.entries()?;
        // Newest snapshot first: the first to name an entry changed it last.
        let mut last_of: HashMap<String, (String, String)> = HashMap::new();
        for line in dir.snapshots()?.iter().rev() {
            for name in line.entries.iter().flatten() {
                last_of.entry(name.clone()).or_insert_with(|| (line.id.clone(), line.kind.clone()));
            }
        }
        // The run is in the snapshot itself; each is read once.
        let mut runs: HashMap<String, Option<String>> = HashMap::new();
        let mut rows = Vec::with_capacity(entries.len());
        for stored in entries {
            let last = match last_of.get(&stored.entry.name) {
                Some((id, kind)) => {
                    let source_run = match runs.get(id) {
                        Some(run) => run.clone(),
                        None => {
                            let run = dir.read_snapshot(id).ok().and_then(|(meta, _)| meta.source_run);
                            runs.insert(id.clone(), run.clone());
                            run
                        }
                    };
                    Some(LastChange { snapshot_id: id.clone(), kind: kind.clone(), source_run })
                }
                None => None,
            };
            rows.push(Row { stored, last });
        }
        Ok(rows)
    })
    .await?;
    let content = html! {
        h1 { "Memory of " (tenant) }
        p.muted { (rows.len()) " entries" }
        div.scroll {
            table {
                thead { tr {
                    th scope="col" { "Name" } th scope="col" { "Type" } th scope="col" { "Description" }
                    th scope="col" class="num" { "Size" } th scope="col" { "Last change" } th scope="col" { "Source run" }
                } }
                tbody {
                    @for row in &rows {
                        @let entry = &row.stored.entry;
                        tr {
                            td { a href=(format!("/ui/tenants/{tenant}/memory/{}", entry.name)) { (entry.name) } }
                            td { (entry.entry_type) }
                            td { (entry.description) }
                            td.num { (entry.body.len()) " B" }
                            td {
                                (utc(row.stored.updated_at_ms))
                                @if let Some(last) = &row.last {
                                    br;
                                    a href=(format!("/ui/tenants/{tenant}/snapshots/{}", last.snapshot_id)) { (last.kind) }
                                }
                            }
                            td { @match row.last.as_ref().and_then(|last| last.source_run.as_deref()) {
                                Some(run) => code { (run) },
                                None => span.muted { "—" },
                            } }
                        }
                    }
                }
            }
        }
    };
    let nav = Nav { viewer: &viewer, tenant: Some(&tenant), section: Section::Memory };
    Ok(layout::respond(layout::page(&format!("Memory of {tenant}"), Some(nav), content)))
}

/// `GET /ui/tenants/{tenant}/memory/{name}`.
pub async fn entry<S: JobStore>(
    State(console): State<Arc<Console<S>>>,
    viewer: Viewer,
    Path((tenant, name)): Path<(String, String)>,
) -> PageResult {
    safe_name_of("entry", &name).map_err(ApiError::from)?;
    let wanted = name.clone();
    let (stored, versions) = with_tenant(&console.api, &viewer.caller, &tenant, move |dir| {
        Ok((dir.entry(&wanted)?, dir.entry_history(&wanted)?))
    })
    .await?;
    if stored.is_none() && versions.is_empty() {
        return Err(ApiError::not_found("entry_not_found", format!("no entry `{name}`")).into());
    }
    let path = format!("memory/{name}.md");
    let content = html! {
        h1 { "Entry " code { (name) } }
        @match &stored {
            Some(stored) => {
                p { strong { (stored.entry.entry_type) } " · " (stored.entry.description) }
                p.muted { (stored.entry.body.len()) " bytes · changed " (utc(stored.updated_at_ms)) }
                div.body { (markdown(&stored.entry.body)) }
            }
            None => p.problem { "This entry is not in the memory now; its versions are below." },
        }
        h2 { "History" }
        div.scroll {
            table {
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Kind" } th scope="col" { "Snapshot" }
                    th scope="col" { "Source run" } th scope="col" { "Approved by" } th scope="col" { "Verdicts" }
                } }
                tbody {
                    @for version in &versions {
                        tr {
                            td { (utc(version.created_at_ms)) }
                            td { (version.kind) }
                            td { a href=(format!("/ui/tenants/{tenant}/snapshots/{}", version.snapshot_id)) { code { (version.snapshot_id) } } }
                            td { @if let Some(run) = &version.source_run { code { (run) } } @else { span.muted { "—" } } }
                            td { @if let Some(by) = &version.reviewer { (by) } @else { span.muted { "—" } } }
                            td { (verdicts(version.verdicts.as_ref())) }
                        }
                    }
                }
            }
        }
        @for version in &versions {
            h2 { "Diff of " code { (version.snapshot_id) } }
            (layout::diff(&diff_of(&path, version.before.as_deref(), version.after.as_deref())))
        }
    };
    let nav = Nav { viewer: &viewer, tenant: Some(&tenant), section: Section::Memory };
    Ok(layout::respond(layout::page(&format!("{name} · {tenant}"), Some(nav), content)))
}

/// The verdicts a decision recorded on one change: accepted, or each
/// rejection and hold with its module and code.
pub(super) fn verdicts(verdict: Option<&serde_json::Value>) -> Markup {
    let Some(verdict) = verdict else { return html! { span.muted { "—" } } };
    let records = |field: &str| verdict[field].as_array().cloned().unwrap_or_default();
    let (rejections, holds) = (records("rejections"), records("holds"));
    html! {
        @if verdict["accepted"].as_bool() == Some(true) { "accepted" }
        @else if verdict["held"].as_bool() == Some(true) { "held" }
        @else { "rejected" }
        @for record in rejections.iter().chain(&holds) {
            br;
            code { (record["module"].as_str().unwrap_or("?")) ": " (record["code"].as_str().unwrap_or("?")) }
        }
    }
}

/// An entry body as HTML: markdown, with every piece of raw HTML in it
/// shown as text, and links only to the web, mail or this site.
pub fn markdown(body: &str) -> Markup {
    let events =
        Parser::new_ext(body, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH).map(|event| match event {
            // The renderer passes HTML through as written; as text it is escaped.
            Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
            Event::Start(Tag::Link { link_type, dest_url, title, id }) => {
                Event::Start(Tag::Link { link_type, dest_url: safe_url(dest_url), title, id })
            }
            Event::Start(Tag::Image { link_type, dest_url, title, id }) => {
                Event::Start(Tag::Image { link_type, dest_url: safe_url(dest_url), title, id })
            }
            other => other,
        });
    let mut out = String::with_capacity(body.len() * 2);
    pulldown_cmark::html::push_html(&mut out, events);
    PreEscaped(out)
}

/// `url` if it is http(s), mail or relative without a scheme; else `#`.
fn safe_url(url: CowStr<'_>) -> CowStr<'_> {
    let lower = url.trim().to_ascii_lowercase();
    let scheme_end = lower.find(':');
    let first_slash = lower.find(['/', '?', '#']).unwrap_or(lower.len());
    let relative = scheme_end.is_none_or(|colon| colon > first_slash);
    if relative || lower.starts_with("https:") || lower.starts_with("http:") || lower.starts_with("mailto:") {
        url
    } else {
        CowStr::Borrowed("#")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_in_a_body_is_text() {
        let html =
            markdown("# Title\n\n<script>alert(1)</script>\n\nsee <img src=x onerror=alert(2)> *now*").into_string();
        assert!(!html.contains("<script") && !html.contains("<img"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{html}");
        assert!(html.contains("<h1>Title</h1>") && html.contains("<em>now</em>"), "{html}");
    }

    #[test]
    fn only_safe_links_keep_their_target() {
        let html =
            markdown("[a](javascript:alert(1)) [b](https://example.org/x) [c](/ui/) [d](JavaScript:x)").into_string();
        assert!(!html.to_ascii_lowercase().contains("javascript:"), "{html}");
        assert!(html.contains("https://example.org/x") && html.contains(r#"href="/ui/""#), "{html}");
    }
}
