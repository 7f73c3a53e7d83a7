//! The devnet's mempool: Bitcoin Core's relay policy for what BitFlix uses, and every input's
//! script checked by the kernel with all spent outputs (so Taproot signatures are really verified).

use crate::chain_view::ChainIndex;
use crate::policy::{self, PolicyProfile};
use bitcoin::{Amount, OutPoint, Transaction, TxOut, Txid};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// A transaction waiting to be mined.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub(crate) tx: Arc<Transaction>,
    pub(crate) fee: Amount,
    pub(crate) vsize: u64,
}

#[derive(Debug, Default, Clone)]
pub(crate) struct Mempool {
    pub(crate) order: Vec<Txid>,
    pub(crate) entries: HashMap<Txid, Entry>,
    pub(crate) spends: HashMap<OutPoint, Txid>,
}

impl Mempool {
    pub(crate) fn output(&self, op: &OutPoint) -> Option<TxOut> {
        self.entries
            .get(&op.txid)
            .and_then(|e| e.tx.output.get(op.vout as usize).cloned())
    }

    /// Check `tx` against policy and the chain; on success insert it and return the txids it
    /// replaced (RBF).
    pub(crate) fn accept(
        &mut self,
        tx: Transaction,
        index: &ChainIndex,
        profile: PolicyProfile,
    ) -> Result<(Txid, Vec<Txid>), String> {
        policy::check_standard(&tx, profile)?;
        let txid = tx.compute_txid();
        if self.entries.contains_key(&txid) {
            return Err("txn-already-in-mempool".into());
        }
        if index.txs.contains_key(&txid) {
            return Err("txn-already-known".into());
        }
        let next_height = index.tip_height() + 1;
        let mut spent = Vec::with_capacity(tx.input.len());
        let mut conflicts = HashSet::new();
        let mut seen = HashSet::new();
        for input in &tx.input {
            let op = input.previous_output;
            if !seen.insert(op) {
                return Err("bad-txns-inputs-duplicate".into());
            }
            if let Some(other) = self.spends.get(&op) {
                conflicts.insert(*other);
            }
            let out = if let Some(out) = self.output(&op) {
                out
            } else if let Some(coin) = index.utxos.get(&op) {
                if coin.coinbase && next_height - coin.height < 100 {
                    return Err("bad-txns-premature-spend-of-coinbase".into());
                }
                coin.out.clone()
            } else {
                return Err("bad-txns-inputs-missingorspent".into());
            };
            spent.push(out);
        }
        let value_in: Amount = spent.iter().map(|o| o.value).sum();
        let value_out: Amount = tx.output.iter().map(|o| o.value).sum();
        let fee = value_in
            .checked_sub(value_out)
            .ok_or("bad-txns-in-belowout")?;
        let vsize = tx.vsize() as u64;
        if fee < policy::min_relay_fee(vsize) {
            return Err("min relay fee not met".into());
        }
        let replaced = self.with_descendants(&conflicts);
        if replaced.len() > policy::MAX_REPLACEMENT_CANDIDATES {
            return Err("too many potential replacements".into());
        }
        if !replaced.is_empty() {
            let old_fee: Amount = replaced
                .iter()
                .filter_map(|t| self.entries.get(t))
                .map(|e| e.fee)
                .sum();
            let higher_rate = conflicts
                .iter()
                .filter_map(|t| self.entries.get(t))
                .all(|e| fee.to_sat() * e.vsize > e.fee.to_sat() * vsize);
            if !higher_rate || fee < old_fee + policy::min_relay_fee(vsize) {
                return Err("insufficient fee".into());
            }
            if tx
                .input
                .iter()
                .any(|i| replaced.contains(&i.previous_output.txid))
            {
                return Err("bad-txns-spends-conflicting-tx".into());
            }
        }
        self.check_package_limits(&tx, vsize, &replaced)?;
        verify_scripts(&tx, &spent)?;
        for t in &replaced {
            self.remove(t);
        }
        for input in &tx.input {
            self.spends.insert(input.previous_output, txid);
        }
        self.order.push(txid);
        self.entries.insert(
            txid,
            Entry {
                tx: Arc::new(tx),
                fee,
                vsize,
            },
        );
        Ok((txid, replaced.into_iter().collect()))
    }

