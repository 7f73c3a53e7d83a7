//! A real browser for the tests: Debian's headless Chromium, driven over the DevTools protocol
//! (a WebSocket; `Runtime.evaluate`), so a test can open a page, wait for what its scripts do and
//! act on it (play, seek) while the test changes the chain under it. Whether Chromium is here:
//! [`crate::have_chromium`].

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tungstenite::{stream::MaybeTlsStream, Message, WebSocket};

/// The flags every Chromium of the project runs with (headless, no sandbox, no GPU, nothing
/// fetched in the background).
pub const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

/// A headless Chromium with a fresh profile, killed on drop.
#[derive(Debug)]
pub struct Browser {
    child: Child,
    port: u16,
    _profile: tempfile::TempDir,
}

/// One page (tab) of a [`Browser`].
#[derive(Debug)]
pub struct Page {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Browser {
    /// Start Chromium with the flags the project uses (and `extra`).
    pub fn start(extra: &[&str]) -> Result<Browser, String> {
        let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
        let mut child = Command::new("chromium")
            .args(FLAGS)
            .args(["--remote-debugging-port=0", "--remote-allow-origins=*"])
            .args(extra)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("chromium: {e}"))?;
        let stderr = child.stderr.take().ok_or("no stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent && line.contains("DevTools listening on ws://") {
                    let _ = tx.send(line);
                    sent = true;
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "chromium did not open its DevTools port".to_string())?;
        let port = line
            .split("ws://127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("no port in {line:?}"))?;
        Ok(Browser {
            child,
            port,
            _profile: profile,
        })
    }

    /// A new tab at `url`.
    pub fn open(&self, url: &str) -> Result<Page, String> {
        let target = http(self.port, "PUT", &format!("/json/new?{url}"))?;
        let ws_url = target["webSocketDebuggerUrl"]
            .as_str()
            .ok_or_else(|| format!("no webSocketDebuggerUrl in {target}"))?
            .to_string();
        let (ws, _) = tungstenite::connect(ws_url).map_err(|e| e.to_string())?;
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(Duration::from_secs(60)))
                .map_err(|e| e.to_string())?;
        }
        Ok(Page { ws, next_id: 1 })
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A request to Chromium's DevTools HTTP endpoint; its JSON answer (read to its Content-Length:
/// the endpoint keeps the connection open).
fn http(port: u16, method: &str, path: &str) -> Result<Value, String> {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("the DevTools endpoint closed before answering".into());
        }
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got).into_owned();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let len = text[..end]
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse::<usize>().ok())
                    .flatten()
            })
            .ok_or_else(|| format!("no Content-Length in {text:?}"))?;
        if got.len() >= end + 4 + len {
            let body = &got[end + 4..end + 4 + len];
            return serde_json::from_slice(body).map_err(|e| format!("{e}: {text}"));
        }
    }
}

impl Page {
    /// Send a DevTools command; its result.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let msg = json!({ "id": id, "method": method, "params": params }).to_string();
        if std::env::var_os("BITFLIX_CDP_TRACE").is_some() {
            eprintln!("cdp> {msg}");
        }
        self.ws
            .send(Message::text(msg))
            .map_err(|e| e.to_string())?;
        loop {
            let m = self.ws.read().map_err(|e| e.to_string())?;
            let Message::Text(t) = m else { continue };
            let v: Value = serde_json::from_str(t.as_str()).map_err(|e| e.to_string())?;
            if v["id"] == id {
                if let Some(e) = v.get("error") {
                    return Err(format!("{method}: {e}"));
                }
                return Ok(v["result"].clone());
            }
        }
    }

    /// The value of JavaScript `expr` in the page (promises awaited).
    pub fn eval(&mut self, expr: &str) -> Result<Value, String> {
        let r = self.call(
            "Runtime.evaluate",
            json!({ "expression": expr, "awaitPromise": true, "returnByValue": true }),
        )?;
        if let Some(e) = r.get("exceptionDetails") {
            return Err(format!("{expr}: {e}"));
        }
        Ok(r["result"]["value"].clone())
    }

    /// Save a PNG of what the page shows to `path`.
    pub fn screenshot(&mut self, path: &std::path::Path) -> Result<(), String> {
        use base64::Engine as _;
        let r = self.call("Page.captureScreenshot", json!({ "format": "png" }))?;
        let data = r["data"].as_str().ok_or("no screenshot data")?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|e| e.to_string())?;
        std::fs::write(path, png).map_err(|e| e.to_string())
    }

    /// Evaluate `expr` until it is truthy (an exception counts as not yet: the page may still be
    /// loading), for at most `limit`; the truthy value, or what it was at the end.
    pub fn wait_for(&mut self, expr: &str, limit: Duration) -> Result<Value, String> {
        let start = Instant::now();
        loop {
            let v = match self.eval(expr) {
                Ok(v) => v,
                Err(e) if start.elapsed() > limit => return Err(e),
                Err(_) => Value::Null,
            };
            let truthy =
                !matches!(v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            if truthy {
                return Ok(v);
            }
            if start.elapsed() > limit {
                return Err(format!("after {limit:?}, {expr} is {v}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
