//! Signed rule packs (issue 13, item 4), through the real binary: `pack
//! keygen`, `pack sign`, and a host that runs, for a tenant that trusts a
//! key, only packs that key signed — refusing an unsigned pack, a changed
//! pack, parent or module, another key, an expired signature and, across
//! a hot reload and a restart, an older revision. Each refusal has its own
//! code.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::llm_server::{Behaviour, LlmServer};
use crate::reflection::{add, proposal};
use crate::serve::{ADMIN_KEY, Server, add_key, call, client, wait_for_job, write_config};
use crate::util::{memwarden, repo, run, temp_dir};

const CHILD: &str =
    "name: acme\nextends: base.yaml\nmodules:\n  - module: size-limits\n    config: { max_body_bytes: 4096 }\n";
const PARENT: &str = "extends: default\nmodules:\n  - module: ./rules/cooldown.wasm\n";

/// A pack that extends another, which brings a module file of its own.
fn write_packs(dir: &Path) -> PathBuf {
    let packs = dir.join("packs");
    std::fs::create_dir_all(packs.join("rules")).expect("packs dir");
    let module = repo().join("tests/fixtures/policy-0.1/cooldown.wasm");
    std::fs::copy(module, packs.join("rules/cooldown.wasm")).expect("module");
    std::fs::write(packs.join("base.yaml"), PARENT).expect("parent");
    std::fs::write(packs.join("acme.yaml"), CHILD).expect("pack");
    packs.join("acme.yaml")
}

/// `memwarden pack keygen --out <dir>/<name>`: the secret and public key files.
fn keygen(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let prefix = dir.join(name);
    let (output, stdout, stderr) = run(memwarden().args(["pack", "keygen", "--out"]).arg(&prefix));
    assert!(output.status.success(), "{stderr}");
    assert!(stdout.trim().starts_with("ed25519:"), "{stdout}");
    (dir.join(format!("{name}.key")), dir.join(format!("{name}.pub")))
}

/// `memwarden pack sign`; returns stdout.
fn sign(key: &Path, pack: &Path, extra: &[&str]) -> String {
    let (output, stdout, stderr) = run(memwarden().args(["pack", "sign", "--key"]).arg(key).arg(pack).args(extra));
    assert!(output.status.success(), "{stderr}");
    stdout
}

/// Loads the config's packs as a worker does at start, then exits (the
/// queue is empty); `Err` holds stderr.
fn load(config: &Path) -> Result<(), String> {
    let (output, _, stderr) = run(memwarden().arg("--config").arg(config).args(["worker", "--drain"]));
    if output.status.success() { Ok(()) } else { Err(stderr) }
}

