//! Just enough W3C WebDriver to drive headless Chromium from a test:
//! sessions, navigation, elements, clicks, typing, page source, scripts,
//! alerts and screenshots, spoken as JSON over HTTP with the reqwest the
//! suite already has (fantoccini would bring a second HTTP stack for these
//! dozen calls).
//!
//! Chromium and chromedriver come from the distribution (`.ci/run`
//! installs `chromium` and `chromium-driver`); where they are missing the
//! caller is told why, to skip — unless `MEMWARDEN_REQUIRE_BROWSER` is set,
//! as in CI, where a missing browser fails.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};

/// The key W3C WebDriver names element references by.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A headless Chromium behind a chromedriver of our own.
pub struct Browser {
    http: reqwest::Client,
    session: String,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

/// The chromedriver process in a process group of its own, with the
/// browser it starts; the whole group is killed when dropped, on every
/// path, so no browser outlives a failed test.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        if let Some(group) = rustix::process::Pid::from_raw(self.0.id() as i32) {
            let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        }
        let _ = self.0.wait();
    }
}

fn binary(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default))
}

impl Browser {
    /// Starts chromedriver and a browser session; `Err` says why none can
    /// run here.
    pub async fn start() -> Result<Browser, String> {
        let (driver_path, chromium) =
            (binary("CHROMEDRIVER", "/usr/bin/chromedriver"), binary("CHROMIUM", "/usr/bin/chromium"));
        for path in [&driver_path, &chromium] {
            if !path.exists() {
                return Err(format!(
                    "{} is not installed (apt-get install -y chromium chromium-driver)",
                    path.display()
                ));
            }
        }
        let port =
            std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| e.to_string())?.port();
        let driver = Driver(
            Command::new(&driver_path)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|err| format!("{}: {err}", driver_path.display()))?,
        );
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = http.get(format!("{base}/status")).send().await.ok();
            if let Some(response) = ready
                && let Ok(status) = response.json::<Value>().await
                && status["value"]["ready"] == true
            {
                break;
            }
            if Instant::now() > deadline {
                return Err("chromedriver did not become ready in 20 s".to_string());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1200,900", format!("--user-data-dir={}", profile.path().display())],
            },
        }}});
        let answer: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let id = answer["value"]["sessionId"].as_str().ok_or_else(|| format!("no browser session: {answer}"))?;
        Ok(Browser { http, session: format!("{base}/session/{id}"), _driver: driver, _profile: profile })
    }

    /// One command; the answer's `value`, or the WebDriver error.
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Result<Value, Value> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.session));
        if method == reqwest::Method::POST {
            request = request.json(&body.unwrap_or_else(|| json!({})));
        }
        let response = request.send().await.expect("chromedriver answers");
        let ok = response.status().is_success();
        let answer: Value = response.json().await.expect("JSON from chromedriver");
        if ok { Ok(answer["value"].clone()) } else { Err(answer["value"].clone()) }
    }

    async fn must(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        self.command(method, path, body).await.unwrap_or_else(|err| panic!("WebDriver {path}: {err}"))
    }

    pub async fn goto(&self, url: &str) {
        self.must(reqwest::Method::POST, "/url", Some(json!({"url": url}))).await;
    }

    pub async fn url(&self) -> String {
        self.must(reqwest::Method::GET, "/url", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Every element matching `css`.
    pub async fn find_all(&self, css: &str) -> Vec<String> {
        let found =
            self.must(reqwest::Method::POST, "/elements", Some(json!({"using": "css selector", "value": css}))).await;
        found.as_array().into_iter().flatten().filter_map(|e| e[ELEMENT].as_str().map(str::to_string)).collect()
    }

    /// The first element matching `css`; panics when there is none.
    pub async fn find(&self, css: &str) -> String {
        let all = self.find_all(css).await;
        let url = self.url().await;
        all.into_iter().next().unwrap_or_else(|| panic!("no `{css}` on {url}"))
    }

    pub async fn click(&self, element: &str) {
        self.must(reqwest::Method::POST, &format!("/element/{element}/click"), None).await;
    }

    /// Clicks an element that leads to another page, and waits until the
    /// new page has loaded: the old document is marked first, so a form
    /// posting back to the same URL is seen to have loaded too.
    pub async fn click_to_load(&self, element: &str) {
        self.execute("window.__memwardenOldPage = true; return null").await;
        self.click(element).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let state = self
                .command(
                    reqwest::Method::POST,
                    "/execute/sync",
                    Some(json!({"script": "return window.__memwardenOldPage !== true && document.readyState === 'complete'", "args": []})),
                )
                .await;
            if state == Ok(json!(true)) {
                return;
            }
            assert!(Instant::now() < deadline, "no new page loaded within 20 s after a click");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn type_into(&self, element: &str, text: &str) {
        self.must(reqwest::Method::POST, &format!("/element/{element}/value"), Some(json!({"text": text}))).await;
    }

    /// The rendered text of an element, as a person reads it.
    pub async fn text(&self, element: &str) -> String {
        self.must(reqwest::Method::GET, &format!("/element/{element}/text"), None)
            .await
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn source(&self) -> String {
        self.must(reqwest::Method::GET, "/source", None).await.as_str().unwrap_or_default().to_string()
    }

    /// Runs `script` in the page (WebDriver's own channel, which the
    /// page's CSP does not govern) and returns its value.
    pub async fn execute(&self, script: &str) -> Value {
        self.must(reqwest::Method::POST, "/execute/sync", Some(json!({"script": script, "args": []}))).await
    }

    /// The text of an open alert, if a page opened one.
    pub async fn alert(&self) -> Option<String> {
        self.command(reqwest::Method::GET, "/alert/text", None).await.ok().map(|v| v.as_str().unwrap_or("").to_string())
    }

    /// Sets the window's outer size, in CSS pixels.
    pub async fn resize(&self, width: u32, height: u32) {
        self.must(reqwest::Method::POST, "/window/rect", Some(json!({"width": width, "height": height}))).await;
    }

    /// Saves a PNG of the window to `path`.
    pub async fn screenshot(&self, path: &Path) {
        let data = self.must(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(data.as_str().expect("base64")).expect("PNG");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Ends the browser session.
    pub async fn quit(self) {
        let _ = self.command(reqwest::Method::DELETE, "", None).await;
    }
}
