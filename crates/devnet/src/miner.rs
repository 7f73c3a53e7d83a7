//! Building regtest blocks: coinbase with the BIP34 height, witness commitment, merkle root and
//! proof of work against regtest's target.

use bitcoin::block::{Header, Version as BlockVersion};
use bitcoin::blockdata::opcodes::OP_0;
use bitcoin::hashes::Hash;
use bitcoin::script::Builder;
use bitcoin::transaction::Version;
use bitcoin::{
    absolute::LockTime, Amount, Block, BlockHash, CompactTarget, OutPoint, ScriptBuf, Sequence,
    Transaction, TxIn, TxMerkleNode, TxOut, Witness,
};

/// Regtest's proof-of-work limit, never retargeted.
pub(crate) const REGTEST_BITS: u32 = 0x207f_ffff;
/// Regtest halves the subsidy every 150 blocks.
const HALVING_INTERVAL: u32 = 150;
/// Consensus weight limit of a block.
pub(crate) const MAX_BLOCK_WEIGHT: u64 = 4_000_000;

/// The block subsidy at `height`.
pub(crate) fn subsidy(height: u32) -> Amount {
    let halvings = height / HALVING_INTERVAL;
    if halvings >= 64 {
        return Amount::ZERO;
    }
    Amount::from_sat((50 * 100_000_000) >> halvings)
}

/// A block on `prev` at `height` paying subsidy and `fees` to `to`, holding `txs`.
/// `extra` makes the coinbase unique (two branches at the same height differ).
pub(crate) fn build_block(
    prev: BlockHash,
    height: u32,
    time: u32,
    txs: Vec<Transaction>,
    fees: Amount,
    to: &ScriptBuf,
    extra: u64,
) -> Block {
    let script_sig = Builder::new()
        .push_int(i64::from(height))
        .push_slice(extra.to_le_bytes())
        .push_opcode(OP_0)
        .into_script();
    let mut coinbase_witness = Witness::new();
    coinbase_witness.push([0u8; 32]);
    let coinbase = Transaction {
        version: Version::TWO,
        lock_time: LockTime::ZERO,
        input: vec![TxIn {
            previous_output: OutPoint::null(),
            script_sig,
            sequence: Sequence::MAX,
            witness: coinbase_witness,
        }],
        output: vec![TxOut {
            value: subsidy(height) + fees,
            script_pubkey: to.clone(),
        }],
    };
    let mut txdata = Vec::with_capacity(txs.len() + 1);
    txdata.push(coinbase);
    txdata.extend(txs);
    let header = Header {
        version: BlockVersion::from_consensus(0x2000_0000),
        prev_blockhash: prev,
        merkle_root: TxMerkleNode::all_zeros(),
        time,
        bits: CompactTarget::from_consensus(REGTEST_BITS),
        nonce: 0,
    };
    let mut block = Block { header, txdata };
    // BIP141 commitment: always present, as Bitcoin Core's miner does.
    if let Some(witness_root) = block.witness_root() {
        let commitment = Block::compute_witness_commitment(&witness_root, &[0u8; 32]);
        let mut script = vec![0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed];
        script.extend_from_slice(commitment.as_byte_array());
        block.txdata[0].output.push(TxOut {
            value: Amount::ZERO,
            script_pubkey: ScriptBuf::from_bytes(script),
        });
    }
    if let Some(root) = block.compute_merkle_root() {
        block.header.merkle_root = root;
    }
    grind(&mut block.header);
    block
}

/// Find a nonce under the target (about two tries on regtest).
fn grind(header: &mut Header) {
    let target = header.target();
    while header.validate_pow(target).is_err() {
        header.nonce = header.nonce.wrapping_add(1);
        if header.nonce == 0 {
            header.time += 1;
        }
    }
}
