//! The publisher's wallet files in the data directory:
//!
//! - `wallet.mnemonic` (0600): 12 BIP39 words, created on first use, printed only by
//!   `bitflix wallet backup`. The BIP86 descriptors are derived from it for each network.
//! - `wallet.watch.json`: instead of the mnemonic, the public descriptors of a watch-only wallet
//!   (`bitflix wallet import-descriptor`); it plans publishes and exports their funding as PSBT.
//! - `wallet-<network>.sqlite`: bdk's store (addresses revealed, transactions, checkpoints).
//! - `wallet-<network>.birthday`: the height the wallet starts syncing at on that network: the tip
//!   when a command with a backend created the wallet (`wallet address` only when given
//!   `--chain`), or `wallet restore --from-height`. Without
//!   it the wallet syncs from genesis.
//! - `publisher.key` (0600, before the HD wallet): kept, never rewritten. Its coins stay spendable
//!   as a single-key bdk wallet (`legacy-<network>.sqlite`, descriptor `tr(WIF)`) that
//!   `bitflix wallet balance` shows and `bitflix wallet sweep-legacy` sweeps into the HD wallet.
//! - `publish-keys/publisher.key` (0600): the publisher key of a watch-only wallet, which funds
//!   every publish (the plan key; old files named after a per-publish key stay recoverable).

use anyhow::{bail, Context};
use bitcoin::secp256k1::{rand, Secp256k1, SecretKey};
use bitcoin::{Network, PrivateKey};
use std::path::{Path, PathBuf};
use wallet::hd::{Descriptors, HdWallet};

const MNEMONIC: &str = "wallet.mnemonic";
const WATCH: &str = "wallet.watch.json";
const LEGACY: &str = "publisher.key";

/// Write `body` to `path` with 0600 permissions, atomically and durably.
fn write_secret(path: &Path, body: &[u8]) -> anyhow::Result<()> {
    durable::write_secret(path, body).with_context(|| format!("saving {}", path.display()))
}

fn network_name(network: Network) -> String {
    network.to_core_arg().to_string()
}

/// The wallet's descriptors: from the mnemonic (created on first use) or the watch-only file.
pub fn descriptors(datadir: &Path, network: Network) -> anyhow::Result<Descriptors> {
    std::fs::create_dir_all(datadir).with_context(|| format!("creating {}", datadir.display()))?;
    let watch = datadir.join(WATCH);
    if watch.exists() {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&watch)?)
            .with_context(|| format!("{} is damaged", watch.display()))?;
        let (Some(ext), Some(int)) = (v["external"].as_str(), v["internal"].as_str()) else {
            bail!(
                "{} lacks the external or internal descriptor",
                watch.display()
            );
        };
        return Ok(Descriptors::watch_only(ext, int));
    }
    let path = datadir.join(MNEMONIC);
    if !path.exists() {
        let m = wallet::hd::generate_mnemonic()?;
        write_secret(&path, m.to_string().as_bytes())?;
    }
    let words =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let m = wallet::hd::parse_mnemonic(&words)
        .with_context(|| format!("{} does not hold a valid mnemonic", path.display()))?;
    Ok(Descriptors::from_mnemonic(&m, network)?)
}

/// Open (creating on first use) the publisher's HD wallet for `network`.
pub fn open_wallet(datadir: &Path, network: Network) -> anyhow::Result<HdWallet> {
    let d = descriptors(datadir, network)?;
    let db = datadir.join(format!("wallet-{}.sqlite", network_name(network)));
    Ok(HdWallet::open(&db, &d, network)?.with_birthday(birthday(datadir, network)?))
}

fn birthday_path(datadir: &Path, network: Network) -> PathBuf {
    datadir.join(format!("wallet-{}.birthday", network_name(network)))
}

/// The wallet's birthday on `network`, if stored.
pub fn birthday(datadir: &Path, network: Network) -> anyhow::Result<Option<u32>> {
    let path = birthday_path(datadir, network);
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let h = text
        .trim()
        .parse()
        .with_context(|| format!("{} holds no height", path.display()))?;
    Ok(Some(h))
}

fn save_birthday(datadir: &Path, network: Network, height: u32) -> anyhow::Result<()> {
    let path = birthday_path(datadir, network);
    durable::write(&path, height.to_string().as_bytes())
        .with_context(|| format!("saving {}", path.display()))
}

