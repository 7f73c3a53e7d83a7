//! Running Debian's ffmpeg and ffprobe, with errors that say what to do.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Media errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// ffmpeg or ffprobe is not installed.
    #[error("{0} not found: install it with `apt-get install ffmpeg` (or run scripts/setup.sh)")]
    Missing(&'static str),
    /// ffmpeg refused the input or failed.
    #[error("{tool} failed: {message}")]
    Tool {
        /// The tool.
        tool: &'static str,
        /// The last lines it printed.
        message: String,
    },
    /// The input has nothing to encode.
    #[error("{0}")]
    Input(String),
    /// A configuration value outside its range.
    #[error("{field} is {value}; the valid range is {range}")]
    Config {
        /// The option.
        field: &'static str,
        /// Its value.
        value: String,
        /// What is allowed.
        range: &'static str,
    },
    /// The produced files do not parse.
    #[error("{0}")]
    Format(#[from] crate::format::FormatError),
    /// A file could not be read or written.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The stream does not mux into WebM.
    #[error("{0}")]
    Mux(#[from] crate::webm::MuxError),
    /// The caller cancelled the run; the tool was killed.
    #[error("cancelled")]
    Cancelled,
}

/// A path as the `&str` an argument list takes (ffmpeg's arguments are text).
pub(crate) fn utf8(p: &Path) -> Result<&str, MediaError> {
    p.to_str()
        .ok_or_else(|| MediaError::Input(format!("path {} is not utf-8", p.display())))
}

pub(crate) fn run<S: AsRef<OsStr>>(tool: &'static str, args: &[S]) -> Result<Vec<u8>, MediaError> {
    Ok(run_output(tool, args)?.stdout)
}

/// Run and keep what the tool printed on stderr (where ffmpeg's filters log their summaries).
pub(crate) fn run_stderr<S: AsRef<OsStr>>(
    tool: &'static str,
    args: &[S],
) -> Result<String, MediaError> {
    Ok(String::from_utf8_lossy(&run_output(tool, args)?.stderr).into_owned())
}

pub(crate) fn spawn_error(tool: &'static str, e: std::io::Error) -> MediaError {
    if e.kind() == std::io::ErrorKind::NotFound {
        MediaError::Missing(tool)
    } else {
        MediaError::Io(e)
    }
}

/// A failed run, with the last lines the tool printed.
pub(crate) fn failed(tool: &'static str, stderr: &[u8]) -> MediaError {
    let err = String::from_utf8_lossy(stderr);
    let tail: Vec<&str> = err.lines().rev().take(3).collect();
    MediaError::Tool {
        tool,
        message: tail.into_iter().rev().collect::<Vec<_>>().join(" / "),
    }
}

fn run_output<S: AsRef<OsStr>>(
    tool: &'static str,
    args: &[S],
) -> Result<std::process::Output, MediaError> {
    let out = Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| spawn_error(tool, e))?;
    if !out.status.success() {
        return Err(failed(tool, &out.stderr));
    }
    Ok(out)
}

/// Run a tool whose output goes to files, until it ends or `cancel` is set: then it is killed
/// and reaped, and the answer is [`MediaError::Cancelled`].
pub(crate) fn run_until(
    tool: &'static str,
    args: &[&str],
    cancel: &AtomicBool,
) -> Result<(), MediaError> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| spawn_error(tool, e))?;
    let stderr = child.stderr.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_end(&mut buf);
        }
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if cancel.load(Ordering::Relaxed) {
            let _ = child.kill();
            let _ = child.wait();
            let _ = reader.join();
            return Err(MediaError::Cancelled);
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap_or_default();
    if !status.success() {
        return Err(failed(tool, &stderr));
    }
    Ok(())
}

/// What ffprobe says about a file.
#[derive(Debug, Clone, Default)]
pub struct Probe {
    /// Duration in seconds.
    pub duration: f64,
    /// Video size and frame rate, if there is video.
    pub video: Option<(u32, u32, f64)>,
    /// Audio present.
    pub audio: bool,
    /// Codec names, in stream order.
    pub codecs: Vec<String>,
}

/// Probe a file.
pub fn probe(path: &Path) -> Result<Probe, MediaError> {
    let p = utf8(path)?;
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
            p,
        ],
    )?;
    let v: serde_json::Value = serde_json::from_slice(&out)
        .map_err(|e| MediaError::Input(format!("ffprobe output: {e}")))?;
    let mut probe = Probe {
        duration: v["format"]["duration"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .unwrap_or(0.0),
        ..Default::default()
    };
    for s in v["streams"].as_array().into_iter().flatten() {
        probe
            .codecs
            .push(s["codec_name"].as_str().unwrap_or("?").to_string());
        match s["codec_type"].as_str() {
            Some("video") if probe.video.is_none() => {
                let (w, h) = (
                    s["width"].as_u64().unwrap_or(0) as u32,
                    s["height"].as_u64().unwrap_or(0) as u32,
                );
                let rate = s["avg_frame_rate"]
                    .as_str()
                    .or(s["r_frame_rate"].as_str())
                    .unwrap_or("0/1");
                let fps = rate
                    .split_once('/')
                    .and_then(|(n, d)| {
                        Some(n.parse::<f64>().ok()? / d.parse::<f64>().ok()?.max(1.0))
                    })
                    .unwrap_or(0.0);
                probe.video = Some((w, h, fps));
            }
            Some("audio") => probe.audio = true,
            _ => {}
        }
    }
    Ok(probe)
}
