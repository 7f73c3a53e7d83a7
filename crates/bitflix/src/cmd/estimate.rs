//! `bitflix estimate`: what publishing costs, per carrier, from the code that builds the real
//! transactions; `--table` answers the announcement's table.

use crate::poster::PosterOut;
use anyhow::{bail, Context};
use bitcoin::FeeRate;
use clap::Args;
use cvp::{Carrier, ContentInfo};
use serde::Serialize;
use std::fmt;
use std::path::PathBuf;
use wallet::estimate::Estimate;

/// Estimate the cost of publishing.
#[derive(Debug, Args)]
pub struct EstimateArgs {
    /// A file to publish as it is (already encoded).
    file: Option<PathBuf>,
    /// Instead of a file: a duration (e.g. 2h, 45m, 240s) ...
    #[arg(long, value_parser = parse_duration)]
    duration: Option<u64>,
    /// ... at this many kbit/s (video and audio together).
    #[arg(long)]
    kbps: Option<f64>,
    /// Fee rate in sat/vB (at least 0.1); default: the estimate of --chain, else 1.
    #[arg(long)]
    feerate: Option<f64>,
    /// Ask this backend for the fee rate (Core `estimatesmartfee`, Esplora `fee-estimates`, the
    /// devnet's mempool), as `bitflix publish` does; --feerate overrides it.
    #[arg(long)]
    chain: Option<chain::ChainSpec>,
    /// Only this carrier (op-return-80, op-return, envelope); default: all three.
    #[arg(long)]
    carrier: Option<Carrier>,
    /// Transaction layout: fan-out or chain.
    #[arg(long, default_value = "fan-out")]
    layout: wallet::Layout,
    /// Print our answer to the announcement's table.
    #[arg(long)]
    table: bool,
    /// The poster: for a FILE as `bitflix publish` chooses it; for --duration and --table, `auto`
    /// counts one as large as --poster-bytes.
    #[command(flatten)]
    poster: crate::poster::PosterArgs,
    /// An interactive film's manifest: its cost at its budget (--kbps, default 20,
    /// --budget-bytes or --budget-sats), clip table and branch points included; nothing is
    /// encoded.
    #[arg(long, value_name = "MANIFEST", conflicts_with_all = ["file", "duration", "table"])]
    interactive: Option<PathBuf>,
    /// With --interactive: the film's bytes.
    #[arg(long, requires = "interactive", conflicts_with_all = ["kbps", "budget_sats"])]
    budget_bytes: Option<u64>,
    /// With --interactive: the most its publish may cost in fees, sat.
    #[arg(long, requires = "interactive", conflicts_with = "kbps")]
    budget_sats: Option<u64>,
}

fn parse_duration(s: &str) -> Result<u64, String> {
    let (num, unit) = s.split_at(
        s.find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(s.len()),
    );
    let n: f64 = num
        .parse()
        .map_err(|_| format!("'{s}' is not a duration like 2h, 45m or 90s"))?;
    let secs = match unit {
        "h" => n * 3600.0,
        "m" => n * 60.0,
        "s" | "" => n,
        _ => return Err(format!("'{s}': the unit must be h, m or s")),
    };
    if !(0.0..=86_400.0 * 7.0).contains(&secs) {
        return Err(format!("'{s}': durations from 0 to 7 days"));
    }
    Ok(secs as u64)
}

/// One row: a carrier's estimate for a stream.
#[derive(Debug, Serialize)]
pub struct Row {
    /// What is estimated.
    pub what: String,
    /// The estimate, the poster included.
    #[serde(flatten)]
    pub estimate: Estimate,
    /// Fee in BTC.
    pub fee_btc: f64,
    /// The poster and what it adds (the estimate without it, subtracted).
    pub poster: PosterOut,
}

/// The output.
#[derive(Debug, Serialize)]
pub struct EstimateOut {
    /// Fee rate, sat/vB.
    pub feerate: f64,
    /// Where the fee rate came from: `--feerate`, `backend` (the estimate of --chain) or
    /// `default` (1 sat/vB).
    pub feerate_source: &'static str,
    /// Rows.
    pub rows: Vec<Row>,
    /// The announcement's claim, beside ours (with `--table`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub announced: Option<&'static str>,
    /// With `--table`: the 2-hour film pinned on chain by one commitment, its bytes on BitTorrent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commitment: Option<crate::commitment::CommitmentCost>,
    /// The interactive film estimated (with `--interactive`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<super::interactive::InteractiveEstimate>,
}

/// The table's film: two hours at 12 kbit/s of video and 8 of audio.
const TWO_HOURS_S: u64 = 7200;
const TWO_HOURS_KBPS: f64 = 20.0;
const TWO_HOURS_BYTES: u64 = TWO_HOURS_S * 20_000 / 8;

const ANNOUNCED: &str = "announced: a two-hour 4K film in 76 bytes, 7,200 transactions, 0.3 BTC. \
That cannot be: a 76-byte record can name at most 2^608 different things, and a film is one of far more \
possible films; no compression, \"quantum\" or \"fractal\", can index them all in 608 bits.";

