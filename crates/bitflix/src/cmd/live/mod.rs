//! `bitflix live --source SRC --title T`: a live stream from the mempool (docs/cvp.md, "Live
//! streams"). The source is encoded in real time (`media::live`), each chunk becomes `live chunk`
//! records broadcast the moment they are encoded, paid by coins that fan-outs prepared
//! (`wallet::plan::live`), every signed transaction journaled before it is broadcast
//! (`wallet::live`). Ctrl-C or SIGTERM ends it with an `end` record (count and Merkle root), so
//! the recording verifies as a film; `--resume` continues a killed stream.

mod cost;
mod funds;
mod stream;
mod timings;

use anyhow::{bail, Context};
use chain::ChainSpec;
use clap::Args;
use cvp::Carrier;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Stream live.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// The source: a file (played at its own pace), lavfi:testsrc2 (a test pattern with a tone),
    /// lavfi:clock (the same with the capture time burned in, for latency measurements),
    /// v4l2:/dev/videoN (a capture device, no sound),
    /// srt://HOST:PORT?mode=listener or rtmp://HOST:PORT/APP/KEY (a network ingest: ffmpeg
    /// listens once the first fan-out is confirmed and waits for the sender, such as OBS, as long
    /// as it takes, saying where to send; the sender stopping ends the stream, like a file's end).
    #[arg(long, required_unless_present = "resume")]
    source: Option<String>,
    /// Title shown to viewers.
    #[arg(long, default_value = "Live")]
    title: String,
    /// Carrier: envelope (default: the cheapest, see BENCHMARKS.md "Live"), op-return or op-return-80.
    #[arg(long, default_value = "envelope")]
    carrier: Carrier,
    /// Chunk length (a keyframe starts each): 2s, 1500ms.
    #[arg(long, default_value = "2s", value_parser = parse_ms)]
    chunk: u32,
    /// The AV1 encoder: aom (libaom-av1 real-time) or svt (SVT-AV1 low delay).
    #[arg(long, default_value = "aom")]
    encoder: media::live::LiveCodec,
    /// The stream's rate in kbit/s, audio included.
    #[arg(long, default_value_t = 24.0)]
    kbps: f64,
    /// The audio's share in kbit/s (0: no audio).
    #[arg(long, default_value_t = 6.0)]
    audio_kbps: f64,
    /// Picture size, WxH.
    #[arg(long, default_value = "256x144")]
    size: String,
    /// Frames per second.
    #[arg(long, default_value_t = 10)]
    fps: u32,
    /// Fee rate in sat/vB (default: the backend's estimate).
    #[arg(long)]
    feerate: Option<f64>,
    /// The chain: devnet:DIR, or esplora:URL or core:URL (regtest).
    #[arg(long, default_value = "devnet:bitflix-data/devnet")]
    chain: ChainSpec,
    /// Coins per fan-out (each pays one chunk record).
    #[arg(long, default_value_t = 1000)]
    fanout_width: usize,
    /// Hours of stream each funding from the wallet pays for (the wallet is asked again when the
    /// stream's funds run short, so a stream runs as long as the wallet can pay).
    #[arg(long, default_value_t = 1.0)]
    hours: f64,
    /// Stop (and end the stream) after this many seconds of source.
    #[arg(long)]
    duration: Option<f64>,
    /// Encode as fast as the machine goes instead of at the source's pace (tests, simulations).
    #[arg(long)]
    accelerated: bool,
    /// Devnet only: mine a block every this many seconds of stream (default 600, Bitcoin's mean).
    #[arg(long, default_value_t = 600.0)]
    block_every: f64,
    /// Continue the unfinished stream in the data directory (same content id, next index).
    #[arg(long, conflicts_with = "source")]
    resume: bool,
    /// Append one JSON line per chunk to FILE as it is sent: its indexes and when it was encoded
    /// and accepted (Unix ms), for latency measurements (scripts/bench-glass.sh).
    #[arg(long, value_name = "FILE")]
    timings: Option<std::path::PathBuf>,
}

/// The settings a stream is made with, kept in its journal for `--resume`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settings {
    source: String,
    /// Absent in journals written before the choice existed: libaom.
    #[serde(default)]
    encoder: media::live::LiveCodec,
    chunk_ms: u32,
    kbps: f64,
    audio_kbps: f64,
    width: u32,
    height: u32,
    fps: u32,
    accelerated: bool,
    duration: Option<f64>,
    block_every: f64,
}

impl Settings {
    fn encoder(&self, elapsed_s: f64) -> anyhow::Result<media::live::LiveConfig> {
        Ok(media::live::LiveConfig {
            source: self.source.parse().map_err(anyhow::Error::msg)?,
            codec: self.encoder,
            chunk_ms: self.chunk_ms,
            kbps: self.kbps,
            audio_kbps: self.audio_kbps,
            width: self.width,
            height: self.height,
            fps: self.fps,
            realtime: !self.accelerated,
            max_seconds: self.duration.map(|d| (d - elapsed_s).max(0.0)),
        })
    }
}

/// Where a streamer points OBS (Settings, Stream, Service "Custom") for the ingest `url`
/// ffmpeg listens on.
fn sender_hint(url: &str) -> String {
    let anywhere = if url.contains("0.0.0.0") {
        " (0.0.0.0: this machine's address)"
    } else {
        ""
    };
    match url.strip_prefix("rtmp://").and_then(|r| r.rsplit_once('/')) {
        Some((server, key)) => {
            format!("in OBS, Server rtmp://{server}, Stream Key {key}{anywhere}")
        }
        None => format!(
            "in OBS, Server {}{anywhere}",
            url.replace("mode=listener", "mode=caller")
        ),
    }
}

