//! Test support for the BitFlix crates, in one place: running the `bitflix` binary ([`Bitflix`],
//! made by the [`bitflix!`] macro inside the bitflix crate's tests), free loopback ports
//! ([`free_port`]), the devnet daemon ([`Daemon`]), temporary data directories ([`tempdir`]),
//! publish journals on disk ([`journals`], [`journal_txids`], [`has_journal`]), a real bitcoind
//! ([`bitcoind_exe`], and [`bitcoind`]: a node started and blocks filled), the external tools tests need ([`have_ffmpeg`], [`have_chromium`],
//! [`have_tool`]: skipped with a message outside CI, a failure in CI, see [`in_ci`]), a streamer
//! for the live ingest ([`send_test_pattern`]: ffmpeg sending to an SRT or RTMP listener), a live
//! stream end to end in processes ([`live`]) and, with the `devnet` feature, an in-process devnet
//! with faucet-funded keys ([`devnet`]).
//!
//! A dev-dependency only (`publish = false`). Helpers fail loudly: a panic with the reason is a
//! test failure, which is what a helper that cannot do its job should be.

pub mod bitcoind;
pub mod browser;
#[cfg(feature = "devnet")]
pub mod devnet;
mod ingest;
pub mod live;
mod tools;

pub use ingest::{send_test_pattern, Sent};
pub use tools::{
    bitcoind_exe, have_chromium, have_ffmpeg, have_libtorrent, have_tool, in_ci, libtorrent,
    present, LIBTORRENT_PYTHON,
};

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `Command` for the `bitflix` binary of the crate under test (its integration tests only,
/// where Cargo builds the binary): `testkit::bitflix!()`, or `bitflix!(datadir)` to pass
/// `--datadir`.
#[macro_export]
macro_rules! bitflix {
    () => {
        $crate::Bitflix::new(env!("CARGO_BIN_EXE_bitflix"))
    };
    ($datadir:expr) => {
        $crate::Bitflix::new(env!("CARGO_BIN_EXE_bitflix")).datadir($datadir)
    };
}

/// The `bitflix` binary, with the flags every run of a test shares.
#[derive(Debug, Clone)]
pub struct Bitflix {
    exe: PathBuf,
    datadir: Option<PathBuf>,
    json: bool,
}

/// What a finished run printed.
#[derive(Debug, Clone)]
pub struct Run {
    /// The exit code (-1 when killed by a signal).
    pub code: i32,
    /// Stdout as JSON (`Null` when it is not JSON).
    pub json: Value,
    /// Stdout as text.
    pub stdout: String,
    /// Stderr as text.
    pub stderr: String,
}

impl Run {
    /// Whether it exited 0.
    pub fn success(&self) -> bool {
        self.code == 0
    }

    /// Whether it exited 0, its JSON, its stderr.
    pub fn parts(self) -> (bool, Value, String) {
        (self.success(), self.json, self.stderr)
    }
}

impl Bitflix {
    /// The binary at `exe` (use [`bitflix!`]).
    pub fn new(exe: impl Into<PathBuf>) -> Bitflix {
        Bitflix {
            exe: exe.into(),
            datadir: None,
            json: false,
        }
    }

    /// Pass `--datadir DIR` first.
    pub fn datadir(mut self, dir: impl AsRef<Path>) -> Bitflix {
        self.datadir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Pass `--json` too.
    pub fn json(mut self) -> Bitflix {
        self.json = true;
        self
    }

    /// The command for `args`, stdout and stderr piped; spawn it, or change what it does with the
    /// output.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.exe);
        if let Some(d) = &self.datadir {
            c.arg("--datadir").arg(d);
        }
        if self.json {
            c.arg("--json");
        }
        c.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
        c
    }

    /// Run `args` to the end.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self
            .command(args)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", self.exe.display()));
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        Run {
            code: out.status.code().unwrap_or(-1),
            json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).to_string(),
        }
    }

    /// Run `args`, which must succeed; its JSON output.
    pub fn ok(&self, args: &[&str]) -> Value {
        let r = self.run(args);
        assert!(r.success(), "bitflix {args:?} failed: {}", r.stderr);
        r.json
    }
}

/// A loopback TCP port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

/// A temporary directory, removed on drop.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("creating a temporary directory: {e}"))
}

/// `bitflix devnet` as a daemon in its own process (chain in `DATADIR/devnet`), serving the
/// Esplora API and the Core RPC subset on a free port. Stopped with SIGTERM on drop.
#[derive(Debug)]
pub struct Daemon {
    child: Option<Child>,
    listen: String,
}

impl Daemon {
    /// Start `bitflix devnet --listen 127.0.0.1:PORT ARGS...` and wait (up to 60 s) until its
    /// Esplora API answers.
    pub fn start(bitflix: &Bitflix, port: u16, args: &[&str]) -> Daemon {
        let listen = format!("127.0.0.1:{port}");
        let mut all = vec!["devnet", "--listen", &listen];
        all.extend_from_slice(args);
        let child = Bitflix {
            json: false,
            ..bitflix.clone()
        }
        .command(&all)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting the devnet daemon: {e}"));
        let d = Daemon {
            child: Some(child),
            listen,
        };
        let b = chain::esplora::EsploraBackend::new(&d.url(), bitcoin::Network::Regtest);
        let t = Instant::now();
        while chain::ChainBackend::tip(&b).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(60),
                "the devnet daemon did not answer in 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    /// `host:port`.
    pub fn listen(&self) -> &str {
        &self.listen
    }

    /// `http://host:port`, the Esplora API's base URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.listen)
    }

    /// SIGKILL, and wait for the process to end.
    pub fn kill(mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

/// Every publish journal (`plan.json`) under `DATADIR/publish`, with `"replaced"` set when the
/// publish was replaced (`replaced-by` beside it). A directory without `plan.json` (a kill after
/// it was made and before the journal's rename: nothing was broadcast) is no journal, as
/// `wallet::Journal::all` reads it.
pub fn journals(datadir: &Path) -> Vec<Value> {
    let dir = datadir.join("publish");
    let rd = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    rd.map(|e| {
        e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .path()
    })
    .filter(|p| p.join("plan.json").exists())
    .map(|p| {
        let file = p.join("plan.json");
        let body = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let mut j: Value = serde_json::from_slice(&body)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", file.display()));
        j["replaced"] = p.join("replaced-by").exists().into();
        j
    })
    .collect()
}

/// A journal is written (its directory alone may exist a moment before `plan.json` does).
pub fn has_journal(datadir: &Path) -> bool {
    std::fs::read_dir(datadir.join("publish"))
        .map(|rd| rd.flatten().any(|e| e.path().join("plan.json").exists()))
        .unwrap_or(false)
}

/// The txids of a journal's transactions, in broadcast order.
pub fn journal_txids(journal: &Value) -> Vec<bitcoin::Txid> {
    journal["txs"]
        .as_array()
        .unwrap_or_else(|| panic!("a journal without txs: {journal}"))
        .iter()
        .map(|t| {
            t["txid"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("a journal entry without a txid: {t}"))
        })
        .collect()
}