    /// Mempool ancestors of `tx` (not counting `tx`).
    fn ancestors(&self, tx: &Transaction) -> HashSet<Txid> {
        let mut seen = HashSet::new();
        let mut stack: Vec<Txid> = tx
            .input
            .iter()
            .map(|i| i.previous_output.txid)
            .filter(|t| self.entries.contains_key(t))
            .collect();
        while let Some(t) = stack.pop() {
            if seen.insert(t) {
                if let Some(e) = self.entries.get(&t) {
                    stack.extend(
                        e.tx.input
                            .iter()
                            .map(|i| i.previous_output.txid)
                            .filter(|p| self.entries.contains_key(p)),
                    );
                }
            }
        }
        seen
    }

    /// Core's ancestor/descendant limits: at most 25 transactions and 101 kvB in a package,
    /// counted with `tx` itself, ignoring what `tx` replaces.
    fn check_package_limits(
        &self,
        tx: &Transaction,
        vsize: u64,
        replaced: &HashSet<Txid>,
    ) -> Result<(), String> {
        let ancestors: HashSet<Txid> = self
            .ancestors(tx)
            .into_iter()
            .filter(|t| !replaced.contains(t))
            .collect();
        let size = |set: &HashSet<Txid>| -> u64 {
            set.iter()
                .filter_map(|t| self.entries.get(t))
                .map(|e| e.vsize)
                .sum()
        };
        if ancestors.len() + 1 > policy::MAX_ANCESTORS {
            return Err(format!(
                "too-long-mempool-chain, too many unconfirmed ancestors [limit: {}]",
                policy::MAX_ANCESTORS
            ));
        }
        if size(&ancestors) + vsize > policy::MAX_PACKAGE_VSIZE {
            return Err(format!(
                "too-long-mempool-chain, exceeds ancestor size limit [limit: {}]",
                policy::MAX_PACKAGE_VSIZE
            ));
        }
        for a in &ancestors {
            let desc: HashSet<Txid> = self
                .with_descendants(&HashSet::from([*a]))
                .into_iter()
                .filter(|t| !replaced.contains(t))
                .collect();
            if desc.len() + 1 > policy::MAX_DESCENDANTS {
                return Err(format!(
                    "too-long-mempool-chain, too many descendants for tx {a} [limit: {}]",
                    policy::MAX_DESCENDANTS
                ));
            }
            if size(&desc) + vsize > policy::MAX_PACKAGE_VSIZE {
                return Err(format!(
                    "too-long-mempool-chain, exceeds descendant size limit for tx {a} [limit: {}]",
                    policy::MAX_PACKAGE_VSIZE
                ));
            }
        }
        Ok(())
    }

    fn with_descendants(&self, roots: &HashSet<Txid>) -> HashSet<Txid> {
        let mut all = HashSet::new();
        let mut stack: Vec<Txid> = roots.iter().copied().collect();
        while let Some(t) = stack.pop() {
            if all.insert(t) {
                for (op, child) in &self.spends {
                    if op.txid == t {
                        stack.push(*child);
                    }
                }
            }
        }
        all
    }

    pub(crate) fn remove(&mut self, txid: &Txid) -> Option<Entry> {
        let e = self.entries.remove(txid)?;
        self.order.retain(|t| t != txid);
        for input in &e.tx.input {
            if self.spends.get(&input.previous_output) == Some(txid) {
                self.spends.remove(&input.previous_output);
            }
        }
        Some(e)
    }

    /// Drop what a block confirmed and what it conflicts with; returns the removed txids.
    pub(crate) fn remove_for_block(&mut self, block: &bitcoin::Block) -> Vec<Txid> {
        let mut gone = Vec::new();
        for tx in &block.txdata {
            let txid = tx.compute_txid();
            if self.remove(&txid).is_some() {
                gone.push(txid);
            }
            for input in &tx.input {
                if let Some(other) = self.spends.get(&input.previous_output).copied() {
                    let roots = HashSet::from([other]);
                    for t in self.with_descendants(&roots) {
                        if self.remove(&t).is_some() {
                            gone.push(t);
                        }
                    }
                }
            }
        }
        gone
    }

