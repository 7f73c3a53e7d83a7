//! Mines on a devnet in a loop and reports every confirmed block on stdout, for the kill -9 test:
//! `devnet-mine-loop DATADIR` prints `confirmed HEIGHT HASH` after each block is accepted, and
//! `pending TXID` after each faucet payment enters the mempool.

use bitcoin::{Amount, ScriptBuf};
use devnet::{Devnet, DevnetConfig};
use std::io::Write;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: devnet-mine-loop DATADIR")?;
    let devnet = Devnet::open(std::path::Path::new(&dir), DevnetConfig::default())?;
    let mut out = std::io::stdout().lock();
    let to = ScriptBuf::new_p2wsh(&bitcoin::WScriptHash::from_raw_hash(
        bitcoin::hashes::Hash::all_zeros(),
    ));
    for i in 0u64.. {
        if devnet.tip().height > 101 && i % 3 == 0 {
            let txid = devnet.faucet(&to, Amount::from_sat(10_000 + i))?;
            writeln!(out, "pending {txid}")?;
        }
        for hash in devnet.mine(1, &devnet.faucet_script())? {
            let height = devnet.tip().height;
            writeln!(out, "confirmed {height} {hash}")?;
        }
        out.flush()?;
    }
    Ok(())
}
