//! `--network`: which chain a backend must serve, checked at start by its genesis block.
//!
//! Every backend is asked for the hash of its block at height 0 and it must be the genesis of the
//! network given. A custom signet (`-signetchallenge=...`) has the same genesis as the default one
//! (the challenge is not in the genesis block), so any signet passes `--network signet`: its
//! addresses, coin type and rules are signet's whatever its challenge, and BitFlix never reads the
//! challenge.

use anyhow::bail;
use bitcoin::{BlockHash, Network};
use chain::ChainBackend;

/// The networks BitFlix speaks, in the order their names are tried.
const KNOWN: [Network; 4] = [
    Network::Bitcoin,
    Network::Testnet4,
    Network::Signet,
    Network::Regtest,
];

/// A network's name as `--network` spells it.
pub fn name(network: Network) -> &'static str {
    match network {
        Network::Bitcoin => "mainnet",
        Network::Testnet4 => "testnet4",
        Network::Signet => "signet",
        Network::Regtest => "regtest",
        _ => "testnet3",
    }
}

/// The hash of `network`'s genesis block.
pub fn genesis(network: Network) -> BlockHash {
    bitcoin::constants::genesis_block(network).block_hash()
}

/// The network whose genesis block is `hash`, if BitFlix knows it.
pub fn of_genesis(hash: &BlockHash) -> Option<Network> {
    KNOWN.into_iter().find(|n| genesis(*n) == *hash)
}

/// Why a backend's genesis is not `network`'s, in words; `None` when it is.
pub fn mismatch(network: Network, got: &BlockHash) -> Option<String> {
    if *got == genesis(network) {
        return None;
    }
    let serves = match of_genesis(got) {
        Some(n) => format!("{} (genesis {got})", name(n)),
        None => format!("a chain BitFlix does not know (genesis {got})"),
    };
    Some(format!(
        "the backend serves {serves}, not {} (genesis {}): pass --network {} or another --chain",
        name(network),
        genesis(network),
        of_genesis(got).map_or("...", name),
    ))
}

/// Check that `backend` serves `network`, by its block at height 0.
pub fn check(backend: &dyn ChainBackend, network: Network) -> anyhow::Result<()> {
    let got = backend.block_hash(0).map_err(|e| {
        anyhow::anyhow!(
            "asking the backend for its genesis block (to check it serves {}): {e}",
            name(network)
        )
    })?;
    if let Some(why) = mismatch(network, &got) {
        bail!(why);
    }
    Ok(())
}

/// Whether publishing on `network` spends coins that may be worth something, so that a publish
/// prints its exact total fee and asks before it broadcasts (or takes `--yes`). True on every
/// network but regtest: a custom signet goes through the same path as mainnet.
pub fn needs_confirmation(network: Network) -> bool {
    network != Network::Regtest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_genesis_names_its_network() {
        for n in KNOWN {
            assert_eq!(of_genesis(&genesis(n)), Some(n));
            assert!(mismatch(n, &genesis(n)).is_none());
        }
        // Signet's genesis, whatever the challenge: the one a `-signetchallenge=51` node reports.
        assert_eq!(
            genesis(Network::Signet).to_string(),
            "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6"
        );
    }

    #[test]
    fn a_mismatch_names_both_networks() {
        let why = mismatch(Network::Signet, &genesis(Network::Regtest)).unwrap_or_default();
        assert!(why.contains("serves regtest"), "{why}");
        assert!(why.contains("not signet"), "{why}");
        assert!(why.contains("--network regtest"), "{why}");
        let unknown: BlockHash = bitcoin::hashes::Hash::from_byte_array([7; 32]);
        let why = mismatch(Network::Bitcoin, &unknown).unwrap_or_default();
        assert!(why.contains("does not know"), "{why}");
    }

    #[test]
    fn every_network_but_regtest_asks_before_paying() {
        assert!(!needs_confirmation(Network::Regtest));
        for n in [Network::Signet, Network::Testnet4, Network::Bitcoin] {
            assert!(needs_confirmation(n), "{n}");
        }
    }
}