    /// Transactions for the next block, within the weight limit: packages (a transaction with its
    /// not-yet-taken mempool ancestors) by ancestor feerate, highest first, parents before children.
    pub(crate) fn template(&self, max_weight: u64) -> (Vec<Transaction>, Amount) {
        let mut weight = 4_000; // room for the coinbase
        let mut fees = Amount::ZERO;
        let mut txs = Vec::new();
        let mut taken = HashSet::new();
        // (ancestor fee, ancestor vsize, txid), sorted by ancestor feerate, then arrival.
        let mut ranked: Vec<(u64, u64, usize, Txid)> = self
            .order
            .iter()
            .enumerate()
            .filter_map(|(pos, t)| {
                let e = self.entries.get(t)?;
                let anc = self.ancestors(&e.tx);
                let (f, v) = anc
                    .iter()
                    .filter_map(|a| self.entries.get(a))
                    .fold((e.fee.to_sat(), e.vsize), |(f, v), a| {
                        (f + a.fee.to_sat(), v + a.vsize)
                    });
                Some((f, v, pos, *t))
            })
            .collect();
        ranked.sort_by(|a, b| {
            // a.f / a.v > b.f / b.v  <=>  a.f * b.v > b.f * a.v
            (u128::from(b.0) * u128::from(a.1))
                .cmp(&(u128::from(a.0) * u128::from(b.1)))
                .then(a.2.cmp(&b.2))
        });
        let position: HashMap<Txid, usize> = self
            .order
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, i))
            .collect();
        for (_, _, _, txid) in ranked {
            if taken.contains(&txid) {
                continue;
            }
            let Some(e) = self.entries.get(&txid) else {
                continue;
            };
            let mut package: Vec<Txid> = self
                .ancestors(&e.tx)
                .into_iter()
                .filter(|a| !taken.contains(a))
                .collect();
            package.push(txid);
            // Arrival order is a topological order: a child cannot enter before its parent.
            package.sort_by_key(|t| position.get(t).copied().unwrap_or(usize::MAX));
            let w: u64 = package
                .iter()
                .filter_map(|t| self.entries.get(t))
                .map(|e| e.tx.weight().to_wu())
                .sum();
            if weight + w > max_weight {
                continue;
            }
            weight += w;
            for t in package {
                if let Some(e) = self.entries.get(&t) {
                    fees += e.fee;
                    txs.push((*e.tx).clone());
                    taken.insert(t);
                }
            }
        }
        (txs, fees)
    }
}

/// Every input's script, checked by Bitcoin Core's script interpreter with all spent outputs.
fn verify_scripts(tx: &Transaction, spent: &[TxOut]) -> Result<(), String> {
    use bitcoinkernel::{
        verify, PrecomputedTransactionData, ScriptPubkey, Transaction as KTx, TxOut as KOut,
        VERIFY_ALL,
    };
    let raw = bitcoin::consensus::serialize(tx);
    let ktx = KTx::new(&raw).map_err(|e| format!("tx-decode ({e})"))?;
    let mut outs = Vec::with_capacity(spent.len());
    for o in spent {
        let spk = ScriptPubkey::new(o.script_pubkey.as_bytes())
            .map_err(|e| format!("bad-txns-prevout ({e})"))?;
        outs.push(KOut::new(&spk, o.value.to_sat() as i64));
    }
    let data = PrecomputedTransactionData::new(&ktx, &outs)
        .map_err(|e| format!("bad-txns-prevout ({e})"))?;
    for (i, o) in spent.iter().enumerate() {
        let spk = ScriptPubkey::new(o.script_pubkey.as_bytes())
            .map_err(|e| format!("bad-txns-prevout ({e})"))?;
        verify(
            &spk,
            Some(o.value.to_sat() as i64),
            &ktx,
            i,
            Some(VERIFY_ALL),
            &data,
        )
        .map_err(|e| format!("mandatory-script-verify-flag-failed ({e})"))?;
    }
    Ok(())
}
