//! The stream itself: fund, header, first fan-out (confirmed before going live), then each chunk
//! as it is encoded: split into records that fit a coin, signed, journaled, broadcast; refills
//! before the coins run dry; the `end` when told to stop.
//!
//! Mempool limits (25 ancestors / descendants, 101 kvB): a chunk spends a coin of a confirmed
//! fan-out, so it has no unconfirmed ancestor but its own commit. Only the newest fan-out may be
//! unconfirmed: a refill is sent once the previous fan-out confirmed, and its coins are used
//! before it confirms only while its whole unconfirmed cluster stays under the limits. A chunk
//! that finds no such coin waits (the backlog) for a block.

use super::cost::{sizing, Sizing};
use super::funds::{fund, need_for, signer};
use super::{LiveOut, Settings};
use crate::cmd::publish::Chain;
use anyhow::bail;
use bitcoin::{Amount, FeeRate, Transaction, Txid};
use chain::{ChainBackend, TxStatus};
use cvp::{Carrier, Header, LiveChunk, Record};
use media::live::{Continue, LiveEncoder, MediaChunk};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use wallet::live::{decode, send, LiveJournal, LiveMeta, LiveState};
use wallet::plan::live::{Coin, LiveBuilder, LiveTx};

/// Core's ancestor and descendant count limit, the transaction included.
const MAX_CLUSTER: usize = 25;
/// Core's ancestor and descendant size limit.
const MAX_CLUSTER_VSIZE: u64 = 101_000;
/// The smallest wallet coin a top-up spends (the stream leaves many smaller change outputs at
/// the plan key, a wallet address: gathering them would make an oversized transaction).
const TOPUP_MIN_COIN: Amount = Amount::from_sat(10_000);

/// A flag set by the first SIGINT or SIGTERM.
pub fn stop_on_signal() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            rt.block_on(async {
                let wait = crate::signal::shutdown();
                tokio::pin!(wait);
                // Poll once so both handlers are installed before we report ready.
                tokio::select! {
                    biased;
                    () = &mut wait => { f.store(true, Ordering::SeqCst); return; }
                    () = async {} => {}
                }
                let _ = ready_tx.send(());
                wait.await;
                f.store(true, Ordering::SeqCst);
            });
        }
    });
    let _ = ready_rx.recv_timeout(std::time::Duration::from_secs(2));
    flag
}

/// A new stream.
pub struct Start<'a> {
    pub title: &'a str,
    pub carrier: Carrier,
    pub feerate: FeeRate,
    pub fanout_width: usize,
    pub hours: f64,
    pub settings: Settings,
}

pub fn start(
    g: &crate::cmd::Global,
    chain: &Chain,
    s: &Start<'_>,
    stop: &AtomicBool,
    timings: Option<super::timings::Timings>,
) -> anyhow::Result<LiveOut> {
    let (mut w, signer) = signer(g, chain)?;
    let b = LiveBuilder::new(&signer, s.carrier, s.feerate)?;
    let size = sizing(&b, s.settings.kbps, s.settings.chunk_ms, s.fanout_width)?;
    let sat_vb = s.feerate.to_sat_per_kwu() as f64 * 4.0 / 1000.0;
    eprintln!(
        "cost per hour at {} kbit/s, {} ms chunks, {sat_vb} sat/vB on {}: about {} sat ({} chunk records, {} sat per coin)",
        s.settings.kbps, s.settings.chunk_ms, s.carrier, size.fee_per_hour, size.records_per_hour, size.coin
    );
    let need = need_for(&size, s.hours, s.fanout_width);
    let (funding, coin) = fund(chain, &mut w, &signer, need, s.feerate)?;
    let header = Header {
        title: Some(s.title.to_string()),
        media_type: "video/x-cvpm".into(),
        duration_ms: None,
        total_length: None,
        segment_count: None,
        merkle_root: None,
        segment_size: None,
        poster: None,
        unknown: Vec::new(),
    };
    let (htx, change) = b.header(&coin, &header)?;
    let content_id = htx.tx.compute_txid();
    let mut state = LiveState::new(content_id);
    let first_count = s.fanout_width;
    let (f0, _, _) = b.fan_out(0, &change, &[], first_count, size.coin)?;
    let first = vec![funding, htx, f0];
    let meta = LiveMeta {
        content_id,
        title: s.title.to_string(),
        carrier: s.carrier.name().to_string(),
        feerate_sat_per_kvb: s.feerate.to_sat_per_kwu() * 4,
        coin_sat: size.coin.to_sat(),
        fanout_width: s.fanout_width,
        settings: serde_json::to_value(&s.settings)?,
    };
    let journal = LiveJournal::create(&g.datadir, &meta, &first)?;
    for t in &first {
        state.apply(t.role, &t.tx, t.fee.to_sat(), t.vsize);
    }
    let txs: Vec<Transaction> = first.iter().map(|t| t.tx.clone()).collect();
    send(chain.backend(), &txs)?;
    eprintln!("content id {content_id}: waiting for the first fan-out to confirm");
    let mut run = Run::new(
        chain,
        &b,
        size,
        journal,
        state,
        &s.settings,
        g.json,
        need,
        s.fanout_width,
    );
    run.timings = timings;
    run.confirm_newest_fanout()?;
    run.out.cost_per_hour_sat = size.fee_per_hour;
    run.wallet = Some(&mut w);
    run.topup_hours = s.hours;
    run.stream(stop, Continue::default())
}

