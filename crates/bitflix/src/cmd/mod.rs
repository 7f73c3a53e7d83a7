//! The command line: global flags and one module per subcommand.
//!
//! To add a subcommand: a module here with `Args` (clap) and `run(&Global, Args) -> Result<Output>`,
//! a variant in [`Command`], and an arm in [`run`].

#[cfg(feature = "devnet")]
mod demo;
#[cfg(feature = "devnet")]
mod devnet;
mod encode;
mod estimate;
mod extract;
#[cfg(feature = "devnet")]
mod game;
mod index;
mod interactive;
mod live;
mod publish;
mod serve;
mod wallet;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Put video on Bitcoin and watch it back.
///
/// Publishers: `estimate` what a film costs, `encode` it to a byte budget, `publish` it (resumable,
/// never pays twice). Viewers: `index` a chain and `serve` the player. `demo` does all of it on an
/// embedded devnet.
#[derive(Debug, Parser)]
#[command(name = "bitflix", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every subcommand understands.
#[derive(Debug, Args)]
pub struct Global {
    /// Print the result as one JSON document on stdout (for scripts).
    #[arg(long, global = true)]
    pub json: bool,
    /// More log output on stderr (-v info, -vv debug); BITFLIX_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Data directory (wallet, publish journals, index).
    #[arg(
        long,
        global = true,
        env = "BITFLIX_DATADIR",
        default_value = "bitflix-data"
    )]
    pub datadir: PathBuf,
    /// The network: regtest, signet (any challenge), testnet4 or mainnet. The wallet's addresses
    /// and coin type follow it, and every backend's genesis block is checked against it.
    #[arg(
        long,
        global = true,
        env = "BITFLIX_NETWORK",
        default_value = "regtest"
    )]
    pub network: chain::NetworkArg,
}

impl Global {
    /// The network, as rust-bitcoin names it.
    pub fn network(&self) -> bitcoin::Network {
        self.network.into()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The whole path on an embedded devnet: publish the bundled clip, index it, serve the player.
    #[cfg(feature = "devnet")]
    Demo(demo::DemoArgs),
    /// Run the embedded devnet as a daemon serving the Esplora HTTP API.
    #[cfg(feature = "devnet")]
    Devnet(devnet::DevnetArgs),
    /// Not in this build (needs the `devnet` feature): the demo on an embedded devnet.
    #[cfg(not(feature = "devnet"))]
    Demo(WithoutDevnet),
    /// Not in this build (needs the `devnet` feature): the embedded devnet as a daemon.
    #[cfg(not(feature = "devnet"))]
    Devnet(WithoutDevnet),
    /// Encode a media file into the compact on-chain stream (AV1 + Opus) at a rate or budget.
    Encode(encode::EncodeArgs),
    /// Turn a CVPM stream (file or content id) into a WebM that players read.
    Extract(extract::ExtractArgs),
    /// What publishing costs, per carrier (`--table`: our answer to the announcement).
    Estimate(estimate::EstimateArgs),
    /// Scan a chain into the persistent index (DATADIR/index.redb) and print the catalog.
    Index(index::IndexArgs),
    /// Stream live from the mempool: a source encoded in real time, a chunk broadcast as it is
    /// encoded; Ctrl-C ends it as a verified film; `--resume` continues a killed stream.
    Live(live::LiveArgs),
    /// Publish a file on chain; `--resume` finishes an interrupted publish without paying twice.
    Publish(publish::PublishArgs),
    /// Scan the chain and serve the catalog and player.
    Serve(serve::ServeArgs),
    /// The publisher's wallet (BIP39 mnemonic, BIP86 Taproot, bdk): address, balance, devnet faucet,
    /// backup, watch-only descriptors, PSBT signing.
    Wallet(wallet::WalletArgs),
    /// Show what BitFlix was built with.
    Version,
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let g = &cli.global;
    match cli.command {
        #[cfg(feature = "devnet")]
        Command::Demo(a) => crate::output::emit(g.json, &demo::run(g, a)?),
        #[cfg(feature = "devnet")]
        Command::Devnet(a) => crate::output::emit(g.json, &devnet::run(g, a)?),
        #[cfg(not(feature = "devnet"))]
        Command::Demo(_) => Err(crate::backend::without_devnet("bitflix demo")),
        #[cfg(not(feature = "devnet"))]
        Command::Devnet(_) => Err(crate::backend::without_devnet("bitflix devnet")),
        Command::Encode(a) => crate::output::emit(g.json, &encode::run(a)?),
        Command::Extract(a) => crate::output::emit(g.json, &extract::run(g, a)?),
        Command::Estimate(a) => crate::output::emit(g.json, &estimate::run(g, a)?),
        Command::Index(a) => crate::output::emit(g.json, &index::run(g, a)?),
        Command::Live(a) => crate::output::emit(g.json, &live::run(g, a)?),
        Command::Publish(a) => crate::output::emit(g.json, &publish::Many(publish::run(g, a)?)),
        Command::Serve(a) => crate::output::emit(g.json, &serve::run(g, a)?),
        Command::Wallet(a) => crate::output::emit(g.json, &wallet::run(g, a)?),
        Command::Version => crate::output::emit(g.json, &version()),
    }
}

/// The arguments of a subcommand this build lacks: taken as they come, so the error names the
/// missing feature rather than an argument.
#[cfg(not(feature = "devnet"))]
#[derive(Debug, Args)]
pub struct WithoutDevnet {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    _args: Vec<String>,
}

#[derive(Debug, serde::Serialize)]
struct VersionOut {
    bitflix: &'static str,
    cvp_version: u8,
}

impl std::fmt::Display for VersionOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "bitflix {} (CVP v{})", self.bitflix, self.cvp_version)
    }
}

fn version() -> VersionOut {
    VersionOut {
        bitflix: env!("CARGO_PKG_VERSION"),
        cvp_version: 1,
    }
}
