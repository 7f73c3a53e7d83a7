//! Building a chain backend from `--chain`.

use anyhow::{bail, Context};
use chain::core::{CoreBackend, CoreUrl};
use chain::esplora::EsploraBackend;
use chain::{ChainBackend, ChainSpec, Multi};
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

/// The backend to read, and the [`Multi`] behind it when there are several.
pub type Opened = (Arc<dyn ChainBackend>, Option<Arc<Multi>>);

/// The backends of one or more `--chain` flags: one is used as it is; several are read through
/// [`Multi`] (the first healthy one, failing over, block hashes cross-checked), returned too so
/// that its report can be printed. Backends that cannot be reached at start are left out with a
/// warning, as long as one can.
pub fn open_all(specs: &[ChainSpec], network: bitcoin::Network) -> anyhow::Result<Opened> {
    if let [one] = specs {
        return Ok((open(one, network)?, None));
    }
    let mut members = Vec::new();
    let mut failed = Vec::new();
    for spec in specs {
        let name = label(spec);
        match open(spec, network) {
            Ok(b) => members.push((name, b)),
            Err(e) => {
                tracing::warn!("chain backend {name} left out: {e:#}");
                failed.push(format!("{name}: {e:#}"));
            }
        }
    }
    if members.is_empty() {
        bail!("no chain backend could be reached: {}", failed.join("; "));
    }
    let multi = Arc::new(Multi::new(members).context("combining the chain backends")?);
    Ok((Arc::clone(&multi) as Arc<dyn ChainBackend>, Some(multi)))
}

/// A `--chain` spec as reports print it: any password in a URL replaced by `***`.
pub fn label(spec: &ChainSpec) -> String {
    let redact = |url: &str| {
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_string();
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        match authority.rsplit_once('@') {
            Some((login, host)) => {
                let user = login.split_once(':').map_or(login, |(u, _)| u);
                format!("{scheme}://{user}:***@{host}{tail}")
            }
            None => url.to_string(),
        }
    };
    match spec {
        ChainSpec::Devnet(dir) => format!("devnet:{}", dir.display()),
        ChainSpec::Esplora(url) => format!("esplora:{}", redact(url)),
        ChainSpec::Core(url) => format!("core:{}", redact(url)),
        _ => "chain".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::label;

    #[test]
    fn labels_hide_passwords() {
        let core = "core:http://alice:secret@127.0.0.1:8332?zmq=tcp://h:1"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            label(&core),
            "core:http://alice:***@127.0.0.1:8332?zmq=tcp://h:1"
        );
        let plain = "esplora:http://127.0.0.1:3002"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(label(&plain), "esplora:http://127.0.0.1:3002");
    }
}
