//! `bitflix live --timings FILE`: one JSON line per encoded chunk as soon as its transactions are
//! accepted, for whoever measures the stream's latency (scripts/bench-glass.sh): the `live chunk`
//! indexes it became, its place in the stream, and when ffmpeg had closed its files and when the
//! backend had accepted its last transaction, both in Unix milliseconds of this machine's clock.

use anyhow::Context;
use media::live::MediaChunk;
use serde::Serialize;
use std::io::Write;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// The open timings file (appended to: a resumed stream goes on in the same file).
#[derive(Debug)]
pub struct Timings(std::fs::File);

/// One line.
#[derive(Debug, Serialize)]
struct Line {
    /// The first `live chunk` index the encoded chunk became.
    first_index: u32,
    /// One past the last.
    end_index: u32,
    /// Milliseconds from the stream's start to the chunk's first packet.
    start_ms: u64,
    /// Milliseconds of media in it.
    media_ms: u64,
    /// When ffmpeg had closed the chunk's files.
    ready_unix_ms: u64,
    /// When the backend had accepted the chunk's last transaction.
    accepted_unix_ms: u64,
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Timings {
    /// Open `path` for appending, creating it.
    pub fn open(path: &Path) -> anyhow::Result<Timings> {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .with_context(|| format!("opening --timings {}", path.display()))?;
        Ok(Timings(f))
    }

    /// Note chunk `c`, sent as indexes `first..end`, accepted just now.
    pub fn note(&mut self, first: u32, end: u32, c: &MediaChunk) -> anyhow::Result<()> {
        let now = SystemTime::now();
        let ready = now.checked_sub(c.ready_at.elapsed()).unwrap_or(now);
        let line = Line {
            first_index: first,
            end_index: end,
            start_ms: c.start_ms,
            media_ms: c.media_ms,
            ready_unix_ms: unix_ms(ready),
            accepted_unix_ms: unix_ms(now),
        };
        let mut text = serde_json::to_vec(&line)?;
        text.push(b'\n');
        self.0
            .write_all(&text)
            .context("writing a line of --timings")?;
        Ok(())
    }
}
