//! `bitflix devnet`: the embedded chain as a daemon serving the Esplora HTTP API, a subset of
//! Bitcoin Core's JSON-RPC and REST on the same port, and optionally ZMQ notifications.

use anyhow::Context;
use clap::Args;
use devnet::{Devnet, DevnetConfig, PolicyProfile};
use serde::Serialize;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// Run the devnet and serve it over the Esplora API (DATADIR/devnet holds the chain).
#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Address of the Esplora API.
    #[arg(long, default_value = "127.0.0.1:3002")]
    listen: SocketAddr,
    /// Mine a block this often (e.g. 10s, 1m); default: only when asked.
    #[arg(long, value_parser = parse_interval)]
    block_interval: Option<Duration>,
    /// Relay policy: core30 (100 kB OP_RETURN) or legacy80 (one 80-byte OP_RETURN).
    #[arg(long, default_value = "core30")]
    policy: PolicyProfile,
    /// Mine this many blocks at start (e.g. 101 for a spendable faucet).
    #[arg(long, default_value_t = 0)]
    mine: u32,
    /// Publish mempool and block changes on this ZMQ endpoint, as bitcoind's -zmqpubsequence
    /// does (e.g. tcp://127.0.0.1:28332).
    #[arg(long, value_name = "ENDPOINT")]
    zmq: Option<String>,
}

fn parse_interval(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = n
        .parse()
        .map_err(|_| format!("'{s}' is not an interval like 10s or 1m"))?;
    let secs = match unit {
        "s" | "" => n,
        "m" => n * 60,
        _ => return Err(format!("'{s}': the unit must be s or m")),
    };
    if !(1..=3600).contains(&secs) {
        return Err(format!("'{s}': intervals from 1 s to 1 h"));
    }
    Ok(Duration::from_secs(secs))
}

/// What the daemon did once stopped.
#[derive(Debug, Serialize)]
pub struct DevnetOut {
    /// The API's URL.
    pub url: String,
    /// Height when it stopped.
    pub height: u32,
}

impl fmt::Display for DevnetOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "devnet stopped at height {} (served {})",
            self.height, self.url
        )
    }
}

pub fn run(g: &super::Global, args: DevnetArgs) -> anyhow::Result<DevnetOut> {
    if g.network() != bitcoin::Network::Regtest {
        anyhow::bail!("bitflix devnet runs the embedded devnet, a regtest chain: drop --network (or BITFLIX_NETWORK)");
    }
    let dir = g.datadir.join("devnet");
    let d = Devnet::open(
        &dir,
        DevnetConfig {
            policy: args.policy,
            block_interval: args.block_interval,
        },
    )
    .with_context(|| format!("opening the devnet in {}", dir.display()))?;
    if args.mine > 0 {
        d.mine(args.mine, &d.faucet_script())?;
    }
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let url = format!("http://{}", args.listen);
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("binding {}", args.listen))?;
        if let Some(endpoint) = &args.zmq {
            devnet::zmqpub::publish(&d, endpoint)
                .await
                .map_err(anyhow::Error::msg)?;
            eprintln!("publishing ZMQ sequence notifications on {endpoint}");
        }
        eprintln!(
            "devnet at height {} serving the Esplora API and Bitcoin Core's JSON-RPC/REST subset at {url} (Ctrl-C to stop)",
            d.tip().height
        );
        devnet::http::serve(d.clone(), listener, crate::signal::shutdown())
            .await
            .context("serving")
    })?;
    Ok(DevnetOut {
        url,
        height: d.tip().height,
    })
}
