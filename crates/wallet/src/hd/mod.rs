//! The publisher's wallet on bdk_wallet: BIP39 mnemonic, BIP86 Taproot descriptors
//! (`tr([fp/86'/coin'/0']xprv/0/*)` and `.../1/*`), persisted in SQLite.
//!
//! bdk does no I/O: [`crate::sync::sync`] feeds it from a `ChainBackend`, and every method that
//! changes the wallet persists its changeset before returning. A publish is funded by one funding
//! transaction built by bdk (coin selection, change to an internal address) that pays the exact
//! cost of the plan to a *plan key*, which is the publisher key (the same for every publish, so a
//! publisher's films share it: docs/cvp.md, "Publishers"): for a wallet holding keys, the key of
//! its first internal address, so every change and dust output of the plan is the wallet's own;
//! for a watch-only wallet, a key the caller keeps (the funding transaction then goes out as a PSBT).

use crate::sync::{SyncError, SyncStats};
use crate::Signer;
use bdk_wallet::bitcoin::bip32::{ChildNumber, DerivationPath, Xpriv};
use bdk_wallet::bitcoin::psbt::Psbt;
use bdk_wallet::bitcoin::secp256k1::Secp256k1;
use bdk_wallet::bitcoin::{Address, Amount, FeeRate, Network, ScriptBuf, Transaction};
use bdk_wallet::coin_selection::LargestFirstCoinSelection;
use bdk_wallet::keys::bip39::Mnemonic;
use bdk_wallet::miniscript::{Descriptor, DescriptorPublicKey};
use bdk_wallet::rusqlite::Connection;
use bdk_wallet::signer::SignersContainer;
use bdk_wallet::{Balance, KeychainKind, PersistedWallet, SignOptions, Wallet};
use chain::ChainBackend;
use std::path::Path;

mod data;

/// Wallet failures. Nothing here panics on bad input (a damaged file, a foreign descriptor).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HdError {
    /// The SQLite store failed.
    #[error("wallet database {path}: {reason}")]
    Db {
        /// The file.
        path: String,
        /// The cause.
        reason: String,
    },
    /// A descriptor or key does not parse or does not match the stored wallet (bdk's or
    /// rust-bitcoin's error kept as the source).
    #[error("wallet descriptor: {0}")]
    Descriptor(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The mnemonic does not parse.
    #[error("mnemonic: {0}")]
    Mnemonic(String),
    /// Syncing failed.
    #[error("{0}")]
    Sync(#[from] SyncError),
    /// Building the funding transaction failed (coin selection, insufficient funds).
    #[error("funding transaction: {0}")]
    Build(String),
    /// Signing failed or left inputs unsigned.
    #[error("signing: {0}")]
    Sign(String),
    /// The operation needs private keys and the wallet is watch-only.
    #[error("this wallet is watch-only (no private keys): use --psbt to export the funding transaction for an external signer")]
    WatchOnly,
    /// A derived key does not give the address bdk derives (a bug; nothing was spent).
    #[error("the derived plan key does not match the wallet's address at internal index {0}")]
    KeyMismatch(u32),
}

/// The descriptors of a wallet, and the account key when the wallet can sign. Its `Debug` shows
/// neither (a signing wallet's descriptors hold its private keys).
#[derive(Clone)]
pub struct Descriptors {
    /// External (receive) descriptor, with private keys when the wallet holds them.
    pub external: String,
    /// Internal (change) descriptor; `None` for a single-key wallet.
    pub internal: Option<String>,
    /// The BIP86 account key `m/86'/coin'/0'`, to derive plan keys; `None` when watch-only.
    account: Option<Xpriv>,
}

impl std::fmt::Debug for Descriptors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Descriptors")
            .field("external", &"<redacted>")
            .field("internal", &self.internal.as_ref().map(|_| "<redacted>"))
            .field("account", &self.account.map(|_| "<redacted>"))
            .finish()
    }
}

fn coin_type(network: Network) -> u32 {
    if network == Network::Bitcoin {
        0
    } else {
        1
    }
}

/// A fresh 12-word mnemonic from the OS random source.
pub fn generate_mnemonic() -> Result<Mnemonic, HdError> {
    let mut entropy = [0u8; 16];
    bdk_wallet::bitcoin::secp256k1::rand::RngCore::fill_bytes(
        &mut bdk_wallet::bitcoin::secp256k1::rand::thread_rng(),
        &mut entropy,
    );
    Mnemonic::from_entropy(&entropy).map_err(|e| HdError::Mnemonic(e.to_string()))
}

