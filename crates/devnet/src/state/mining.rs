//! Writing to the chain: the mempool, mining (on demand, from other miners, test blocks) and the
//! faucet.

use super::{notify, now, persist, Devnet, State};
use crate::miner::{self, MAX_BLOCK_WEIGHT};
use crate::DevnetError;
use bitcoin::consensus::serialize;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, BlockHash, OutPoint, ScriptBuf, Sequence, Transaction, TxIn, TxOut,
    Txid, Witness,
};
use chain::{BlockRef, ChainEvent};

impl Devnet {
    /// Offer a transaction to the mempool. Refusals carry Bitcoin Core's reason string.
    pub fn submit_tx(&self, tx: Transaction) -> Result<Txid, DevnetError> {
        let raw = serialize(&tx);
        let mut s = self.state();
        let st = &mut *s;
        let (txid, replaced) = st
            .mempool
            .accept(tx, &st.index, self.inner.config.policy)
            .map_err(DevnetError::Rejected)?;
        persist::log_tx(st, &raw)?;
        let mut events: Vec<ChainEvent> = replaced
            .into_iter()
            .map(ChainEvent::MempoolRemoved)
            .collect();
        events.push(ChainEvent::MempoolAdded(txid));
        notify(st, events);
        Ok(txid)
    }

    /// Would the mempool take these transactions, in order (each may spend the ones before)?
    /// Nothing changes: the check runs on a copy of the mempool (`testmempoolaccept`). One
    /// answer per transaction, `Err` with Core's reason string.
    pub fn test_accept(&self, txs: &[Transaction]) -> Vec<Result<Txid, String>> {
        let s = self.state();
        let mut pool = s.mempool.clone();
        txs.iter()
            .map(|tx| {
                pool.accept(tx.clone(), &s.index, self.inner.config.policy)
                    .map(|(txid, _)| txid)
            })
            .collect()
    }

    /// A block mined elsewhere (`submitblock`): it must extend the tip; the kernel decides the
    /// rest. `Ok(false)` for a block already on the active chain.
    pub fn submit_block(&self, block: &bitcoin::Block) -> Result<bool, DevnetError> {
        let mut s = self.state();
        let hash = block.block_hash();
        if s.index.heights.contains_key(&hash) {
            return Ok(false);
        }
        let tip = s.tip_hash();
        if block.header.prev_blockhash != tip {
            return Err(DevnetError::BlockRejected(
                "inconclusive: the devnet takes only blocks that extend its tip".into(),
            ));
        }
        self.accept_block(block, true)?;
        s.last_time = s.last_time.max(block.header.time);
        self.connect(&mut s, block);
        self.compact_log(&mut s)?;
        Ok(true)
    }

    /// Mine `n` blocks paying `to`, each filled from the mempool. Returns their hashes.
    pub fn mine(&self, n: u32, to: &ScriptBuf) -> Result<Vec<BlockHash>, DevnetError> {
        let mut hashes = Vec::with_capacity(n as usize);
        let mut s = self.state();
        for _ in 0..n {
            let (txs, fees) = s.mempool.template(MAX_BLOCK_WEIGHT);
            let prev = s.tip_hash();
            let block = self.next_block(&mut s, prev, txs, fees, to);
            self.accept_block(&block, true)?;
            hashes.push(self.connect(&mut s, &block));
        }
        self.compact_log(&mut s)?;
        Ok(hashes)
    }

    pub(super) fn next_block(
        &self,
        s: &mut State,
        prev: BlockHash,
        txs: Vec<Transaction>,
        fees: Amount,
        to: &ScriptBuf,
    ) -> bitcoin::Block {
        let height = s.index.heights.get(&prev).copied().map_or(0, |p| p + 1);
        let time = now()
            .max(s.last_time + 1)
            .max(s.index.median_time_past() + 1);
        s.last_time = time;
        s.extra_nonce += 1;
        miner::build_block(prev, height, time, txs, fees, to, s.extra_nonce)
    }

