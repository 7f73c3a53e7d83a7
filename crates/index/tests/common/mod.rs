//! Helpers for the scanner tests on top of `testkit`: hand-built lineages (units as OP_RETURN
//! pushes, each transaction spending the previous one's change), films published with the
//! wallet's planner, and unsigned transactions fed to a `Catalog` directly.
#![allow(dead_code, reason = "each test file uses a different part")]
#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use bitcoin::script::{Builder, PushBytesBuf};
use bitcoin::{Amount, FeeRate, OutPoint, ScriptBuf, Transaction, TxOut, Txid};
use cvp::{Carrier, ContentInfo, Record};
use devnet::Devnet;
pub use testkit::devnet::{key, Key};

/// Spend `coin` (paying `k`) to `units` as OP_RETURN outputs (each unit given as its pushes) and
/// the change back to `k`, paying `fee`. Returns the transaction and its change coin.
pub fn carry(
    k: &Key,
    coin: &(OutPoint, TxOut),
    units: &[&[&[u8]]],
    fee: u64,
) -> (Transaction, (OutPoint, TxOut)) {
    let mut outputs: Vec<TxOut> = units
        .iter()
        .map(|pushes| TxOut {
            value: Amount::ZERO,
            script_pubkey: op_return(pushes),
        })
        .collect();
    let change = TxOut {
        value: coin.1.value - Amount::from_sat(fee),
        script_pubkey: k.script.clone(),
    };
    outputs.push(change.clone());
    let tx = k.spend(std::slice::from_ref(coin), outputs);
    let vout = tx.output.len() as u32 - 1;
    let next = (OutPoint::new(tx.compute_txid(), vout), change);
    (tx, next)
}

/// `OP_RETURN <push>...`.
pub fn op_return(pushes: &[&[u8]]) -> ScriptBuf {
    let mut b = Builder::new().push_opcode(bitcoin::opcodes::all::OP_RETURN);
    for p in pushes {
        b = b.push_slice(PushBytesBuf::try_from(p.to_vec()).unwrap());
    }
    b.into_script()
}

/// Fund `k` with `sats` from the faucet and confirm it; returns the coin.
pub fn funded(d: &Devnet, k: &Key, sats: u64) -> (OutPoint, TxOut) {
    testkit::devnet::funded(d, &k.script, Amount::from_sat(sats))
}

/// Publish `data` with the wallet's planner from a coin of `seed`'s key, into the mempool
/// (mining between transactions when an unconfirmed chain is full). Returns the content id and
/// the funding coin.
pub fn publish(
    d: &Devnet,
    seed: u8,
    data: &[u8],
    title: &str,
    carrier: Carrier,
) -> (Txid, (OutPoint, TxOut)) {
    let info = ContentInfo {
        title: Some(title.into()),
        media_type: "video/mp4".into(),
        duration_ms: None,
        poster: None,
        records: Vec::new(),
    };
    publish_info(d, seed, data, info, carrier)
}

/// [`publish`] with the whole `info` (other records of the lineage: a clip table, branches).
pub fn publish_info(
    d: &Devnet,
    seed: u8,
    data: &[u8],
    info: ContentInfo,
    carrier: Carrier,
) -> (Txid, (OutPoint, TxOut)) {
    let k = key(seed);
    let signer = wallet::Signer::new(k.keypair);
    assert_eq!(signer.script(), k.script);
    let coin = funded(d, &k, 5_000_000);
    let req = wallet::PlanRequest {
        stream: data,
        info,
        carrier,
        feerate: FeeRate::from_sat_per_vb(1).unwrap(),
        funding: coin.clone(),
        commitment: None,
    };
    let p = wallet::plan(&req, &signer).unwrap();
    for t in &p.txs {
        if let Err(devnet::DevnetError::Rejected(r)) = d.submit_tx(t.tx.clone()) {
            assert!(r.contains("too-long-mempool-chain"), "{r}");
            d.mine(1, &d.faucet_script()).unwrap();
            d.submit_tx(t.tx.clone()).unwrap();
        }
    }
    (p.content_id, coin)
}

/// A transaction whose first input spends `parent` and whose outputs carry `units` (unsigned: a
/// catalog checks no scripts).
pub fn bare(parent: OutPoint, units: &[Record]) -> Transaction {
    Transaction {
        version: bitcoin::transaction::Version::TWO,
        lock_time: bitcoin::absolute::LockTime::ZERO,
        input: vec![bitcoin::TxIn {
            previous_output: parent,
            ..bitcoin::TxIn::default()
        }],
        output: units
            .iter()
            .map(|u| TxOut {
                value: Amount::ZERO,
                script_pubkey: op_return(&[&u.encode()]),
            })
            .collect(),
    }
}

/// A txid no test transaction has (`n` apart), output 0: a parent never seen.
pub fn fake(n: u32) -> OutPoint {
    use bitcoin::hashes::Hash;
    let mut b = [0u8; 32];
    b[..4].copy_from_slice(&n.to_le_bytes());
    b[31] = 0xee;
    OutPoint::new(Txid::from_byte_array(b), 0)
}
