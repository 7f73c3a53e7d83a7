//! A streamer for the tests of `bitflix live`'s network ingest: ffmpeg sends a real-time test
//! pattern with a tone to the listener, as OBS would (MPEG-TS over `srt://`, FLV over `rtmp://`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A run that failed sooner than this did not connect (the listener was not up yet).
const CONNECTING: Duration = Duration::from_secs(2);

/// What the sender did.
#[derive(Debug, Clone)]
pub struct Sent {
    /// Connection attempts, the last one the one that connected.
    pub attempts: u32,
    /// How long the connected attempt ran.
    pub ran: Duration,
    /// Whether it ended without an error (false: the listener closed first, e.g. at its
    /// duration).
    pub clean: bool,
    /// What it printed on stderr.
    pub stderr: String,
}

/// Send `seconds` of ffmpeg's test pattern (320x180 at 25 fps, libx264 `ultrafast` with zero
/// latency, a keyframe a second) and a 440 Hz tone (AAC, 48 kHz), at the source's pace, to `url`
/// (`srt://HOST:PORT?mode=caller` or `rtmp://HOST:PORT/APP/KEY`). An attempt that fails within
/// 2 s did not connect and is tried again every 200 ms, for `connect_within` at most (then it
/// panics). SRT callers give up connecting after 500 ms unless the URL says otherwise.
pub fn send_test_pattern(url: &str, seconds: f64, connect_within: Duration) -> Sent {
    let (format, url) = if url.starts_with("srt://") {
        let url = if url.contains("connect_timeout=") {
            url.to_owned()
        } else {
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}connect_timeout=500")
        };
        ("mpegts", url)
    } else if url.starts_with("rtmp://") {
        ("flv", url.to_owned())
    } else {
        panic!("send_test_pattern: {url} is neither srt:// nor rtmp://");
    };
    let t = format!("{seconds:.3}");
    let args = [
        "-nostdin",
        "-v",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=25",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        t.as_str(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
        "-g",
        "25",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-b:a",
        "64k",
        "-f",
        format,
        url.as_str(),
    ];
    let start = Instant::now();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let began = Instant::now();
        let out = Command::new("ffmpeg")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("running ffmpeg to send to {url}: {e}"));
        let ran = began.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.success() || ran >= CONNECTING {
            return Sent {
                attempts,
                ran,
                clean: out.status.success(),
                stderr,
            };
        }
        assert!(
            start.elapsed() < connect_within,
            "no listener on {url} within {connect_within:?} ({attempts} attempts): {stderr}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
