//! A live stream end to end in separate processes, as people run it: `bitflix devnet` (ZMQ, a
//! block every so often), the publisher's wallet funded over JSON-RPC as on regtest, gateways
//! (`bitflix serve`) reading the chain through the Core backend (ZMQ) or Esplora (polling), and
//! the publisher (`bitflix live`). Every process is stopped when the rig is dropped.

use crate::{free_port, Bitflix, Daemon};
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The processes of one live stream.
#[derive(Debug)]
pub struct LiveRig {
    bitflix: Bitflix,
    dir: tempfile::TempDir,
    daemon: Daemon,
    zmq: String,
    children: Vec<Child>,
}

/// `GET url` as JSON; `None` on any failure (not up yet, a 404).
pub fn get_json(url: &str) -> Option<Value> {
    ureq::get(url)
        .timeout(Duration::from_secs(10))
        .call()
        .ok()?
        .into_json()
        .ok()
}

impl LiveRig {
    /// Start the devnet (mining a block every `block_every`, e.g. `5s`) and fund the
    /// publisher's wallet with 101 blocks mined to it through the Core RPC.
    pub fn start(bitflix: &Bitflix, block_every: &str) -> LiveRig {
        let dir = crate::tempdir();
        let zmq = format!("tcp://127.0.0.1:{}", free_port());
        let node = Bitflix {
            datadir: Some(dir.path().join("node")),
            ..bitflix.clone()
        };
        let daemon = Daemon::start(
            &node,
            free_port(),
            &["--zmq", &zmq, "--block-interval", block_every],
        );
        let rig = LiveRig {
            bitflix: bitflix.clone(),
            dir,
            daemon,
            zmq,
            children: Vec::new(),
        };
        let w = rig
            .publisher()
            .json()
            .ok(&["wallet", "address", "--chain", &rig.core()]);
        let address = w["address"]
            .as_str()
            .unwrap_or_else(|| panic!("no address: {w}"));
        rig.rpc("generatetoaddress", &format!("[101,\"{address}\"]"));
        rig
    }

    /// A JSON-RPC call to the devnet's Core RPC; its result.
    pub fn rpc(&self, method: &str, params: &str) -> Value {
        let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#);
        let reply: Value = ureq::post(&format!("{}/", self.daemon.url()))
            .send_string(&body)
            .unwrap_or_else(|e| panic!("{method}: {e}"))
            .into_json()
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        assert!(reply["error"].is_null(), "{method}: {reply}");
        reply["result"].clone()
    }

    /// The chain as the Core backend with ZMQ: `core:http://HOST:PORT?zmq=...`.
    pub fn core(&self) -> String {
        format!("core:{}?zmq={}", self.daemon.url(), self.zmq)
    }

    /// The chain as Esplora (polled).
    pub fn esplora(&self) -> String {
        format!("esplora:{}", self.daemon.url())
    }

    /// A path in the rig's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The publisher's `bitflix` (its own data directory).
    pub fn publisher(&self) -> Bitflix {
        Bitflix {
            datadir: Some(self.path("publisher")),
            ..self.bitflix.clone()
        }
    }

    /// `bitflix serve --chain CHAIN` with data directory `name`; its base URL once the catalog
    /// answers (up to 60 s).
    pub fn serve(&mut self, name: &str, chain: &str) -> String {
        self.serve_with(name, chain, &[])
    }

    /// [`LiveRig::serve`] with more arguments; its stderr goes to `NAME.err` in the rig's
    /// directory.
    pub fn serve_with(&mut self, name: &str, chain: &str, args: &[&str]) -> String {
        let listen = format!("127.0.0.1:{}", free_port());
        let b = Bitflix {
            datadir: Some(self.path(name)),
            json: false,
            ..self.bitflix.clone()
        };
        let err = std::fs::File::create(self.path(&format!("{name}.err")))
            .unwrap_or_else(|e| panic!("{name}.err: {e}"));
        let mut all = vec!["serve", "--chain", chain, "--listen", &listen];
        all.extend_from_slice(args);
        let child = b
            .command(&all)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting bitflix serve: {e}"));
        self.children.push(child);
        let url = format!("http://{listen}");
        let t = Instant::now();
        while get_json(&format!("{url}/api/catalog")).is_none() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "{name}: serve did not answer in 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        url
    }

    /// Kill the process started last (a gateway, to start it again on the same data directory).
    pub fn kill_last(&mut self) {
        if let Some(mut c) = self.children.pop() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// `bitflix --json live --chain CORE ARGS...` as the publisher, its stdout piped (the report)
    /// and stderr to `live.err` in the rig's directory.
    pub fn go_live(&self, args: &[&str]) -> Child {
        let core = self.core();
        let mut all = vec!["live", "--chain", &core];
        all.extend_from_slice(args);
        let err = std::fs::File::create(self.path("live.err"))
            .unwrap_or_else(|e| panic!("live.err: {e}"));
        self.publisher()
            .json()
            .command(&all)
            .stdout(Stdio::piped())
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting bitflix live: {e}"))
    }

    /// What the publisher wrote to stderr so far.
    pub fn live_stderr(&self) -> String {
        std::fs::read_to_string(self.path("live.err")).unwrap_or_default()
    }
}

/// The id of the first live stream gateway `url` lists, waiting up to `limit`.
pub fn live_id(url: &str, limit: Duration) -> Option<String> {
    let t = Instant::now();
    loop {
        if let Some(list) = get_json(&format!("{url}/api/catalog")) {
            let found = list.as_array().and_then(|items| {
                items
                    .iter()
                    .find(|i| !i["live"].is_null())
                    .and_then(|i| i["id"].as_str().map(str::to_owned))
            });
            if found.is_some() {
                return found;
            }
        }
        if t.elapsed() > limit {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIGTERM: how a person ends a stream (Ctrl-C does the same).
pub fn sigterm(child: &Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
}

impl Drop for LiveRig {
    fn drop(&mut self) {
        for c in &mut self.children {
            sigterm(c);
        }
        for c in &mut self.children {
            let _ = c.wait();
        }
    }
}