/// Parse a mnemonic (BIP39 English).
pub fn parse_mnemonic(words: &str) -> Result<Mnemonic, HdError> {
    Mnemonic::parse_normalized(words.trim()).map_err(|e| HdError::Mnemonic(e.to_string()))
}

impl Descriptors {
    /// BIP86 descriptors for `mnemonic` (no passphrase) on `network`.
    pub fn from_mnemonic(mnemonic: &Mnemonic, network: Network) -> Result<Descriptors, HdError> {
        let secp = Secp256k1::new();
        let master = Xpriv::new_master(network, &mnemonic.to_seed(""))
            .map_err(|e| HdError::Descriptor(e.into()))?;
        let fp = master.fingerprint(&secp);
        let coin = coin_type(network);
        let path: DerivationPath = vec![
            ChildNumber::Hardened { index: 86 },
            ChildNumber::Hardened { index: coin },
            ChildNumber::Hardened { index: 0 },
        ]
        .into();
        let account = master
            .derive_priv(&secp, &path)
            .map_err(|e| HdError::Descriptor(e.into()))?;
        let origin = format!("[{fp}/86'/{coin}'/0']");
        Ok(Descriptors {
            external: format!("tr({origin}{account}/0/*)"),
            internal: Some(format!("tr({origin}{account}/1/*)")),
            account: Some(account),
        })
    }

    /// Watch-only descriptors (xpub), e.g. `tr([fp/86'/1'/0']tpub.../0/*)` and `.../1/*`.
    pub fn watch_only(external: &str, internal: &str) -> Descriptors {
        Descriptors {
            external: external.trim().into(),
            internal: Some(internal.trim().into()),
            account: None,
        }
    }

    /// One key, as `tr(WIF)`: the pre-HD `publisher.key`, kept as a legacy wallet that can spend.
    pub fn single_key(secret: &bdk_wallet::bitcoin::PrivateKey) -> Descriptors {
        Descriptors {
            external: format!("tr({})", secret.to_wif()),
            internal: None,
            account: None,
        }
    }
}

/// A bdk wallet and its SQLite store. Its `Debug` leaves out the account key and the signers.
pub struct HdWallet {
    wallet: PersistedWallet<Connection>,
    db: Connection,
    /// Where a wallet that never synced starts (its birthday), if known.
    birthday: Option<u32>,
    path: String,
    account: Option<Xpriv>,
    network: Network,
    /// The private keys of the descriptors, held here (bdk's wallet is no key store).
    signers: Vec<SignersContainer>,
    /// Coins a funding transaction must not spend: a running live stream's own (they sit at the
    /// plan key, an address of this wallet).
    reserved: std::collections::HashSet<bdk_wallet::bitcoin::OutPoint>,
    /// With a reservation: fund from confirmed coins of at least this value only.
    confirmed_at_least: Option<Amount>,
}

impl std::fmt::Debug for HdWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HdWallet")
            .field("path", &self.path)
            .field("network", &self.network)
            .field("can_sign", &self.can_sign())
            .finish_non_exhaustive()
    }
}

/// The signers of a descriptor string (empty for a public descriptor).
pub fn signers_of(descriptor: &str) -> Result<SignersContainer, HdError> {
    let secp = Secp256k1::new();
    let (desc, keymap) = Descriptor::<DescriptorPublicKey>::parse_descriptor(&secp, descriptor)
        .map_err(|e| HdError::Descriptor(e.into()))?;
    Ok(SignersContainer::build(keymap, &desc, &secp))
}

