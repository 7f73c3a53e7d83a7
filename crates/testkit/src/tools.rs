//! The external programs tests need (ffmpeg, Chromium, bitcoind, vmaf), under one rule: outside CI a
//! test without its tool is skipped and says so ("skipped: ..."); in CI, where `scripts/setup.sh`
//! installs them, a missing tool is a failure, so a test cannot pass there without running.

use std::path::PathBuf;
use std::process::Command;

/// Whether this is a CI run: `CI` set to anything but empty, `0` or `false` (`scripts/test.sh`,
/// which CI runs, sets `CI=1`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// What makes the tools present: scripts/setup.sh installs every one it checks.
const SETUP: &str = "scripts/setup.sh installs it";

/// The rule: true when `ok`; otherwise a panic in CI, and outside CI "skipped: {why}" and false
/// (the caller's test then returns). For a tool found by other code (such as media's `vmaf`).
pub fn present(ok: bool, why: &str, hint: &str) -> bool {
    if ok {
        return true;
    }
    assert!(
        !in_ci(),
        "{why}, and CI is set: in CI this test must run, not skip ({hint})"
    );
    println!("skipped: {why} ({hint}; in CI this is a failure)");
    false
}

/// Whether `program ARGS` runs and exits 0 here, under the rule above.
pub fn have_tool(program: &str, args: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    present(
        ok,
        &format!("{program} is not installed or does not run"),
        SETUP,
    )
}

/// ffmpeg and ffprobe, under the rule above.
pub fn have_ffmpeg() -> bool {
    have_tool("ffmpeg", &["-version"]) && have_tool("ffprobe", &["-version"])
}

/// Chromium, under the rule above; `BITFLIX_NO_BROWSER` skips on purpose, except in CI.
pub fn have_chromium() -> bool {
    if std::env::var_os("BITFLIX_NO_BROWSER").is_some() {
        return present(
            false,
            "BITFLIX_NO_BROWSER is set",
            "unset it to run this test",
        );
    }
    have_tool("chromium", &["--version"])
}

/// Debian's Python, where its python3-libtorrent package is (a pyenv or venv `python3` earlier on
/// PATH would not see it): libtorrent is the tests' independent BitTorrent implementation.
pub const LIBTORRENT_PYTHON: &str = "/usr/bin/python3";

/// libtorrent (Rasterbar 2.0, Debian's python3-libtorrent) for [`LIBTORRENT_PYTHON`], under the
/// rule above.
pub fn have_libtorrent() -> bool {
    let ok = Command::new(LIBTORRENT_PYTHON)
        .args(["-c", "import libtorrent"])
        .output()
        .is_ok_and(|o| o.status.success());
    present(
        ok,
        "python3 with libtorrent (Debian's python3-libtorrent) is not installed",
        SETUP,
    )
}

/// What the Python `script` prints, run with libtorrent's Python and `args` (`sys.argv[1..]`); a
/// panic with its stderr when it fails.
pub fn libtorrent(script: &str, args: &[&str]) -> String {
    let out = Command::new(LIBTORRENT_PYTHON)
        .args(["-c", script])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{LIBTORRENT_PYTHON}: {e}"));
    assert!(
        out.status.success(),
        "libtorrent's script failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The bitcoind to test against: `BITCOIND_EXE`, else `../shared/bitcoind/bitcoind` beside the
/// checkout (where CI provides one built from Bitcoin Core's source), else `bitcoind` on `PATH`,
/// else none, and the caller says "skipped: no bitcoind" (in CI too: no bitcoind may be
/// provided there). A `BITCOIND_EXE` that names no file is a failure in CI and skipped outside.
pub fn bitcoind_exe() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("BITCOIND_EXE").filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        let why = format!("BITCOIND_EXE={} is not a file", p.display());
        let hint = "unset it to use ../shared/bitcoind or PATH";
        return present(p.is_file(), &why, hint).then_some(p);
    }
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/bitcoind/bitcoind"
    );
    if let Some(p) = std::fs::canonicalize(shared).ok().filter(|p| p.is_file()) {
        return Some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("bitcoind"))
        .find(|p| p.is_file())
}
