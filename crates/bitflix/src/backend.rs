//! Building a chain backend from `--chain`.

use anyhow::{bail, Context};
use chain::ChainSpec;
use devnet::{Devnet, DevnetConfig};

/// Open the backend a `--chain` spec names. Only the embedded devnet is built so far.
pub fn open_devnet(spec: &ChainSpec) -> anyhow::Result<Devnet> {
    match spec {
        ChainSpec::Devnet(dir) => Devnet::open(dir, DevnetConfig::default())
            .with_context(|| format!("opening the devnet in {}", dir.display())),
        ChainSpec::Esplora(_) | ChainSpec::Core(_) => {
            bail!("only --chain devnet:DIR works in this build: the Esplora and Bitcoin Core backends are not implemented yet")
        }
        _ => bail!("unsupported chain"),
    }
}
