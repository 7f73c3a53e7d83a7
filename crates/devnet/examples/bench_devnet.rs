//! Devnet throughput: transactions accepted per second by `submit_tx` (policy + kernel script
//! checks), and full blocks of CVP-like OP_RETURN transactions validated per second by a fresh
//! kernel. Each figure comes with a baseline measured in the same process on the same bytes:
//! rust-bitcoin deserialize + txid of every transaction.
//!
//! Transactions are also offered over HTTP on loopback, through Esplora's `POST /tx` and Core's
//! `sendrawtransaction`, each compared with the in-process time per transaction.
//!
//! `cargo run -p devnet --example bench_devnet [BLOCKS] [DATA_BYTES]`

use bitcoin::consensus::{deserialize, serialize};
use bitcoin::{Amount, OutPoint, ScriptBuf, Transaction, TxOut};
use bitcoinkernel::{Block as KBlock, ChainType, ChainstateManager, ContextBuilder};
use chain::ChainBackend;
use devnet::{Devnet, DevnetConfig};
use std::time::Instant;

type Res<T> = Result<T, Box<dyn std::error::Error>>;

fn op_return(len: usize) -> ScriptBuf {
    let data = bitcoin::script::PushBytesBuf::try_from(vec![0xcd; len]).unwrap_or_default();
    bitcoin::script::Builder::new()
        .push_opcode(bitcoin::opcodes::all::OP_RETURN)
        .push_slice(data)
        .into_script()
}

fn baseline(raws: &[Vec<u8>]) -> Res<f64> {
    let t = Instant::now();
    let mut n = 0usize;
    for raw in raws {
        let b: bitcoin::Block = deserialize(raw)?;
        for tx in &b.txdata {
            std::hint::black_box(tx.compute_txid());
            n += 1;
        }
    }
    std::hint::black_box(n);
    Ok(t.elapsed().as_secs_f64())
}

/// Serve the devnet's HTTP API on a free loopback port; the server (and its handle on the
/// devnet) ends when the returned sender is dropped and the thread joined.
fn serve(
    d: &Devnet,
) -> Res<(
    String,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
)> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let d = d.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Runtime::new() else {
            return;
        };
        rt.block_on(async move {
            if let Ok(l) = tokio::net::TcpListener::from_std(listener) {
                let _ = devnet::http::serve(d, l, async {
                    let _ = stopped.await;
                })
                .await;
            }
        });
    });
    Ok((format!("http://{addr}"), stop, thread))
}