pub fn resume(
    g: &crate::cmd::Global,
    chain: &Chain,
    dir: &Path,
    stop: &AtomicBool,
    timings: Option<super::timings::Timings>,
) -> anyhow::Result<LiveOut> {
    let (journal, meta, steps) = LiveJournal::open(dir)?;
    let settings: Settings = serde_json::from_value(meta.settings.clone())?;
    let (mut w, signer) = signer(g, chain)?;
    let carrier: Carrier = meta.carrier.parse().map_err(anyhow::Error::msg)?;
    let rate = FeeRate::from_sat_per_kwu(meta.feerate_sat_per_kvb / 4);
    let b = LiveBuilder::new(&signer, carrier, rate)?;
    let mut size = sizing(&b, settings.kbps, settings.chunk_ms, meta.fanout_width)?;
    size.coin = Amount::from_sat(meta.coin_sat);
    size.unit = b.unit_capacity(size.coin)?;
    let mut state = LiveState::new(meta.content_id);
    let mut resent = 0;
    for step in &steps {
        let txs = step.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        for (e, tx) in step.iter().zip(&txs) {
            state.apply(e.role, tx, e.fee_sat, e.vsize);
        }
        resent += send(chain.backend(), &txs)?;
    }
    let cont = Continue::of_stream(&state.payloads.concat())?;
    eprintln!(
        "resuming {}: {} chunk records on chain, {} sent again",
        meta.content_id, state.next_index, resent
    );
    let mut run = Run::new(
        chain,
        &b,
        size,
        journal,
        state,
        &settings,
        g.json,
        Amount::ZERO,
        meta.fanout_width,
    );
    run.out.resent = resent;
    run.timings = timings;
    run.out.cost_per_hour_sat = size.fee_per_hour;
    if run.state.ended {
        return Ok(run.finish());
    }
    run.confirm_newest_fanout()?;
    run.wallet = Some(&mut w);
    run.stream(stop, cont)
}

/// The running stream.
struct Run<'a> {
    chain: &'a Chain,
    b: &'a LiveBuilder<'a>,
    size: Sizing,
    journal: LiveJournal,
    state: LiveState,
    settings: &'a Settings,
    quiet: bool,
    /// Unconfirmed fan-outs (at most the newest) and the txs and vbytes of their cluster.
    unconfirmed: Option<(Txid, usize, u64)>,
    out: LiveOut,
    latencies: Vec<f64>,
    media_ms: u64,
    last_block_ms: u64,
    funded: Amount,
    width: usize,
    /// `--timings`: a line per chunk sent.
    timings: Option<super::timings::Timings>,
    /// The wallet that tops the stream up when its funds run short.
    wallet: Option<&'a mut wallet::hd::HdWallet>,
    /// Hours of stream each top-up pays for (`--hours`).
    topup_hours: f64,
}

