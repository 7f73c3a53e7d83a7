//! The safety rails of a publish: `--max-fee SATS` caps the exact total fee on every network; on a
//! network where coins may be worth something ([`crate::network::needs_confirmation`]: all but
//! regtest) a fee rate far above the backend's estimate is refused without `--force`, and the exact
//! total fee is printed and the publish waits for `yes` (or `--yes`).
//!
//! The total is exact: the funding transaction's fee (bdk built it) plus the plan's fees, both
//! known before anything is signed, journaled or broadcast. A refusal leaves no journal.

use anyhow::bail;
use bitcoin::{Amount, FeeRate, Network};
use clap::Args;
use std::io::{BufRead, Write};

/// How far above the backend's estimate a fee rate may be without `--force`.
pub const MAX_OVER_ESTIMATE: u64 = 10;

/// `--yes`, `--max-fee` and `--force`.
#[derive(Debug, Clone, Default, Args)]
pub struct RailArgs {
    /// Do not ask before broadcasting (signet, testnet4 and mainnet ask, showing the exact fee).
    #[arg(long)]
    pub yes: bool,
    /// Refuse a publish whose total fee (funding and plan) is above this many sat, on any network.
    #[arg(long, value_name = "SATS")]
    pub max_fee: Option<u64>,
    /// Allow a fee rate more than 10 times the backend's estimate.
    #[arg(long)]
    pub force: bool,
}

/// Refuse `rate` when it is more than [`MAX_OVER_ESTIMATE`] times `estimate`, unless `force`.
pub fn check_rate(rate: FeeRate, estimate: FeeRate, force: bool) -> anyhow::Result<()> {
    let limit = estimate.to_sat_per_kwu().saturating_mul(MAX_OVER_ESTIMATE);
    if rate.to_sat_per_kwu() > limit && !force {
        bail!(
            "fee rate {} sat/vB is more than {MAX_OVER_ESTIMATE} times the backend's estimate of {} sat/vB: pass --force if you mean it",
            sat_per_vb(rate),
            sat_per_vb(estimate)
        );
    }
    Ok(())
}

/// A fee rate in sat/vB, for people.
pub fn sat_per_vb(rate: FeeRate) -> f64 {
    rate.to_sat_per_kwu() as f64 / 250.0
}

/// What a publish is about to pay, before anything is signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quote {
    /// The funding transaction's fee and the plan's fees together.
    pub total_fee: Amount,
    /// Transactions to broadcast, the funding one included.
    pub transactions: u64,
    /// Fee rate of every transaction.
    pub feerate: FeeRate,
}

impl RailArgs {
    /// Check `quote` against `--max-fee`, then ask on `network` if it needs confirmation (unless
    /// `--yes`): the question goes to `out`, the answer comes from `input` and must be `yes`. An
    /// end of input is a refusal (a script on mainnet must say `--yes`).
    pub fn approve(
        &self,
        network: Network,
        quote: &Quote,
        input: &mut dyn BufRead,
        out: &mut dyn Write,
    ) -> anyhow::Result<()> {
        let total = quote.total_fee.to_sat();
        if let Some(max) = self.max_fee.filter(|m| total > *m) {
            bail!("this publish would pay {total} sat in fees, above --max-fee {max}: nothing was broadcast");
        }
        if self.yes || !crate::network::needs_confirmation(network) {
            return Ok(());
        }
        write!(
            out,
            "publish on {}: {} transactions at {} sat/vB, total fee {total} sat ({} BTC). Broadcast? Type yes: ",
            crate::network::name(network),
            quote.transactions,
            sat_per_vb(quote.feerate),
            quote.total_fee.to_btc(),
        )?;
        out.flush()?;
        let mut answer = String::new();
        input.read_line(&mut answer)?;
        match answer.trim() {
            "yes" => Ok(()),
            "" => bail!(
                "no answer to the confirmation (total fee {total} sat): answer yes at the terminal, or pass --yes; nothing was broadcast"
            ),
            other => bail!("'{other}' is not yes: nothing was broadcast"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn rate(sat_vb: u64) -> FeeRate {
        FeeRate::from_sat_per_vb(sat_vb).unwrap()
    }

    #[test]
    fn a_rate_far_above_the_estimate_needs_force() {
        check_rate(rate(10), rate(1), false).unwrap();
        let e = check_rate(rate(11), rate(1), false)
            .unwrap_err()
            .to_string();
        assert!(e.contains("--force") && e.contains("11 sat/vB"), "{e}");
        check_rate(rate(11), rate(1), true).unwrap();
        check_rate(rate(300), rate(40), false).unwrap();
    }

    fn quote(total: u64) -> Quote {
        Quote {
            total_fee: Amount::from_sat(total),
            transactions: 3,
            feerate: rate(2),
        }
    }

    fn ask(
        rails: &RailArgs,
        network: Network,
        total: u64,
        answer: &str,
    ) -> (anyhow::Result<()>, String) {
        let mut out = Vec::new();
        let r = rails.approve(network, &quote(total), &mut answer.as_bytes(), &mut out);
        (r, String::from_utf8(out).unwrap())
    }

    #[test]
    fn max_fee_caps_on_every_network() {
        let rails = RailArgs {
            max_fee: Some(1000),
            yes: true,
            ..Default::default()
        };
        for n in [Network::Regtest, Network::Signet, Network::Bitcoin] {
            assert!(
                ask(&rails, n, 1000, "").0.is_ok(),
                "{n}: the cap itself is allowed"
            );
            let e = ask(&rails, n, 1001, "yes\n").0.unwrap_err().to_string();
            assert!(
                e.contains("1001 sat") && e.contains("--max-fee 1000"),
                "{e}"
            );
        }
    }

    #[test]
    fn real_networks_ask_with_the_exact_fee() {
        let rails = RailArgs::default();
        for n in [Network::Signet, Network::Testnet4, Network::Bitcoin] {
            let (r, asked) = ask(&rails, n, 12_345, "yes\n");
            r.unwrap();
            assert!(asked.contains("total fee 12345 sat"), "{asked}");
            assert!(asked.contains(crate::network::name(n)), "{asked}");
            let (r, _) = ask(&rails, n, 12_345, "no\n");
            assert!(r.unwrap_err().to_string().contains("not yes"));
            let (r, _) = ask(&rails, n, 12_345, "");
            assert!(r.unwrap_err().to_string().contains("--yes"));
        }
        // Regtest and --yes do not ask.
        let (r, asked) = ask(&rails, Network::Regtest, 12_345, "");
        assert!(r.is_ok() && asked.is_empty());
        let yes = RailArgs {
            yes: true,
            ..Default::default()
        };
        let (r, asked) = ask(&yes, Network::Bitcoin, 12_345, "");
        assert!(r.is_ok() && asked.is_empty());
    }
}