pub fn run(g: &super::Global, args: EstimateArgs) -> anyhow::Result<EstimateOut> {
    let (feerate, feerate_source) = match (args.feerate, &args.chain) {
        (Some(r), _) => (super::wallet::feerate_arg(r)?, "--feerate"),
        (None, Some(spec)) => {
            let b = crate::backend::open(spec, g.network())?;
            let rate = b.fee_estimate(1).context("the backend's fee estimate")?;
            (rate, "backend")
        }
        (None, None) => (FeeRate::from_sat_per_kwu(250), "default"),
    };
    let carriers: Vec<Carrier> = args.carrier.map_or(Carrier::ALL.to_vec(), |c| vec![c]);
    if let Some(manifest) = &args.interactive {
        let budget =
            super::interactive::Budget::of(args.kbps, args.budget_bytes, args.budget_sats)?;
        let (rows, film) = super::interactive::estimate(
            manifest,
            budget,
            &carriers,
            feerate,
            args.layout,
            &args.poster,
        )?;
        return Ok(EstimateOut {
            feerate: crate::rails::sat_per_vb(feerate),
            feerate_source,
            rows,
            announced: None,
            commitment: None,
            interactive: Some(film),
        });
    }
    let mut streams: Vec<(String, u64)> = Vec::new();
    let poster = match &args.file {
        Some(f) if !args.table => crate::poster::choose(
            &args.poster,
            f,
            crate::bundle::media_type_of(f),
            Carrier::Envelope,
            None,
        )?,
        _ => crate::poster::placeholder(&args.poster)?,
    };
    if args.table {
        // Video at the rates our encoder targets, with Opus speech/music at 8 kbit/s.
        for (what, secs, kbps) in [
            ("2-hour film, 12+8 kbit/s", TWO_HOURS_S, TWO_HOURS_KBPS),
            ("45-minute episode, 12+8 kbit/s", 2700, 20.0),
            ("4-minute music video, 24+16 kbit/s", 240, 40.0),
        ] {
            streams.push((what.into(), (secs as f64 * kbps * 1000.0 / 8.0) as u64));
        }
    } else if let Some(f) = &args.file {
        let len = std::fs::metadata(f)
            .with_context(|| format!("reading {}", f.display()))?
            .len();
        streams.push((f.display().to_string(), len));
    } else if let (Some(secs), Some(kbps)) = (args.duration, args.kbps) {
        if !(0.1..=100_000.0).contains(&kbps) {
            bail!("--kbps {kbps} is outside 0.1..=100000");
        }
        streams.push((
            format!("{secs} s at {kbps} kbit/s"),
            (secs as f64 * kbps * 1000.0 / 8.0) as u64,
        ));
    } else {
        bail!("give a FILE, or --duration and --kbps, or --table");
    }
    let mut rows = Vec::new();
    for (what, len) in streams {
        for &c in &carriers {
            // A short title, so the header fits the 80-byte carrier too.
            let chosen = poster.for_carrier(c);
            let info = ContentInfo {
                title: Some("untitled".into()),
                media_type: "video/x-cvpm".into(),
                duration_ms: Some(0),
                poster: chosen.bytes(),
                records: Vec::new(),
            };
            let (e, poster) = crate::poster::cost(len, &info, &chosen, c, feerate, args.layout)?;
            rows.push(Row {
                what: what.clone(),
                fee_btc: e.fee_sat as f64 / 1e8,
                estimate: e,
                poster,
            });
        }
    }
    Ok(EstimateOut {
        feerate: crate::rails::sat_per_vb(feerate),
        feerate_source,
        rows,
        announced: args.table.then_some(ANNOUNCED),
        commitment: args
            .table
            .then(|| crate::commitment::cost("2-hour film, 12+8 kbit/s", TWO_HOURS_BYTES, feerate))
            .transpose()?,
        interactive: None,
    })
}

impl fmt::Display for EstimateOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "fee rate {} sat/vB ({})",
            self.feerate, self.feerate_source
        )?;
        writeln!(
            f,
            "{:<36} {:<13} {:>12} {:>9} {:>8} {:>12} {:>12} {:>11} {:>7} {:>9} {:>10}",
            "stream",
            "carrier",
            "payload B",
            "framing B",
            "txs",
            "vbytes",
            "fee sat",
            "fee BTC",
            "vB/B",
            "poster B",
            "poster sat"
        )?;
        for r in &self.rows {
            let e = &r.estimate;
            writeln!(
                f,
                "{:<36} {:<13} {:>12} {:>9} {:>8} {:>12} {:>12} {:>11.8} {:>7.3} {:>9} {:>10}",
                r.what,
                e.carrier.name(),
                e.payload_bytes,
                e.framing_bytes,
                e.transactions,
                e.vbytes,
                e.fee_sat,
                r.fee_btc,
                e.vbytes_per_byte,
                r.poster.bytes,
                r.poster.fee_sat
            )?;
        }
        let mut said: Vec<&str> = Vec::new();
        for r in &self.rows {
            let s = r.poster.source.as_str();
            if !said.contains(&s) {
                writeln!(f, "poster: {s}")?;
                said.push(s);
            }
        }
        if let Some(c) = &self.commitment {
            writeln!(
                f,
                "{:<36} {:<13} {:>12} {:>9} {:>8} {:>12} {:>12} {:>11.8}",
                c.what,
                "commitment",
                c.unit_bytes,
                0,
                1,
                c.vbytes,
                c.fee_sat,
                c.fee_sat as f64 / 1e8
            )?;
            writeln!(
                f,
                "commitment: {} bytes on BitTorrent; {}",
                c.content_bytes, c.note
            )?;
        }
        if let Some(a) = self.announced {
            writeln!(f, "\n{a}")?;
        }
        if let Some(i) = &self.interactive {
            writeln!(f, "{i}")?;
        }
        Ok(())
    }
}