/// Asserts that loading fails with `code`, naming the pack file.
fn refused(config: &Path, code: &str) {
    let stderr = load(config).expect_err("the pack is refused");
    assert!(stderr.contains(&format!("[{code}]")), "expected {code}: {stderr}");
    assert!(stderr.contains("acme.yaml"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn a_tenant_that_trusts_a_key_runs_only_packs_it_signed() {
    let dir = temp_dir();
    let pack = write_packs(dir.path());
    let (secret, public) = keygen(dir.path(), "ops");
    let (other, _) = keygen(dir.path(), "other");
    let mode = std::fs::metadata(&secret).expect("secret key").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (output, _, stderr) = run(memwarden().args(["pack", "keygen", "--out"]).arg(dir.path().join("ops")));
    assert!(!output.status.success() && stderr.contains("never overwrites"), "{stderr}");

    let config = dir.path().join("memwarden.yaml");
    let text = format!(
        "data_dir: {0}/data\ndatabase: sqlite://{0}/jobs.db\npack: {1}\nllm: {{base_url: 'http://127.0.0.1:9/v1'}}\nconsolidation: {{enabled: false}}\npacks:\n  tenants:\n    acme: {{trusted_keys: [{2}]}}\n",
        dir.path().display(),
        pack.display(),
        public.display()
    );
    std::fs::write(&config, text).expect("config");

    // Unsigned.
    refused(&config, "pack_unsigned");

    // Signed: it loads; the signature covers the parent and the module.
    let signed = sign(&secret, &pack, &[]);
    assert!(signed.contains("as revision 1"), "{signed}");
    let sig = std::fs::read_to_string(dir.path().join("packs/acme.yaml.sig")).expect("signature");
    assert!(sig.starts_with("memwarden-pack-signature v1\nkey ed25519:"), "{sig}");
    load(&config).expect("a signed pack loads");

    // The pack, its parent or its module changed after signing.
    let parent = dir.path().join("packs/base.yaml");
    let module = dir.path().join("packs/rules/cooldown.wasm");
    for (file, change) in [(&pack, "# one more line\n"), (&parent, "# one more line\n")] {
        let before = std::fs::read(file).expect("file");
        std::fs::write(file, [before.as_slice(), change.as_bytes()].concat()).expect("tamper");
        refused(&config, "pack_signature_invalid");
        std::fs::write(file, before).expect("restore");
    }
    let before = std::fs::read(&module).expect("module");
    let mut tampered = before.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x01;
    std::fs::write(&module, &tampered).expect("tamper");
    refused(&config, "pack_signature_invalid");
    std::fs::write(&module, &before).expect("restore");
    load(&config).expect("the restored pack loads again");

    // Signed by a key the tenant does not trust.
    sign(&other, &pack, &[]);
    refused(&config, "pack_key_untrusted");

    // Expired.
    let expired = sign(&secret, &pack, &["--expires", "2020-01-01T00:00:00Z"]);
    assert!(expired.contains("expires 2020-01-01T00:00:00Z"), "{expired}");
    refused(&config, "pack_signature_expired");
    let renewed = sign(&secret, &pack, &["--expires", "30"]);
    load(&config).unwrap_or_else(|err| panic!("{renewed}: {err}"));

    // A key file that is not a key.
    std::fs::write(dir.path().join("broken.pub"), "memwarden-pack-public-key v1\ned25519:00\n").expect("key");
    let broken = std::fs::read_to_string(&config).expect("config").replace("ops.pub", "broken.pub");
    std::fs::write(dir.path().join("broken.yaml"), broken).expect("config");
    let stderr = load(&dir.path().join("broken.yaml")).expect_err("a broken key is refused");
    assert!(stderr.contains("[pack_key_invalid]") && stderr.contains("broken.pub"), "{stderr}");
}

#[tokio::test]
async fn a_reload_or_restart_to_an_older_signed_revision_is_refused() {
    let note = |n: usize| proposal(json!([add(&format!("note-{n}"), "Run the migrations before every deploy.")]));
    let llm = LlmServer::start(vec![Behaviour::ReplyWith(Arc::new(note)); 10]);
    let dir = temp_dir();
    let pack = write_packs(dir.path());
    let (secret, public) = keygen(dir.path(), "ops");
    let token = std::fs::read_to_string(&public).expect("public key").lines().nth(1).expect("key line").to_string();
    let config = write_config(dir.path(), &llm, &format!("sqlite://{}/jobs.db", dir.path().display()));
    // This time the key is trusted for every tenant, inline.
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push_str(&format!("pack: {}\npacks:\n  trusted_keys: ['{token}']\n", pack.display()));
    std::fs::write(&config, text).expect("config");
    sign(&secret, &pack, &["--revision", "5"]);

    let agent = add_key(&config, "acme");
    let mut server = Server::start(&config);
    let (http, base) = (client(), server.url.clone());
    let reload = format!("{base}/v1/admin/packs/reload");
    let agent_run = json!({"piece": "research", "outcome": "failed", "activity_log": "deploy failed"});
    let enqueue = format!("{base}/v1/tenants/acme/reflections");
    let (status, job) = call(&http, Method::POST, &enqueue, Some(&agent), Some(agent_run.clone())).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = wait_for_job(&http, &base, &agent, job["job_id"].as_i64().expect("id")).await;
    assert_eq!(job["outcome"], "succeeded", "{job}");
    // The decision record names the signed revision in force.
    assert_eq!(job["decision"]["pack"]["signed_revision"], 5, "{job}");

    // A newer revision reloads; an older one is refused and the newer stays.
    let signed = sign(&secret, &pack, &[]);
    assert!(signed.contains("as revision 6"), "{signed}");
    let (status, body) = call(&http, Method::POST, &reload, Some(ADMIN_KEY), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    sign(&secret, &pack, &["--revision", "4"]);
    let (status, body) = call(&http, Method::POST, &reload, Some(ADMIN_KEY), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "pack_reload_failed", "{body}");
    assert_eq!(body["error"]["reason"], "pack_revision_rollback", "{body}");
    let message = body["error"]["message"].as_str().expect("message");
    assert!(
        message.contains("acme.yaml") && message.contains("revision 4") && message.contains("revision 6"),
        "{message}"
    );
    let (status, job) = call(&http, Method::POST, &enqueue, Some(&agent), Some(agent_run)).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = wait_for_job(&http, &base, &agent, job["job_id"].as_i64().expect("id")).await;
    assert_eq!(job["decision"]["pack"]["signed_revision"], 6, "{job}");

    // Nor does a restart roll back: the highest revision is kept in the data dir.
    assert!(server.stop());
    let (output, _, stderr) = run(memwarden().arg("--config").arg(&config).args(["worker", "--drain"]));
    assert!(!output.status.success() && stderr.contains("[pack_revision_rollback]"), "{stderr}");
    sign(&secret, &pack, &["--revision", "7"]);
    let (output, _, stderr) = run(memwarden().arg("--config").arg(&config).args(["worker", "--drain"]));
    assert!(output.status.success(), "{stderr}");
}
