//! The stream's money: the wallet that signs it, the funding transactions that pay the stream's
//! key (the first before the header, a top-up whenever the lineage change runs short of another
//! fan-out: the wallet pays for another `--hours`, so a stream runs as long as the wallet has
//! funds), and how much a given number of hours needs.

use super::cost::Sizing;
use crate::cmd::publish::Chain;
use anyhow::{bail, Context};
use bitcoin::{Amount, FeeRate};
use wallet::plan::live::{Coin, LiveRole, LiveTx};
use wallet::Signer;

/// The data directory's wallet, synced, and the stream's key.
pub(super) fn signer(
    g: &crate::cmd::Global,
    chain: &Chain,
) -> anyhow::Result<(wallet::hd::HdWallet, Signer)> {
    let mut w = crate::keys::open_wallet(&g.datadir, g.network())?;
    if !w.can_sign() {
        bail!("this wallet is watch-only: a live stream signs as it goes");
    }
    w.sync(chain.backend()).context("syncing the wallet")?;
    let s = w.plan_signer()?.0;
    Ok((w, s))
}

/// Fund from the wallet (the devnet's faucet tops it up): a signed funding transaction paying
/// `need` to the plan key, and its coin.
pub(super) fn fund(
    chain: &Chain,
    w: &mut wallet::hd::HdWallet,
    signer: &Signer,
    need: Amount,
    rate: FeeRate,
) -> anyhow::Result<(LiveTx, Coin)> {
    if wallet::funded::shortfall(w, need).is_some() {
        crate::cmd::publish::top_up(chain, w, need)?;
    }
    let mut psbt = w.funding_psbt(signer.script(), need, rate)?;
    let fee = psbt
        .fee()
        .map_err(|e| anyhow::anyhow!("funding fee: {e}"))?;
    let tx = w.sign(&mut psbt)?;
    let coin = wallet::funded::plan_coin(&tx, signer, need)?;
    let vsize = tx.vsize() as u64;
    Ok((
        LiveTx {
            tx,
            role: LiveRole::Funding,
            fee,
            vsize,
        },
        coin,
    ))
}

/// The funding for `hours` of stream: the coins, their fan-outs, a margin.
pub(super) fn need_for(size: &Sizing, hours: f64, width: usize) -> Amount {
    let records = (size.records_per_hour as f64 * hours.max(0.01)).ceil() as u64;
    let fanouts = records.div_ceil(width as u64) + 1;
    Amount::from_sat(
        records * size.coin.to_sat() + fanouts * (size.coin.to_sat() + 60_000) + 100_000,
    )
}
