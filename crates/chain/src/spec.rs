//! `--chain devnet:DIR | esplora:URL | core:URL` and `--network`.

use std::path::PathBuf;
use std::str::FromStr;

/// Which backend to use, as given on the command line or in the config file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ChainSpec {
    /// The embedded devnet, in-process, with its data directory.
    Devnet(PathBuf),
    /// An Esplora HTTP API (our devnet daemon or any public server), e.g. `http://127.0.0.1:3002`.
    Esplora(String),
    /// A Bitcoin Core node's JSON-RPC URL, e.g. `http://user:pass@127.0.0.1:18443` or
    /// `http://127.0.0.1:18443?cookie=/path/.cookie&zmq=tcp://127.0.0.1:28332`.
    Core(String),
}

impl FromStr for ChainSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (kind, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("chain '{s}' must be devnet:DIR, esplora:URL or core:URL"))?;
        if rest.is_empty() {
            return Err(format!(
                "chain '{s}' names no {}",
                if kind == "devnet" { "directory" } else { "URL" }
            ));
        }
        match kind {
            "devnet" => Ok(ChainSpec::Devnet(PathBuf::from(rest))),
            "esplora" => Ok(ChainSpec::Esplora(rest.trim_end_matches('/').to_string())),
            "core" => Ok(ChainSpec::Core(rest.to_string())),
            other => Err(format!(
                "unknown chain kind '{other}': expected devnet, esplora or core"
            )),
        }
    }
}

/// The `--network` flag: the networks BitFlix speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NetworkArg {
    /// Regtest (the devnet).
    #[default]
    Regtest,
    /// Signet.
    Signet,
    /// Testnet4.
    Testnet4,
    /// Mainnet.
    Mainnet,
}

impl FromStr for NetworkArg {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "regtest" => Ok(Self::Regtest),
            "signet" => Ok(Self::Signet),
            "testnet4" => Ok(Self::Testnet4),
            "mainnet" | "bitcoin" => Ok(Self::Mainnet),
            other => Err(format!(
                "unknown network '{other}': expected regtest, signet, testnet4 or mainnet"
            )),
        }
    }
}

impl From<NetworkArg> for bitcoin::Network {
    fn from(n: NetworkArg) -> Self {
        match n {
            NetworkArg::Regtest => bitcoin::Network::Regtest,
            NetworkArg::Signet => bitcoin::Network::Signet,
            NetworkArg::Testnet4 => bitcoin::Network::Testnet4,
            NetworkArg::Mainnet => bitcoin::Network::Bitcoin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_kind() {
        assert_eq!(
            "devnet:/tmp/x".parse(),
            Ok(ChainSpec::Devnet("/tmp/x".into()))
        );
        assert_eq!(
            "esplora:http://127.0.0.1:3002/".parse(),
            Ok(ChainSpec::Esplora("http://127.0.0.1:3002".into()))
        );
        assert_eq!(
            "core:http://h:1".parse(),
            Ok(ChainSpec::Core("http://h:1".into()))
        );
    }

    #[test]
    fn rejects_bad_specs() {
        assert!("devnet"
            .parse::<ChainSpec>()
            .unwrap_err()
            .contains("devnet:DIR"));
        assert!("devnet:"
            .parse::<ChainSpec>()
            .unwrap_err()
            .contains("directory"));
        assert!("ftp:x"
            .parse::<ChainSpec>()
            .unwrap_err()
            .contains("unknown chain kind"));
        assert!("moon".parse::<NetworkArg>().is_err());
    }
}
