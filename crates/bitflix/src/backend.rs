//! Building a chain backend from `--chain`.

use anyhow::{bail, Context};
use chain::core::{CoreBackend, CoreUrl};
use chain::esplora::EsploraBackend;
use chain::{ChainBackend, ChainSpec};
use std::sync::Arc;

/// The error of a command or `--chain` spec that needs the embedded devnet in a build without it.
#[cfg(not(feature = "devnet"))]
pub fn without_devnet(what: &str) -> anyhow::Error {
    anyhow::anyhow!(
        "{what} needs the embedded devnet, and this bitflix was built without it: rebuild with the `devnet` cargo feature (on by default)"
    )
}

/// Open the devnet a `--chain devnet:DIR` names (publishing needs the devnet's faucet and miner);
/// its chain is regtest's, checked against `network` by its genesis block.
#[cfg(feature = "devnet")]
pub fn open_devnet(spec: &ChainSpec, network: bitcoin::Network) -> anyhow::Result<devnet::Devnet> {
    match spec {
        ChainSpec::Devnet(dir) => {
            let d = devnet::Devnet::open(dir, devnet::DevnetConfig::default())
                .with_context(|| format!("opening the devnet in {}", dir.display()))?;
            crate::network::check(&d, network).context("the devnet is a regtest chain")?;
            Ok(d)
        }
        _ => bail!("publishing works with --chain devnet:DIR only in this build (the wallet cannot yet fund itself from another backend)"),
    }
}

/// Any backend, for reading: the devnet in-process, an Esplora server or a Bitcoin Core node;
/// its genesis block checked against `network` (see [`crate::network`]).
pub fn open(spec: &ChainSpec, network: bitcoin::Network) -> anyhow::Result<Arc<dyn ChainBackend>> {
    let b = open_unchecked(spec, network)?;
    crate::network::check(b.as_ref(), network)?;
    Ok(b)
}

fn open_unchecked(
    spec: &ChainSpec,
    network: bitcoin::Network,
) -> anyhow::Result<Arc<dyn ChainBackend>> {
    match spec {
        #[cfg(feature = "devnet")]
        ChainSpec::Devnet(_) => Ok(Arc::new(open_devnet(spec, network)?)),
        #[cfg(not(feature = "devnet"))]
        ChainSpec::Devnet(_) => Err(without_devnet("--chain devnet:DIR")),
        ChainSpec::Esplora(url) => {
            let b = EsploraBackend::new(url, network);
            b.tip()
                .with_context(|| format!("reaching the Esplora server at {url}"))?;
            Ok(Arc::new(b))
        }
        ChainSpec::Core(url) => {
            let parsed: CoreUrl = url.parse().map_err(|e: String| anyhow::anyhow!(e))?;
            let b = CoreBackend::connect(&parsed, network)
                .with_context(|| format!("reaching Bitcoin Core at {}", parsed.rpc))?;
            Ok(Arc::new(b))
        }
        _ => bail!("unsupported chain"),
    }
}
