//! Building a chain backend from `--chain`.

use anyhow::{bail, Context};
use chain::esplora::EsploraBackend;
use chain::{ChainBackend, ChainSpec};
use devnet::{Devnet, DevnetConfig};
use std::sync::Arc;

/// Open the devnet a `--chain devnet:DIR` names (publishing needs the devnet's faucet and miner).
pub fn open_devnet(spec: &ChainSpec) -> anyhow::Result<Devnet> {
    match spec {
        ChainSpec::Devnet(dir) => Devnet::open(dir, DevnetConfig::default())
            .with_context(|| format!("opening the devnet in {}", dir.display())),
        _ => bail!("publishing works with --chain devnet:DIR only in this build (the wallet cannot yet fund itself from another backend)"),
    }
}

/// Any backend, for reading: the devnet in-process or an Esplora server.
pub fn open(spec: &ChainSpec, network: bitcoin::Network) -> anyhow::Result<Arc<dyn ChainBackend>> {
    match spec {
        ChainSpec::Devnet(_) => Ok(Arc::new(open_devnet(spec)?)),
        ChainSpec::Esplora(url) => {
            let b = EsploraBackend::new(url, network);
            b.tip()
                .with_context(|| format!("reaching the Esplora server at {url}"))?;
            Ok(Arc::new(b))
        }
        ChainSpec::Core(_) => {
            bail!("the Bitcoin Core backend is not implemented yet: use devnet:DIR or esplora:URL")
        }
        _ => bail!("unsupported chain"),
    }
}