/// Before a command that has a backend opens the wallet: a data directory without a wallet gets
/// its mnemonic now, and its birthday on `network` is the backend's tip (nothing can have paid
/// it before).
pub fn create_with_birthday(
    datadir: &Path,
    network: Network,
    backend: &dyn chain::ChainBackend,
) -> anyhow::Result<()> {
    if datadir.join(MNEMONIC).exists() || datadir.join(WATCH).exists() {
        return Ok(());
    }
    let tip = backend
        .tip()
        .context("the tip, the new wallet's birthday")?;
    descriptors(datadir, network)?;
    save_birthday(datadir, network, tip.height)
}

/// `wallet restore`: this data directory's wallet from `words`, syncing on `network` from
/// `from_height` (0: genesis). Refuses when the directory already holds a wallet.
pub fn restore(
    datadir: &Path,
    network: Network,
    words: &str,
    from_height: u32,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(datadir).with_context(|| format!("creating {}", datadir.display()))?;
    for f in [MNEMONIC, WATCH] {
        if datadir.join(f).exists() {
            bail!(
                "{} already holds a wallet ({f}): restore into a new data directory",
                datadir.display()
            );
        }
    }
    let m = wallet::hd::parse_mnemonic(words).context("the mnemonic")?;
    save_birthday(datadir, network, from_height)?;
    write_secret(&datadir.join(MNEMONIC), m.to_string().as_bytes())
}

/// The mnemonic, for `bitflix wallet backup` only (`None` for a watch-only wallet).
pub fn mnemonic(datadir: &Path, network: Network) -> anyhow::Result<Option<String>> {
    descriptors(datadir, network)?;
    let path = datadir.join(MNEMONIC);
    if !path.exists() {
        return Ok(None);
    }
    Ok(Some(std::fs::read_to_string(path)?.trim().to_string()))
}

/// Make this data directory a watch-only wallet. Refuses when it already holds a wallet.
pub fn import_watch_only(datadir: &Path, external: &str, internal: &str) -> anyhow::Result<()> {
    for f in [MNEMONIC, WATCH] {
        if datadir.join(f).exists() {
            bail!(
                "{} already holds a wallet ({f}): import into a new data directory",
                datadir.display()
            );
        }
    }
    for d in [external, internal] {
        if d.contains("prv") {
            bail!("'{d}' holds a private key: import public descriptors (xpub/tpub) only");
        }
    }
    let body = serde_json::to_vec_pretty(&serde_json::json!({
        "external": external.trim(),
        "internal": internal.trim(),
    }))?;
    write_secret(&datadir.join(WATCH), &body)
}

/// The pre-HD key, if this data directory has one.
pub fn legacy_secret(datadir: &Path) -> anyhow::Result<Option<SecretKey>> {
    let path = datadir.join(LEGACY);
    if !path.exists() {
        return Ok(None);
    }
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let bytes = hex::decode(text.trim()).context("the legacy key file is not hex")?;
    let sk = SecretKey::from_slice(&bytes).context("the legacy key file holds no valid key")?;
    Ok(Some(sk))
}

/// The legacy single-key wallet (`tr(WIF)` of `publisher.key`), if there is a legacy key.
pub fn legacy_wallet(datadir: &Path, network: Network) -> anyhow::Result<Option<HdWallet>> {
    let Some(sk) = legacy_secret(datadir)? else {
        return Ok(None);
    };
    let d = Descriptors::single_key(&PrivateKey::new(sk, network));
    let db = datadir.join(format!("legacy-{}.sqlite", network_name(network)));
    Ok(Some(HdWallet::open(&db, &d, network)?))
}

/// The publisher key of a watch-only wallet (its films share it: docs/cvp.md, "Publishers"),
/// `publish-keys/publisher.key` (0600), made on first use and saved before anything uses it, so
/// the plans' leftovers (final change, 330 sat outputs) stay recoverable.
pub fn new_plan_key(datadir: &Path) -> anyhow::Result<(wallet::Signer, PathBuf)> {
    let secp = Secp256k1::new();
    let path = datadir.join("publish-keys").join("publisher.key");
    let sk = if path.exists() {
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let bytes =
            hex::decode(text.trim()).with_context(|| format!("{} is not hex", path.display()))?;
        SecretKey::from_slice(&bytes)
            .with_context(|| format!("{} holds no valid key", path.display()))?
    } else {
        let sk = SecretKey::new(&mut rand::thread_rng());
        write_secret(&path, hex::encode(sk.secret_bytes()).as_bytes())?;
        sk
    };
    let kp = bitcoin::key::Keypair::from_secret_key(&secp, &sk);
    Ok((wallet::Signer::new(kp), path))
}