    pub(super) fn connect(&self, s: &mut State, block: &bitcoin::Block) -> BlockHash {
        s.index.connect(block);
        let removed = s.mempool.remove_for_block(block);
        let hash = block.block_hash();
        let mut events: Vec<ChainEvent> = removed
            .into_iter()
            .map(ChainEvent::MempoolRemoved)
            .collect();
        events.push(ChainEvent::Tip(BlockRef {
            height: s.index.tip_height(),
            hash,
        }));
        notify(s, events);
        hash
    }

    /// Build a block on the tip holding exactly `txs` (bypassing the mempool) and hand it to the
    /// kernel. For tests of consensus: the kernel must refuse invalid blocks.
    pub fn submit_block_with(&self, txs: Vec<Transaction>) -> Result<BlockHash, DevnetError> {
        let mut s = self.state();
        let prev = s.tip_hash();
        let script = self.inner.faucet.script.clone();
        let block = self.next_block(&mut s, prev, txs, Amount::ZERO, &script);
        self.accept_block(&block, true)?;
        Ok(self.connect(&mut s, &block))
    }

    /// Pay `amount` to `to` from the devnet's own coins, mining mature coinbases first if needed.
    pub fn faucet(&self, to: &ScriptBuf, amount: Amount) -> Result<Txid, DevnetError> {
        let fee = Amount::from_sat(1_000);
        let key = &self.inner.faucet;
        for _ in 0..3 {
            let coins = self.mature_faucet_coins();
            let have: Amount = coins.iter().map(|(_, o)| o.value).sum();
            if have >= amount + fee {
                let mut picked = Vec::new();
                let mut sum = Amount::ZERO;
                for c in coins {
                    sum += c.1.value;
                    picked.push(c);
                    if sum >= amount + fee {
                        break;
                    }
                }
                let mut output = vec![TxOut {
                    value: amount,
                    script_pubkey: to.clone(),
                }];
                let change = sum - amount - fee;
                if change > Amount::from_sat(1_000) {
                    output.push(TxOut {
                        value: change,
                        script_pubkey: key.script.clone(),
                    });
                }
                let mut tx = Transaction {
                    version: Version::TWO,
                    lock_time: LockTime::ZERO,
                    input: picked
                        .iter()
                        .map(|(op, _)| TxIn {
                            previous_output: *op,
                            script_sig: ScriptBuf::new(),
                            sequence: Sequence::ENABLE_RBF_NO_LOCKTIME,
                            witness: Witness::new(),
                        })
                        .collect(),
                    output,
                };
                let prevouts: Vec<TxOut> = picked.into_iter().map(|(_, o)| o).collect();
                key.sign(&mut tx, &prevouts);
                return self.submit_tx(tx);
            }
            let height = self.tip().height;
            self.mine(
                if height < 100 {
                    101
                } else {
                    1 + (amount.to_sat() / miner::subsidy(height + 1).to_sat().max(1)) as u32
                },
                &key.script,
            )?;
        }
        let have: Amount = self
            .mature_faucet_coins()
            .iter()
            .map(|(_, o)| o.value)
            .sum();
        Err(DevnetError::FaucetEmpty {
            have: have.to_sat(),
            need: (amount + fee).to_sat(),
        })
    }

    fn mature_faucet_coins(&self) -> Vec<(OutPoint, TxOut)> {
        let s = self.state();
        let next = s.index.tip_height() + 1;
        let mut coins: Vec<(OutPoint, TxOut)> = s
            .index
            .utxos
            .iter()
            .filter(|(op, c)| {
                c.out.script_pubkey == self.inner.faucet.script
                    && (!c.coinbase || next - c.height >= 100)
                    && !s.mempool.spends.contains_key(op)
            })
            .map(|(op, c)| (*op, c.out.clone()))
            .collect();
        coins.sort_by_key(|(op, o)| (std::cmp::Reverse(o.value), *op));
        coins
    }

    /// The script the devnet's miner and faucet use.
    pub fn faucet_script(&self) -> ScriptBuf {
        self.inner.faucet.script.clone()
    }
}