impl<'a> Run<'a> {
    #[allow(
        clippy::too_many_arguments,
        reason = "the parts of one stream, gathered once"
    )]
    fn new(
        chain: &'a Chain,
        b: &'a LiveBuilder<'a>,
        size: Sizing,
        journal: LiveJournal,
        state: LiveState,
        settings: &'a Settings,
        quiet: bool,
        funded: Amount,
        width: usize,
    ) -> Self {
        let out = LiveOut {
            content_id: state.content_id.to_string(),
            carrier: b.carrier().to_string(),
            journal: journal.dir().display().to_string(),
            ..LiveOut::default()
        };
        let media_ms = state.last_timestamp_ms;
        Run {
            chain,
            b,
            size,
            journal,
            state,
            settings,
            quiet,
            unconfirmed: None,
            out,
            latencies: Vec::new(),
            media_ms,
            last_block_ms: media_ms,
            funded,
            width,
            timings: None,
            wallet: None,
            topup_hours: 1.0,
        }
    }

    fn backend(&self) -> &dyn ChainBackend {
        self.chain.backend()
    }

    /// Wait for a block (the devnet mines one).
    fn block(&mut self) -> anyhow::Result<()> {
        self.chain.wait_for_block()?;
        self.out.blocks += 1;
        self.check_confirmed()
    }

    fn check_confirmed(&mut self) -> anyhow::Result<()> {
        if let Some((f, _, _)) = self.unconfirmed {
            if matches!(self.backend().tx_status(&f)?, TxStatus::Confirmed(_)) {
                self.unconfirmed = None;
            }
        }
        Ok(())
    }

    /// Block until the newest fan-out is confirmed (the start: every chunk then spends a
    /// confirmed coin).
    fn confirm_newest_fanout(&mut self) -> anyhow::Result<()> {
        let Some(&f) = self.state.fanout_txids.last() else {
            return Ok(());
        };
        while !matches!(self.backend().tx_status(&f)?, TxStatus::Confirmed(_)) {
            self.chain.wait_for_block()?;
            self.out.blocks += 1;
        }
        self.unconfirmed = None;
        Ok(())
    }

    /// A coin for `n` transactions of `vsize` in all: a confirmed fan-out's, or the unconfirmed
    /// newest one's while its cluster stays under the limits.
    fn coin(&mut self, n: usize, vsize: u64) -> Option<Coin> {
        let unc = self.unconfirmed;
        let fits =
            unc.is_none_or(|(_, c, v)| c + n <= MAX_CLUSTER && v + vsize <= MAX_CLUSTER_VSIZE);
        let coin = self
            .state
            .take_coin(|f| unc.is_none_or(|(u, _, _)| *f != u || fits))?;
        Some(coin)
    }

    fn note_spent(&mut self, txs: &[LiveTx], coin: &Coin) {
        if let Some((u, c, v)) = &mut self.unconfirmed {
            if coin.0.txid == *u {
                *c += txs.len();
                *v += txs.iter().map(|t| t.vsize).sum::<u64>();
            }
        }
    }

    /// Sign, journal, broadcast one step.
    fn commit(&mut self, txs: &[LiveTx]) -> anyhow::Result<()> {
        self.journal.append(txs)?;
        for t in txs {
            self.state.apply(t.role, &t.tx, t.fee.to_sat(), t.vsize);
        }
        let raw: Vec<Transaction> = txs.iter().map(|t| t.tx.clone()).collect();
        send(self.backend(), &raw)?;
        Ok(())
    }

    /// The records of one encoded chunk, each on its own coin.
    fn send_chunk(&mut self, c: &MediaChunk) -> anyhow::Result<()> {
        let max_payload = self.size.unit.saturating_sub(4 + 15).max(1);
        let mut backlog = 0usize;
        for piece in c.bytes.chunks(max_payload) {
            let rec = Record::LiveChunk(LiveChunk {
                index: self.state.next_index,
                timestamp_ms: c.start_ms,
                payload: piece.to_vec(),
            })
            .encode();
            let vsize = rec.len() as u64 + 300;
            let n = if self.b.carrier() == Carrier::Envelope {
                2
            } else {
                1
            };
            let coin = loop {
                self.refill()?;
                if let Some(coin) = self.coin(n, vsize) {
                    break coin;
                }
                backlog += 1;
                self.out.max_backlog = self.out.max_backlog.max(backlog);
                self.block()?;
            };
            let txs = self.b.chunk(self.state.next_index, &coin, &rec)?;
            self.note_spent(&txs, &coin);
            self.commit(&txs)?;
        }
        Ok(())
    }

    /// A refill when the coins run low and the newest fan-out is confirmed: a new fan-out from the
    /// lineage change (its first input) and a wallet top-up's coin when there is one; the wallet
    /// is asked for a top-up when the change alone pays for less than a quarter of a fan-out.
    fn refill(&mut self) -> anyhow::Result<()> {
        let width = self.width;
        if self.state.coins.len() > width / 2 {
            return Ok(());
        }
        self.check_confirmed()?;
        if self.unconfirmed.is_some() {
            return Ok(());
        }
        let Some(lineage) = self.state.lineage.clone() else {
            return Ok(());
        };
        if self.affordable(&lineage) < width / 4 && self.state.topup.is_none() {
            self.top_up()?;
        }
        let count = width.min(self.affordable(&lineage));
        if count < width / 4 {
            // No top-up came (the wallet is short): the stream ends when its coins are spent.
            if self.state.coins.is_empty() {
                bail!("the stream's funds are spent and the wallet cannot pay for more: fund the wallet, then `bitflix live --resume`");
            }
            return Ok(());
        }
        let extra: Vec<Coin> = self.state.topup.iter().cloned().collect();
        let n = self.state.fanouts;
        let (f, _, _) = self.b.fan_out(n, &lineage, &extra, count, self.size.coin)?;
        let txid = f.tx.compute_txid();
        // An unconfirmed top-up is the fan-out's ancestor: its cluster.
        let vsize = f.vsize + if extra.is_empty() { 0 } else { 200 };
        self.commit(std::slice::from_ref(&f))?;
        self.unconfirmed = Some((txid, 1 + extra.len(), vsize));
        Ok(())
    }

    /// How many chunk coins the lineage change and any top-up pay for.
    fn affordable(&self, lineage: &Coin) -> usize {
        let per = self.size.coin.to_sat() + 43;
        let topup = self.state.topup.as_ref().map_or(0, |c| c.1.value.to_sat());
        let funds = lineage.1.value.to_sat().saturating_add(topup);
        (funds.saturating_sub(20_000) / per) as usize
    }

    /// A funding transaction from the wallet to the stream's key for another `--hours`,
    /// journaled and broadcast like every step (`--resume` finds it and does not pay again).
    fn top_up(&mut self) -> anyhow::Result<()> {
        let Some(w) = self.wallet.take() else {
            return Ok(());
        };
        let need = need_for(&self.size, self.topup_hours, self.width);
        w.reserve(self.state.held(), TOPUP_MIN_COIN);
        let funded = w
            .sync(self.backend())
            .map_err(anyhow::Error::from)
            .and_then(|_| fund(self.chain, w, self.b.signer(), need, self.b.feerate()));
        self.wallet = Some(w);
        let (t, _) = funded?;
        self.commit(std::slice::from_ref(&t))?;
        self.out.topups += 1;
        Ok(())
    }
}

