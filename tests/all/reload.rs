//! Hot reload of rule packs (issue 13): `POST /v1/admin/packs/reload` and
//! SIGHUP put a new pack map in force without a restart; a pack that does
//! not load leaves the running one; jobs running across a reload decide on
//! the old or the new pack, never fail.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::llm_server::{Behaviour, LlmServer};
use crate::reflection::{add, proposal};
use crate::serve::{ADMIN_KEY, Server, add_key, call, client, error_code, wait_for_job, write_config};
use crate::util::temp_dir;

const LOOSE: &str = "extends: default\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 4096 }\n";
const TIGHT: &str = "extends: default\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 40 }\n";

async fn enqueue(http: &reqwest::Client, base: &str, key: &str) -> i64 {
    let run = json!({"piece": "research", "outcome": "failed", "activity_log": "deploy failed"});
    let (status, job) =
        call(http, Method::POST, &format!("{base}/v1/tenants/acme/reflections"), Some(key), Some(run)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    job["job_id"].as_i64().expect("id")
}

fn revision(job: &Value) -> String {
    job["decision"]["pack"]["revision"].as_str().expect("a revision").to_string()
}

#[tokio::test]
async fn packs_reload_without_a_restart_and_a_bad_pack_keeps_the_running_one() {
    // Each answer adds a note of about a hundred bytes under a new name.
    let note = |n: usize| {
        let body = format!("Note {n}: run the migrations before every deploy; the web app fails to boot otherwise.");
        proposal(json!([add(&format!("note-{n}"), &body)]))
    };
    let llm = LlmServer::start(vec![Behaviour::ReplyWith(Arc::new(note)); 300]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &format!("sqlite://{}/jobs.db", dir.path().display()));
    let pack = dir.path().join("pack.yaml");
    std::fs::write(&pack, LOOSE).expect("pack");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!("pack: {}\n", pack.display()));
    std::fs::write(&config, text).expect("config");
    let agent = add_key(&config, "acme");
    let server = Server::start(&config);
    let (http, base) = (client(), server.url.clone());
    let reload = format!("{base}/v1/admin/packs/reload");

    let first = wait_for_job(&http, &base, &agent, enqueue(&http, &base, &agent).await).await;
    assert_eq!(first["outcome"], "succeeded", "{first}");
    let loose = revision(&first);

    // Only the admin reloads; a tighter pack is in force at once.
    let (status, err) = call(&http, Method::POST, &reload, Some(&agent), None).await;
    assert_eq!((status, error_code(&err)), (StatusCode::FORBIDDEN, "forbidden"), "{err}");
    std::fs::write(&pack, TIGHT).expect("pack");
    let (status, reloaded) = call(&http, Method::POST, &reload, Some(ADMIN_KEY), None).await;
    assert_eq!(status, StatusCode::OK, "{reloaded}");
    let tight = reloaded["default_revision"].as_str().expect("revision").to_string();
    assert_ne!(tight, loose);
    let second = wait_for_job(&http, &base, &agent, enqueue(&http, &base, &agent).await).await;
    assert_eq!((second["outcome"].as_str(), revision(&second)), (Some("abstained"), tight.clone()), "{second}");
    let codes = second["decision"]["memory"][0]["rejections"].to_string();
    assert!(codes.contains("body_too_large"), "{codes}");

    // A pack that does not load keeps the running one.
    std::fs::write(&pack, "modules: [ this is not a pack").expect("pack");
    let (status, err) = call(&http, Method::POST, &reload, Some(ADMIN_KEY), None).await;
    assert_eq!((status, error_code(&err)), (StatusCode::UNPROCESSABLE_ENTITY, "pack_reload_failed"), "{err}");
    let third = wait_for_job(&http, &base, &agent, enqueue(&http, &base, &agent).await).await;
    assert_eq!(revision(&third), tight, "{third}");

    // Under load: jobs running across a SIGHUP reload decide on the old
    // pack or the new one, and none fails.
    std::fs::write(&pack, LOOSE).expect("pack");
    let mut ids = Vec::new();
    for n in 0..200 {
        ids.push(enqueue(&http, &base, &agent).await);
        if n == 60 {
            server.hang_up();
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in ids {
        let job = wait_for_job(&http, &base, &agent, id).await;
        assert!(matches!(job["outcome"].as_str(), Some("succeeded" | "abstained")), "{job}");
        seen.insert(revision(&job));
    }
    assert!(seen.iter().all(|r| *r == loose || *r == tight), "{seen:?}");
    // The reload has landed by now: the next job decides on the loose pack.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let job = wait_for_job(&http, &base, &agent, enqueue(&http, &base, &agent).await).await;
        if revision(&job) == loose {
            break;
        }
        assert!(Instant::now() < deadline, "SIGHUP never reloaded the packs: {job}");
    }
}

#[tokio::test]
async fn a_watching_host_reloads_a_changed_pack_by_itself() {
    let note = |n: usize| {
        let body = format!("Note {n}: run the migrations before every deploy; the web app fails to boot otherwise.");
        proposal(json!([add(&format!("note-{n}"), &body)]))
    };
    let llm = LlmServer::start(vec![Behaviour::ReplyWith(Arc::new(note)); 100]);
    let dir = temp_dir();
    let config = write_config(dir.path(), &llm, &format!("sqlite://{}/jobs.db", dir.path().display()));
    let pack = dir.path().join("pack.yaml");
    std::fs::write(&pack, LOOSE).expect("pack");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!("pack: {}\npacks: {{watch: true, watch_seconds: 1}}\n", pack.display()));
    std::fs::write(&config, text).expect("config");
    let agent = add_key(&config, "acme");
    let server = Server::start(&config);
    let (http, base) = (client(), server.url.clone());
    let loose = revision(&wait_for_job(&http, &base, &agent, enqueue(&http, &base, &agent).await).await);

    // A broken edit is reported and ignored; the next good one is taken.
    std::fs::write(&pack, "modules: [ half written").expect("pack");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(revision(&wait_for_job(&http, &base, &agent, enqueue(&http, &base, &agent).await).await), loose);
    std::fs::write(&pack, TIGHT).expect("pack");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let job = wait_for_job(&http, &base, &agent, enqueue(&http, &base, &agent).await).await;
        if revision(&job) != loose {
            assert_eq!(job["outcome"], "abstained", "the tightened pack decided: {job}");
            break;
        }
        assert!(Instant::now() < deadline, "the watcher never reloaded: {job}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
