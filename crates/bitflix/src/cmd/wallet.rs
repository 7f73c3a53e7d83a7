//! `bitflix wallet`: the publisher's key on the devnet: address, balance, faucet, backup.

use crate::backend::open_devnet;
use anyhow::{bail, Context};
use bitcoin::{Address, Amount, Network};
use chain::ChainSpec;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::fmt;

/// The publisher's wallet.
#[derive(Debug, Args)]
pub struct WalletArgs {
    #[command(subcommand)]
    action: Action,
    /// The chain: devnet:DIR.
    #[arg(long, global = true, default_value = "devnet:bitflix-data/devnet")]
    chain: ChainSpec,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// The address that funds publishing (P2TR).
    Address,
    /// Confirmed and unconfirmed balance.
    Balance,
    /// Get coins from the devnet faucet.
    Fund {
        /// Amount in BTC.
        #[arg(long, default_value_t = 1.0)]
        btc: f64,
    },
    /// Print the secret key (the only command that ever shows it).
    Backup,
}

/// What a wallet command shows.
#[derive(Debug, Serialize)]
pub struct WalletOut {
    /// Regtest address.
    pub address: String,
    /// Confirmed balance, sat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_sat: Option<u64>,
    /// Unconfirmed balance, sat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed_sat: Option<u64>,
    /// Faucet transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funded_txid: Option<String>,
    /// The secret key, hex (backup only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_key: Option<String>,
}

impl fmt::Display for WalletOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.address)?;
        if let (Some(c), Some(u)) = (self.confirmed_sat, self.unconfirmed_sat) {
            write!(f, "\nconfirmed {c} sat, unconfirmed {u} sat")?;
        }
        if let Some(t) = &self.funded_txid {
            write!(f, "\nfunded by {t} (mine a block to confirm it)")?;
        }
        if let Some(k) = &self.secret_key {
            write!(f, "\nsecret key (keep it private): {k}")?;
        }
        Ok(())
    }
}

pub fn run(g: &super::Global, args: WalletArgs) -> anyhow::Result<WalletOut> {
    let signer = crate::keys::publisher(&g.datadir)?;
    let address = Address::from_script(&signer.script(), Network::Regtest)
        .context("the key's address")?
        .to_string();
    let mut out = WalletOut {
        address,
        confirmed_sat: None,
        unconfirmed_sat: None,
        funded_txid: None,
        secret_key: None,
    };
    match args.action {
        Action::Address => {}
        Action::Backup => out.secret_key = Some(crate::keys::secret_hex(&g.datadir)?),
        Action::Balance => {
            let d = open_devnet(&args.chain)?;
            let utxos = d.script_utxos(&signer.script());
            out.confirmed_sat = Some(
                utxos
                    .iter()
                    .filter(|u| u.height.is_some())
                    .map(|u| u.value.to_sat())
                    .sum(),
            );
            out.unconfirmed_sat = Some(
                utxos
                    .iter()
                    .filter(|u| u.height.is_none())
                    .map(|u| u.value.to_sat())
                    .sum(),
            );
        }
        Action::Fund { btc } => {
            if !(0.00001..=1000.0).contains(&btc) {
                bail!("--btc {btc} is outside 0.00001..=1000");
            }
            let d = open_devnet(&args.chain)?;
            let amount = Amount::from_btc(btc).context("amount")?;
            out.funded_txid = Some(
                d.faucet(&signer.script(), amount)
                    .context("the devnet faucet")?
                    .to_string(),
            );
        }
    }
    Ok(out)
}
