//! `bitflix wallet`: the publisher's BIP86 wallet (bdk_wallet): address, balance, devnet faucet,
//! backup, watch-only import, and the sweep of a pre-HD `publisher.key`.

use anyhow::{bail, Context};
use bitcoin::{Amount, FeeRate, Network};
use chain::ChainSpec;
use clap::{Args, Subcommand};
use serde::Serialize;
use std::fmt;

/// The publisher's wallet.
#[derive(Debug, Args)]
pub struct WalletArgs {
    #[command(subcommand)]
    action: Action,
    /// The chain: devnet:DIR, esplora:URL or core:URL (default devnet:bitflix-data/devnet) for
    /// balance, fund and sweep-legacy; given to `address`, a new wallet's birthday is its tip.
    #[arg(long, global = true)]
    chain: Option<ChainSpec>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// A receive address (P2TR, BIP86), the next unused one.
    Address,
    /// Sync the wallet with the chain and show its balance (and the legacy key's, if any).
    Balance,
    /// Get coins from the devnet faucet to a receive address.
    Fund {
        /// Amount in BTC.
        #[arg(long, default_value_t = 1.0)]
        btc: f64,
    },
    /// Print the mnemonic (the only command that ever shows it), the viewer key that signs
    /// choices in interactive films, and the legacy key, if any.
    Backup,
    /// Make this (new) data directory's wallet from a mnemonic read from stdin (12 or 24 words on
    /// one line), syncing on --network from --from-height instead of genesis; a second line, if
    /// any, is the viewer key (hex, as `wallet backup` prints it).
    Restore {
        /// The first block that can hold the wallet's coins (its birthday; 0: genesis).
        #[arg(long, default_value_t = 0)]
        from_height: u32,
    },
    /// Print the public descriptors (for a watch-only copy: `wallet import-descriptor`).
    Descriptors,
    /// Make this data directory a watch-only wallet from public descriptors (xpub/tpub).
    ImportDescriptor {
        /// External (receive) descriptor, e.g. `tr([fp/86'/1'/0']tpub.../0/*)`.
        #[arg(long)]
        external: String,
        /// Internal (change) descriptor, e.g. `tr([fp/86'/1'/0']tpub.../1/*)`.
        #[arg(long)]
        internal: String,
    },
    /// Sign a PSBT (BIP174, base64) with this wallet's keys, e.g. on an offline machine holding
    /// the mnemonic for a watch-only publisher. Nothing is broadcast.
    SignPsbt {
        /// The PSBT to sign.
        psbt: std::path::PathBuf,
        /// Where to write the signed PSBT.
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Move every coin of the pre-HD `publisher.key` to the HD wallet (one transaction).
    SweepLegacy {
        /// Fee rate in sat/vB.
        #[arg(long, default_value_t = 1.0)]
        feerate: f64,
    },
}

/// What a wallet command shows.
#[derive(Debug, Default, Serialize)]
pub struct WalletOut {
    /// A receive address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Whether the wallet is watch-only.
    pub watch_only: bool,
    /// Height the wallet is synced to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_height: Option<u32>,
    /// The height the wallet syncs from (none: genesis).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthday: Option<u32>,
    /// Blocks read by this sync.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub synced_blocks: Option<u32>,
    /// Confirmed balance, sat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_sat: Option<u64>,
    /// Unconfirmed balance, sat.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unconfirmed_sat: Option<u64>,
    /// Balance of the legacy `publisher.key`, sat (confirmed and unconfirmed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_sat: Option<u64>,
    /// Faucet or sweep transaction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub txid: Option<String>,
    /// The mnemonic (backup only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mnemonic: Option<String>,
    /// The viewer key's secret, hex (backup only; `viewer.key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub viewer_secret_key: Option<String>,
    /// The legacy secret key, hex (backup only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_secret_key: Option<String>,
    /// Public external descriptor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_descriptor: Option<String>,
    /// Public internal descriptor.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub internal_descriptor: Option<String>,
    /// Inputs signed by `sign-psbt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_inputs: Option<usize>,
}

impl fmt::Display for WalletOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines = Vec::new();
        if let Some(a) = &self.address {
            lines.push(a.clone());
        }
        if let (Some(c), Some(u)) = (self.confirmed_sat, self.unconfirmed_sat) {
            let h = self.synced_height.unwrap_or(0);
            lines.push(format!(
                "confirmed {c} sat, unconfirmed {u} sat (synced to height {h})"
            ));
        }
        if let Some(b) = self.birthday {
            lines.push(format!("birthday: height {b} (no earlier block is read)"));
        }
        if let Some(l) = self.legacy_sat.filter(|l| *l > 0) {
            lines.push(format!(
                "legacy publisher.key: {l} sat (move it with `bitflix wallet sweep-legacy`)"
            ));
        }
        if let Some(t) = &self.txid {
            lines.push(format!("transaction {t} (mine a block to confirm it)"));
        }
        if let Some(m) = &self.mnemonic {
            lines.push(format!("mnemonic (keep it private): {m}"));
        }
        if let Some(k) = &self.viewer_secret_key {
            lines.push(format!(
                "viewer.key, signs your choices (keep it private): {k}"
            ));
        }
        if let Some(k) = &self.legacy_secret_key {
            lines.push(format!("legacy publisher.key (keep it private): {k}"));
        }
        if let Some(d) = &self.external_descriptor {
            lines.push(format!("external: {d}"));
        }
        if let Some(d) = &self.internal_descriptor {
            lines.push(format!("internal: {d}"));
        }
        if let Some(n) = self.signed_inputs {
            lines.push(format!("signed {n} inputs"));
        }
        if self.watch_only {
            lines.push("watch-only: publish with --psbt".into());
        }
        write!(f, "{}", lines.join("\n"))
    }
}