impl HdWallet {
    /// Open the wallet stored at `db_path`, creating it when the file holds none. The descriptors
    /// must match the stored ones.
    pub fn open(
        db_path: &Path,
        descriptors: &Descriptors,
        network: Network,
    ) -> Result<HdWallet, HdError> {
        let path = db_path.display().to_string();
        let db_err = |reason: String| HdError::Db {
            path: path.clone(),
            reason,
        };
        let mut db = Connection::open(db_path).map_err(|e| db_err(e.to_string()))?;
        // No secrets in it (public descriptors, transactions), but the wallet's history is private.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(db_path, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| db_err(e.to_string()))?;
        }
        let mut load = Wallet::load()
            .descriptor(KeychainKind::External, Some(descriptors.external.clone()))
            .check_network(network);
        if let Some(int) = &descriptors.internal {
            load = load.descriptor(KeychainKind::Internal, Some(int.clone()));
        }
        let loaded = load
            .load_wallet(&mut db)
            .map_err(|e| HdError::Descriptor(e.into()))?;
        let wallet = match loaded {
            Some(w) => w,
            None => {
                let params = match &descriptors.internal {
                    Some(int) => Wallet::create(descriptors.external.clone(), int.clone()),
                    None => Wallet::create_single(descriptors.external.clone()),
                };
                params
                    .network(network)
                    .create_wallet(&mut db)
                    .map_err(|e| HdError::Descriptor(e.into()))?
            }
        };
        let mut signers = vec![signers_of(&descriptors.external)?];
        if let Some(int) = &descriptors.internal {
            signers.push(signers_of(int)?);
        }
        Ok(HdWallet {
            wallet,
            db,
            birthday: None,
            path,
            account: descriptors.account,
            network,
            signers,
            reserved: std::collections::HashSet::new(),
            confirmed_at_least: None,
        })
    }

    /// Fund a running live stream: keep funding transactions off `coins` (its lineage change,
    /// chunk coins and top-up), replacing any earlier reservation, and spend only confirmed coins
    /// of at least `min` (the change of an unconfirmed chunk would make the funding, and the
    /// fan-out it pays, a descendant of the stream's unconfirmed transactions, against the
    /// mempool's limits; the stream's small leftovers would pile into one oversized transaction).
    pub fn reserve(
        &mut self,
        coins: impl IntoIterator<Item = bdk_wallet::bitcoin::OutPoint>,
        min: Amount,
    ) {
        self.reserved = coins.into_iter().collect();
        self.confirmed_at_least = Some(min);
    }

    /// Coins a funding transaction may not spend: the reserved ones and, with a reservation,
    /// those unconfirmed or below its minimum.
    fn unusable(&self) -> Vec<bdk_wallet::bitcoin::OutPoint> {
        self.wallet
            .list_unspent()
            .filter(|u| {
                self.reserved.contains(&u.outpoint)
                    || self
                        .confirmed_at_least
                        .is_some_and(|min| !u.chain_position.is_confirmed() || u.txout.value < min)
            })
            .map(|u| u.outpoint)
            .collect()
    }

    /// What a funding transaction can spend: the trusted balance, or with a reservation the
    /// confirmed coins of at least its minimum, less the coins it may not spend.
    pub fn fundable(&self) -> Amount {
        if self.confirmed_at_least.is_none() {
            return self.wallet.balance().trusted_spendable();
        }
        let unusable: std::collections::HashSet<_> = self.unusable().into_iter().collect();
        self.wallet
            .list_unspent()
            .filter(|u| !unusable.contains(&u.outpoint))
            .map(|u| u.txout.value)
            .sum()
    }

    /// Start syncing at `height` while the wallet has never synced past genesis (see
    /// [`crate::sync::sync_from`]).
    pub fn with_birthday(mut self, height: Option<u32>) -> HdWallet {
        self.birthday = height;
        self
    }

    /// The bdk wallet, for reading.
    pub fn bdk(&self) -> &Wallet {
        &self.wallet
    }

    /// The network.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Whether the wallet can sign (it holds the account key).
    pub fn can_sign(&self) -> bool {
        self.account.is_some() || self.signers.iter().any(|s| !s.ids().is_empty())
    }

    /// Write the staged changes.
    pub fn persist(&mut self) -> Result<(), HdError> {
        self.wallet
            .persist(&mut self.db)
            .map(|_| ())
            .map_err(|e| HdError::Db {
                path: self.path.clone(),
                reason: e.to_string(),
            })
    }

    /// Sync from `backend` and persist.
    pub fn sync(&mut self, backend: &dyn ChainBackend) -> Result<SyncStats, HdError> {
        let r = crate::sync::sync_from(&mut self.wallet, backend, self.birthday);
        // Keep what was applied even when the sync stopped half-way.
        self.persist()?;
        Ok(r?)
    }

    /// The next unused receive address (persisted, so it is watched from now on).
    pub fn receive_address(&mut self) -> Result<Address, HdError> {
        let a = self
            .wallet
            .next_unused_address(KeychainKind::External)
            .address;
        self.persist()?;
        Ok(a)
    }

    /// The balance bdk computes from what it was fed.
    pub fn balance(&self) -> Balance {
        self.wallet.balance()
    }

    /// The public descriptors (for a watch-only copy).
    pub fn public_descriptors(&self) -> (String, Option<String>) {
        let ext = self
            .wallet
            .public_descriptor(KeychainKind::External)
            .to_string();
        let int = self
            .wallet
            .keychains()
            .any(|(k, _)| k == KeychainKind::Internal)
            .then(|| {
                self.wallet
                    .public_descriptor(KeychainKind::Internal)
                    .to_string()
            });
        (ext, int)
    }

    /// The publisher key and its internal index: the wallet's first internal address (BIP86
    /// `m/86'/coin'/0'/1/0`). Every publish is funded through it, so a publisher's films share
    /// one publisher key (docs/cvp.md, "Publishers": the key of the coin a header spends), and
    /// every change and dust output of a plan goes back to it, so the wallet finds them.
    pub fn plan_signer(&mut self) -> Result<(Signer, u32), HdError> {
        const PUBLISHER_INDEX: u32 = 0;
        let account = self.account.ok_or(HdError::WatchOnly)?;
        let _ = self
            .wallet
            .reveal_addresses_to(KeychainKind::Internal, PUBLISHER_INDEX)
            .count();
        self.persist()?;
        let info = self
            .wallet
            .peek_address(KeychainKind::Internal, PUBLISHER_INDEX);
        let secp = Secp256k1::new();
        let path: DerivationPath = vec![
            ChildNumber::Normal { index: 1 },
            ChildNumber::Normal { index: info.index },
        ]
        .into();
        let key = account
            .derive_priv(&secp, &path)
            .map_err(|e| HdError::Descriptor(e.into()))?;
        let signer = Signer::new(key.to_keypair(&secp));
        if signer.script() != info.address.script_pubkey() {
            return Err(HdError::KeyMismatch(info.index));
        }
        Ok((signer, info.index))
    }

    /// An unsigned funding transaction paying `amount` to `to` at `feerate`, change to an internal
    /// address. Coins are picked largest first (the wallet holds many 330 sat plan leftovers, which
    /// a random draw would pile in), never a [reserved](HdWallet::reserve) one.
    pub fn funding_psbt(
        &mut self,
        to: ScriptBuf,
        amount: Amount,
        feerate: FeeRate,
    ) -> Result<Psbt, HdError> {
        let reserved = self.unusable();
        let mut b = self
            .wallet
            .build_tx()
            .coin_selection(LargestFirstCoinSelection);
        b.add_recipient(to, amount)
            .fee_rate(feerate)
            .unspendable(reserved);
        let psbt = b.finish().map_err(|e| HdError::Build(e.to_string()))?;
        // The change index bdk revealed must survive a restart.
        self.persist()?;
        Ok(psbt)
    }

    /// A funding transaction replacing `old` (BIP125 signalled, as every wallet transaction is):
    /// it spends every input of `old`, so at most one of the two can ever confirm, plus more coins
    /// when needed, and pays `amount` to `to` at `feerate`. `evicted` are the transactions the
    /// replacement pushes out (the old funding and its descendants): the wallet stops counting them.
    /// `evicted_fee` is what they pay: the replacement pays it again on top of its own fee (BIP125
    /// rule 3, without package replacement), so a bump costs both plans' fees.
    pub fn replacement_funding_psbt(
        &mut self,
        old: &Transaction,
        evicted: &[bdk_wallet::bitcoin::Txid],
        evicted_fee: Amount,
        to: ScriptBuf,
        amount: Amount,
        feerate: FeeRate,
    ) -> Result<Psbt, HdError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        self.wallet
            .apply_evicted_txs(evicted.iter().map(|t| (*t, now + 1)));
        let inputs: Vec<_> = old.input.iter().map(|i| i.previous_output).collect();
        let build = |w: &mut Wallet, fee: Option<Amount>| -> Result<Psbt, HdError> {
            let mut b = w.build_tx().coin_selection(LargestFirstCoinSelection);
            b.add_utxos(&inputs)
                .map_err(|e| HdError::Build(format!("the replaced funding's coins: {e}")))?;
            b.add_recipient(to.clone(), amount);
            match fee {
                Some(f) => b.fee_absolute(f),
                None => b.fee_rate(feerate),
            };
            b.finish().map_err(|e| HdError::Build(e.to_string()))
        };
        // BIP125 rule 3: the replacement alone pays at least what it evicts, plus its own size at
        // the incremental relay fee (1 sat/vB, Core's long-time default: a safe upper bound).
        let at_rate = build(&mut self.wallet, None)?;
        let own = at_rate.fee().map_err(|e| HdError::Build(e.to_string()))?;
        let sat_per_vb = (feerate.to_sat_per_kwu() * 4).div_ceil(1000).max(1);
        let vsize = own.to_sat().div_ceil(sat_per_vb);
        let psbt = build(
            &mut self.wallet,
            Some(own + evicted_fee + Amount::from_sat(vsize)),
        )?;
        let spent: std::collections::HashSet<_> = psbt
            .unsigned_tx
            .input
            .iter()
            .map(|i| i.previous_output)
            .collect();
        if !inputs.iter().all(|i| spent.contains(i)) {
            return Err(HdError::Build(
                "the replacement does not spend every input of the replaced funding".into(),
            ));
        }
        self.persist()?;
        Ok(psbt)
    }

    /// A PSBT spending every coin of this wallet to `to` (the legacy key's sweep).
    pub fn sweep_psbt(&mut self, to: ScriptBuf, feerate: FeeRate) -> Result<Psbt, HdError> {
        let mut b = self.wallet.build_tx();
        b.drain_wallet().drain_to(to).fee_rate(feerate);
        b.finish().map_err(|e| HdError::Build(e.to_string()))
    }

    /// Sign every input the wallet can, finalize, extract.
    pub fn sign(&self, psbt: &mut Psbt) -> Result<Transaction, HdError> {
        if !self.can_sign() {
            return Err(HdError::WatchOnly);
        }
        let done = self
            .wallet
            .sign_with_signers(
                psbt,
                &self.signers.iter().collect::<Vec<_>>(),
                SignOptions::default(),
            )
            .map_err(|e| HdError::Sign(e.to_string()))?;
        if !done {
            return Err(HdError::Sign("some inputs are not the wallet's".into()));
        }
        psbt.clone()
            .extract_tx()
            .map_err(|e| HdError::Sign(e.to_string()))
    }

    /// Sign every input of `psbt` this wallet holds the key of, without finalizing (the PSBT goes
    /// back to whoever broadcasts it). Returns how many inputs carry a key-path signature.
    pub fn sign_psbt(&self, psbt: &mut Psbt) -> Result<usize, HdError> {
        if !self.can_sign() {
            return Err(HdError::WatchOnly);
        }
        let opts = SignOptions {
            try_finalize: false,
            // Taproot signatures commit to every spent amount: the witness UTXO is enough.
            trust_witness_utxo: true,
            ..Default::default()
        };
        self.wallet
            .sign_with_signers(psbt, &self.signers.iter().collect::<Vec<_>>(), opts)
            .map_err(|e| HdError::Sign(e.to_string()))?;
        let n = psbt
            .inputs
            .iter()
            .filter(|i| i.tap_key_sig.is_some())
            .count();
        if n == 0 {
            return Err(HdError::Sign(
                "none of the PSBT's inputs belongs to this wallet".into(),
            ));
        }
        Ok(n)
    }

    /// Finalize a PSBT signed elsewhere and extract the transaction.
    pub fn finalize(&self, psbt: &mut Psbt) -> Result<Transaction, HdError> {
        let done = self
            .wallet
            .finalize_psbt(psbt, SignOptions::default())
            .map_err(|e| HdError::Sign(e.to_string()))?;
        if !done {
            return Err(HdError::Sign(
                "the PSBT is not fully signed: every input needs a signature".into(),
            ));
        }
        psbt.clone()
            .extract_tx()
            .map_err(|e| HdError::Sign(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "a test fails loudly")]
    use super::*;

    #[test]
    fn debug_never_shows_a_private_descriptor() {
        let words = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";
        let d =
            Descriptors::from_mnemonic(&parse_mnemonic(words).unwrap(), Network::Regtest).unwrap();
        let secret = d
            .external
            .split(']')
            .nth(1)
            .unwrap()
            .split('/')
            .next()
            .unwrap();
        assert!(secret.starts_with("tprv"), "{secret}");
        let wif = bdk_wallet::bitcoin::PrivateKey::from_slice(&[7; 32], Network::Regtest).unwrap();
        let single = Descriptors::single_key(&wif);
        let dir = tempfile::tempdir().unwrap();
        let w = HdWallet::open(&dir.path().join("w.sqlite"), &d, Network::Regtest).unwrap();
        for shown in [
            format!("{d:?}"),
            format!("{d:#?}"),
            format!("{single:?}"),
            format!("{w:?}"),
        ] {
            assert!(!shown.contains("prv"), "{shown}");
            assert!(!shown.contains(secret), "{shown}");
            assert!(!shown.contains(&wif.to_wif()), "{shown}");
        }
        assert!(format!("{d:?}").contains("<redacted>"));
        assert!(format!("{w:?}").contains("can_sign: true"));
    }
}