impl Run<'_> {
    /// Encode and send until the source ends or a signal comes; then the `end`.
    fn stream(mut self, stop: &AtomicBool, from: Continue) -> anyhow::Result<LiveOut> {
        let elapsed_s = from.video_frames as f64 / f64::from(self.settings.fps.max(1));
        let cfg = self.settings.encoder(elapsed_s)?;
        let mut enc = LiveEncoder::start(&cfg, from)?;
        if let media::live::Source::Url(u) = &cfg.source {
            eprintln!(
                "listening on {u}: waiting for the sender ({}); the stream ends when it stops, at --duration or on Ctrl-C",
                super::sender_hint(u)
            );
        }
        let should_stop = || stop.load(Ordering::SeqCst);
        while let Some(c) = enc.next_chunk(&should_stop)? {
            let first = self.state.next_index;
            self.send_chunk(&c)?;
            if let Some(t) = &mut self.timings {
                t.note(first, self.state.next_index, &c)?;
            }
            let latency = c.ready_at.elapsed().as_secs_f64() * 1000.0;
            self.latencies.push(latency);
            self.out.media_chunks_sent += 1;
            self.media_ms = c.start_ms + c.media_ms;
            if self.chain_is_devnet()
                && (self.media_ms - self.last_block_ms) as f64 >= self.settings.block_every * 1000.0
            {
                self.last_block_ms = self.media_ms;
                self.block()?;
            }
            self.status(latency);
        }
        drop(enc);
        if !self.quiet {
            eprintln!();
        }
        self.end()?;
        Ok(self.finish())
    }

    fn chain_is_devnet(&self) -> bool {
        #[cfg(feature = "devnet")]
        if matches!(self.chain, Chain::Devnet(_)) {
            return true;
        }
        false
    }

    fn status(&self, latency: f64) {
        if self.quiet {
            return;
        }
        let mut e = std::io::stderr();
        let _ = write!(
            e,
            "\rlive: {} chunks, {} bytes, {} sat in fees, backlog {}, last chunk {:.0} ms   ",
            self.state.next_index,
            self.state.payload_bytes(),
            self.state.fee_sat,
            self.out.max_backlog,
            latency
        );
        let _ = e.flush();
    }

    /// The `end` record: count and root, on a coin of the stream (the lineage change if none).
    fn end(&mut self) -> anyhow::Result<()> {
        let coin = match self.coin(1, 200) {
            Some(c) => c,
            None => match self.state.lineage.clone() {
                Some(c) => c,
                None => bail!("no coin left for the end record"),
            },
        };
        let t = self
            .b
            .end(&coin, self.state.next_index, self.state.root())?;
        self.commit(std::slice::from_ref(&t))?;
        if self.chain_is_devnet() {
            self.block()?;
        }
        Ok(())
    }

    fn finish(mut self) -> LiveOut {
        let mut l = self.latencies.clone();
        l.sort_by(f64::total_cmp);
        self.out.latency_ms_last = self.latencies.last().copied().unwrap_or(0.0);
        self.out.latency_ms_p50 = l.get(l.len() / 2).copied().unwrap_or(0.0);
        self.out.latency_ms_max = l.last().copied().unwrap_or(0.0);
        self.out.chunks = self.state.next_index;
        self.out.payload_bytes = self.state.payload_bytes();
        self.out.fee_sat = self.state.fee_sat;
        self.out.vbytes = self.state.vbytes;
        self.out.fanouts = self.state.fanouts;
        self.out.ended = self.state.ended;
        let _ = self.funded;
        self.out
    }
}