fn main() -> Res<()> {
    let mut args = std::env::args().skip(1);
    let blocks: usize = args.next().map_or(Ok(8), |a| a.parse())?;
    let data: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let dir = tempfile::tempdir()?;
    let d = Devnet::open(dir.path(), DevnetConfig::default())?;
    let signer = testkit::devnet::key(42);
    // About 4,000,000 WU per block; a tx is ~4 WU per data byte.
    let per_block = 3_990_000 / (4 * (data + 200));
    let count = per_block * blocks;
    let coin = Amount::from_sat(10_000 + data as u64);

    // Fund `count` coins: one faucet payment fanned out (at most 2,000 outputs per tx).
    let mut coins = Vec::new();
    let mut left = count;
    while left > 0 {
        let n = left.min(2_000);
        left -= n;
        let total = coin * n as u64 + Amount::from_sat(100_000);
        let txid = d.faucet(&signer.script, total)?;
        d.mine(1, &d.faucet_script())?;
        let tx = d.tx(&txid).ok_or("faucet tx missing")?.tx;
        let vout = tx
            .output
            .iter()
            .position(|o| o.script_pubkey == signer.script)
            .ok_or("no faucet output")?;
        let outs = vec![
            TxOut {
                value: coin,
                script_pubkey: signer.script.clone()
            };
            n
        ];
        let fan = signer.spend(
            &[(OutPoint::new(txid, vout as u32), tx.output[vout].clone())],
            outs,
        );
        let fan_id = d.submit_tx(fan.clone())?;
        d.mine(1, &d.faucet_script())?;
        for (i, o) in fan.output.iter().enumerate() {
            coins.push((OutPoint::new(fan_id, i as u32), o.clone()));
        }
    }

    // The CVP-like transactions: one Taproot input, one big OP_RETURN, Taproot change.
    let fee = Amount::from_sat((data as u64 + 200) / 5);
    let mut txs = Vec::with_capacity(count);
    for c in &coins {
        let outs = vec![
            TxOut {
                value: Amount::ZERO,
                script_pubkey: op_return(data),
            },
            TxOut {
                value: c.1.value - fee,
                script_pubkey: signer.script.clone(),
            },
        ];
        txs.push(signer.spend(std::slice::from_ref(c), outs));
    }
    let raw_txs: Vec<Vec<u8>> = txs.iter().map(serialize).collect();
    // A third each: in process, Esplora's POST /tx, and Core's sendrawtransaction (JSON-RPC),
    // both over HTTP on loopback to this devnet.
    let (url, stop, server) = serve(&d)?;
    let esplora = chain::esplora::EsploraBackend::new(&url, bitcoin::Network::Regtest);
    let core = chain::core::CoreBackend::connect(&url.parse()?, bitcoin::Network::Regtest)?;
    let third = count / 3;
    let mut rest = txs;
    let by_rpc = rest.split_off(2 * third);
    let by_post = rest.split_off(third);
    let in_process = rest;
    let t = Instant::now();
    for tx in in_process {
        d.submit_tx(tx)?;
    }
    let submit = t.elapsed().as_secs_f64() * count as f64 / third as f64;
    let t = Instant::now();
    for tx in &by_post {
        esplora.broadcast(tx)?;
    }
    let post = t.elapsed().as_secs_f64() / by_post.len() as f64;
    let t = Instant::now();
    for tx in &by_rpc {
        core.broadcast(tx)?;
    }
    let rpc = t.elapsed().as_secs_f64() / by_rpc.len() as f64;
    let t = Instant::now();
    for raw in &raw_txs {
        let tx: Transaction = deserialize(raw)?;
        std::hint::black_box(tx.compute_txid());
    }
    let submit_base = t.elapsed().as_secs_f64();

    let first_full = d.tip().height + 1;
    let t = Instant::now();
    let mined = d.mine(blocks as u32, &d.faucet_script())?;
    let mine = t.elapsed().as_secs_f64();
    let tip = d.tip().height;

    // A fresh kernel validates the same chain; only the full blocks are timed.
    let mut raws = Vec::new();
    for h in 1..=tip {
        raws.push(d.raw_block_at(h)?.ok_or("block missing")?);
    }
    let kdir = tempfile::tempdir()?;
    let ctx = ContextBuilder::new()
        .chain_type(ChainType::Regtest)
        .build()?;
    let cs = kdir.path().join("chainstate");
    let bl = kdir.path().join("blocks");
    let chainman =
        ChainstateManager::new(&ctx, cs.to_str().ok_or("path")?, bl.to_str().ok_or("path")?)?;
    let split = (first_full - 1) as usize;
    for raw in &raws[..split] {
        chainman.process_block(&KBlock::new(raw)?);
    }
    let full = &raws[split..];
    let t = Instant::now();
    for raw in full {
        chainman.process_block(&KBlock::new(raw)?);
    }
    let validate = t.elapsed().as_secs_f64();
    let validated = chainman.active_chain().tip().height();
    if validated != tip as i32 {
        return Err(format!("fresh kernel stopped at {validated}, devnet tip {tip}").into());
    }
    let base = baseline(full)?;
    let bytes: usize = full.iter().map(Vec::len).sum();

    println!(
        "{count} CVP-like txs ({data}-byte OP_RETURN each), {} full blocks of {:.2} MB",
        mined.len(),
        bytes as f64 / full.len() as f64 / 1e6
    );
    println!(
        "submit_tx: {:.0} tx/s ({submit:.3} s); baseline deserialize+txid {:.0} tx/s; ratio {:.1}x slower",
        count as f64 / submit,
        count as f64 / submit_base,
        submit / submit_base
    );
    let per_tx = submit / count as f64;
    println!(
        "POST /tx (Esplora, HTTP on loopback): {:.0} tx/s; ratio {:.2}x the in-process time",
        1.0 / post,
        post / per_tx
    );
    println!(
        "sendrawtransaction (Core JSON-RPC subset, HTTP on loopback): {:.0} tx/s; ratio {:.2}x the in-process time",
        1.0 / rpc,
        rpc / per_tx
    );
    println!(
        "kernel validation (fresh chainstate): {:.1} blocks/s ({:.1} MB/s); baseline {:.1} blocks/s; ratio {:.1}x slower",
        full.len() as f64 / validate,
        bytes as f64 / validate / 1e6,
        full.len() as f64 / base,
        validate / base
    );
    println!(
        "devnet mine (template + build + kernel + index): {:.1} blocks/s",
        mined.len() as f64 / mine
    );
    // Reopening rebuilds the in-memory indexes from the kernel's blocks.
    drop(chainman);
    drop((stop, esplora, core));
    server.join().map_err(|_| "server thread panicked")?;
    drop(d);
    let t = Instant::now();
    let again = Devnet::open(dir.path(), DevnetConfig::default())?;
    println!(
        "reopen (kernel load + index rebuild of {} blocks, {:.1} MB): {:.3} s",
        again.tip().height,
        raws.iter().map(Vec::len).sum::<usize>() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