/// A fee rate in sat/vB from the command line.
pub fn feerate_arg(r: f64) -> anyhow::Result<FeeRate> {
    if !(0.1..=100_000.0).contains(&r) {
        bail!("fee rate {r} sat/vB is outside 0.1..=100000 (0.1 is the minimum relay fee)");
    }
    Ok(FeeRate::from_sat_per_kwu((r * 250.0).round() as u64))
}

pub fn run(g: &super::Global, args: WalletArgs) -> anyhow::Result<WalletOut> {
    let network: Network = g.network();
    if let Action::ImportDescriptor { external, internal } = &args.action {
        crate::keys::import_watch_only(&g.datadir, external, internal)?;
        // Opening checks that both parse and belong to the network.
        let mut w = crate::keys::open_wallet(&g.datadir, network).inspect_err(|_| {
            let _ = std::fs::remove_file(g.datadir.join("wallet.watch.json"));
        })?;
        return Ok(WalletOut {
            address: Some(w.receive_address()?.to_string()),
            watch_only: true,
            ..Default::default()
        });
    }
    if let Action::Restore { from_height } = &args.action {
        let mut words = String::new();
        std::io::stdin()
            .read_line(&mut words)
            .context("reading the mnemonic from stdin")?;
        let mut viewer = String::new();
        std::io::stdin()
            .read_line(&mut viewer)
            .context("reading the viewer key from stdin")?;
        crate::keys::restore(&g.datadir, network, &words, *from_height)?;
        if !viewer.trim().is_empty() {
            crate::viewer::restore_key(&g.datadir, viewer.trim())?;
        }
        let mut w = crate::keys::open_wallet(&g.datadir, network)?;
        return Ok(WalletOut {
            address: Some(w.receive_address()?.to_string()),
            birthday: Some(*from_height),
            ..Default::default()
        });
    }
    let chain = match &args.chain {
        Some(c) => c.clone(),
        None => "devnet:bitflix-data/devnet"
            .parse()
            .map_err(|e| anyhow::anyhow!("the default chain: {e}"))?,
    };
    // A command with a backend creates a new wallet with the tip as its birthday (`address`
    // when given --chain: without one it makes no connection, and the wallet has no birthday).
    let backend = match &args.action {
        Action::Balance | Action::SweepLegacy { .. } => {
            let b = crate::backend::open(&chain, network)?;
            crate::keys::create_with_birthday(&g.datadir, network, b.as_ref())?;
            Some(b)
        }
        Action::Address if args.chain.is_some() => {
            let b = crate::backend::open(&chain, network)?;
            crate::keys::create_with_birthday(&g.datadir, network, b.as_ref())?;
            None
        }
        _ => None,
    };
    let mut w = crate::keys::open_wallet(&g.datadir, network)?;
    let mut out = WalletOut {
        watch_only: !w.can_sign(),
        ..Default::default()
    };
    match args.action {
        Action::ImportDescriptor { .. } | Action::Restore { .. } => {}
        Action::Address => {
            out.address = Some(w.receive_address()?.to_string());
            out.birthday = crate::keys::birthday(&g.datadir, network)?;
        }
        Action::Backup => {
            out.mnemonic = crate::keys::mnemonic(&g.datadir, network)?;
            let viewer = g.datadir.join(crate::viewer::VIEWER_KEY);
            if viewer.exists() {
                let kp = crate::viewer::viewer_key(&g.datadir)?;
                out.viewer_secret_key = Some(hex::encode(kp.secret_bytes()));
            }
            out.legacy_secret_key =
                crate::keys::legacy_secret(&g.datadir)?.map(|k| hex::encode(k.secret_bytes()));
        }
        Action::Descriptors => {
            let (e, i) = w.public_descriptors();
            out.external_descriptor = Some(e);
            out.internal_descriptor = i;
        }
        Action::Balance => {
            let backend = backend.context("no backend")?;
            out.birthday = crate::keys::birthday(&g.datadir, network)?;
            let s = w.sync(backend.as_ref()).context("syncing the wallet")?;
            let b = w.balance();
            out.address = Some(w.receive_address()?.to_string());
            out.synced_height = Some(s.tip_height);
            out.synced_blocks = Some(s.blocks);
            out.confirmed_sat = Some(b.confirmed.to_sat());
            out.unconfirmed_sat = Some((b.trusted_pending + b.untrusted_pending).to_sat());
            if let Some(mut l) = crate::keys::legacy_wallet(&g.datadir, network)? {
                l.sync(backend.as_ref()).context("syncing the legacy key")?;
                out.legacy_sat = Some(l.balance().total().to_sat());
            }
        }
        Action::Fund { btc } => {
            if !(0.00001..=1000.0).contains(&btc) {
                bail!("--btc {btc} is outside 0.00001..=1000");
            }
            let amount = Amount::from_btc(btc).context("amount")?;
            let address = w.receive_address()?;
            out.txid = Some(faucet(&chain, network, &address, amount)?.to_string());
            out.address = Some(address.to_string());
        }
        Action::SignPsbt { psbt, out: path } => {
            let text = std::fs::read_to_string(&psbt)
                .with_context(|| format!("reading {}", psbt.display()))?;
            let mut p: bitcoin::Psbt = text
                .trim()
                .parse()
                .with_context(|| format!("{} is not a base64 PSBT", psbt.display()))?;
            out.signed_inputs = Some(w.sign_psbt(&mut p)?);
            std::fs::write(&path, p.to_string())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Action::SweepLegacy { feerate } => {
            let rate = feerate_arg(feerate)?;
            let Some(mut l) = crate::keys::legacy_wallet(&g.datadir, network)? else {
                bail!("this data directory has no legacy publisher.key");
            };
            let backend = backend.context("no backend")?;
            l.sync(backend.as_ref()).context("syncing the legacy key")?;
            if l.balance().total() == Amount::ZERO {
                bail!("the legacy publisher.key holds no coins");
            }
            let to = w.receive_address()?;
            let mut psbt = l.sweep_psbt(to.script_pubkey(), rate)?;
            let tx = l.sign(&mut psbt)?;
            let txid = backend.broadcast(&tx).context("broadcasting the sweep")?;
            out.txid = Some(txid.to_string());
            out.address = Some(to.to_string());
        }
    }
    Ok(out)
}

/// Pay `amount` to `address` from the devnet's faucet (the only chain with one).
#[cfg(feature = "devnet")]
fn faucet(
    chain: &chain::ChainSpec,
    network: Network,
    address: &bitcoin::Address,
    amount: Amount,
) -> anyhow::Result<bitcoin::Txid> {
    let d = crate::backend::open_devnet(chain, network)?;
    d.faucet(&address.script_pubkey(), amount)
        .context("the devnet faucet")
}

#[cfg(not(feature = "devnet"))]
fn faucet(
    _chain: &chain::ChainSpec,
    _network: Network,
    _address: &bitcoin::Address,
    _amount: Amount,
) -> anyhow::Result<bitcoin::Txid> {
    Err(crate::backend::without_devnet("bitflix wallet fund"))
}