fn parse_ms(s: &str) -> Result<u32, String> {
    let (n, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1000.0)
    } else {
        (s, 1000.0)
    };
    let v: f64 = n
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 2s or 1500ms"))?;
    let ms = (v * scale).round();
    if !(500.0..=60_000.0).contains(&ms) {
        return Err(format!("chunk {s} is outside 500ms..=60s"));
    }
    Ok(ms as u32)
}

fn parse_size(s: &str) -> anyhow::Result<(u32, u32)> {
    let (w, h) = s
        .split_once('x')
        .with_context(|| format!("--size {s}: expected WxH"))?;
    Ok((w.parse()?, h.parse()?))
}

/// What a stream did (printed at the end; `--json` for scripts).
#[derive(Debug, Serialize, Default)]
pub struct LiveOut {
    /// Content id.
    pub content_id: String,
    /// Carrier.
    pub carrier: String,
    /// `live chunk` records on chain (indexes 0..chunks).
    pub chunks: u32,
    /// Encoded chunks of media sent in this run.
    pub media_chunks_sent: u32,
    /// Payload bytes of every record.
    pub payload_bytes: u64,
    /// Fees of every transaction of the stream, sat.
    pub fee_sat: u64,
    /// Virtual bytes of every transaction of the stream.
    pub vbytes: u64,
    /// Fan-outs made (the first and the refills).
    pub fanouts: u32,
    /// Funding transactions from the wallet after the first (another `--hours` each).
    pub topups: u32,
    /// The `end` record is sent: the recording verifies as a film.
    pub ended: bool,
    /// Transactions sent again on resume (logged before a kill, unknown to the chain).
    pub resent: usize,
    /// The cost per hour at this rate and fee rate, sat (printed before the start).
    pub cost_per_hour_sat: u64,
    /// Encode and broadcast latency of each chunk in this run: last, median and largest, ms
    /// (from the chunk's files closed by ffmpeg to the last of its transactions accepted).
    pub latency_ms_last: f64,
    /// Median.
    pub latency_ms_p50: f64,
    /// Largest.
    pub latency_ms_max: f64,
    /// Most chunks that waited at once for coins the mempool limits allowed.
    pub max_backlog: usize,
    /// Blocks mined (devnet) or seen while streaming.
    pub blocks: u32,
    /// The journal.
    pub journal: String,
}

impl fmt::Display for LiveOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "live stream {} ({}): {} chunks, {} bytes, {} sat in fees over {} vB, {} fan-outs, {}\nlatency per chunk: last {:.0} ms, median {:.0} ms, max {:.0} ms\njournal: {}",
            self.content_id,
            self.carrier,
            self.chunks,
            self.payload_bytes,
            self.fee_sat,
            self.vbytes,
            self.fanouts,
            if self.ended { "ended (verifies as a film)" } else { "still open" },
            self.latency_ms_last,
            self.latency_ms_p50,
            self.latency_ms_max,
            self.journal
        )
    }
}

pub fn run(g: &super::Global, args: LiveArgs) -> anyhow::Result<LiveOut> {
    let chain = match &args.chain {
        #[cfg(feature = "devnet")]
        ChainSpec::Devnet(_) => {
            super::publish::Chain::Devnet(crate::backend::open_devnet(&args.chain, g.network())?)
        }
        #[cfg(not(feature = "devnet"))]
        ChainSpec::Devnet(_) => return Err(crate::backend::without_devnet("--chain devnet:DIR")),
        ChainSpec::Esplora(_) | ChainSpec::Core(_) => {
            super::publish::Chain::Other(crate::backend::open(&args.chain, g.network())?)
        }
        _ => bail!("live streams work with --chain devnet:DIR, esplora:URL or core:URL"),
    };
    let stop = stream::stop_on_signal();
    let timings = args
        .timings
        .as_deref()
        .map(timings::Timings::open)
        .transpose()?;
    if args.resume {
        let Some(dir) = wallet::live::LiveJournal::unfinished(&g.datadir)
            .into_iter()
            .next()
        else {
            bail!("no unfinished live stream in {}", g.datadir.display());
        };
        return stream::resume(g, &chain, &dir, &stop, timings);
    }
    let feerate = match args.feerate {
        Some(r) => super::wallet::feerate_arg(r)?,
        None => chain.backend().fee_estimate(1)?,
    };
    if let Some(d) = wallet::live::LiveJournal::unfinished(&g.datadir).first() {
        bail!(
            "the live stream in {} is not ended: run `bitflix live --resume` (nothing is paid twice)",
            d.display()
        );
    }
    let (width, height) = parse_size(&args.size)?;
    let settings = Settings {
        source: args.source.clone().unwrap_or_default(),
        encoder: args.encoder,
        chunk_ms: args.chunk,
        kbps: args.kbps,
        audio_kbps: args.audio_kbps,
        width,
        height,
        fps: args.fps,
        accelerated: args.accelerated,
        duration: args.duration,
        block_every: args.block_every,
    };
    settings.encoder(0.0)?;
    let start = stream::Start {
        title: &args.title,
        carrier: args.carrier,
        feerate,
        fanout_width: args.fanout_width.clamp(1, wallet::plan::FANOUT_WIDTH),
        hours: args.hours,
        settings,
    };
    stream::start(g, &chain, &start, &stop, timings)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_streamer_is_told_where_obs_sends() {
        assert_eq!(
            super::sender_hint("srt://0.0.0.0:9000?mode=listener"),
            "in OBS, Server srt://0.0.0.0:9000?mode=caller (0.0.0.0: this machine's address)"
        );
        assert_eq!(
            super::sender_hint("rtmp://127.0.0.1:1935/live/key"),
            "in OBS, Server rtmp://127.0.0.1:1935/live, Stream Key key"
        );
    }
}
