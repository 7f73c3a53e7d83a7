//! Bitcoin Core's relay policy for the transactions BitFlix makes, with Core's reason strings.

use bitcoin::{Amount, Script, Transaction, TxOut};

/// Which OP_RETURN rule to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PolicyProfile {
    /// Bitcoin Core 30+: OP_RETURN outputs totalling up to 100,000 script bytes, any number.
    #[default]
    Core30,
    /// Nodes before Core 30 and Knots: one OP_RETURN output of at most 83 script bytes.
    Legacy80,
}

impl std::str::FromStr for PolicyProfile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "core30" => Ok(Self::Core30),
            "legacy80" => Ok(Self::Legacy80),
            other => Err(format!(
                "unknown policy '{other}': expected core30 or legacy80"
            )),
        }
    }
}

/// Largest standard transaction weight.
pub const MAX_STANDARD_TX_WEIGHT: u64 = 400_000;
/// Minimum relay fee: 0.1 sat/vB, as sat per 1,000 vB.
pub const MIN_RELAY_SAT_PER_KVB: u64 = 100;
/// Dust is computed at 3 sat/vB (Core's `-dustrelayfee`).
const DUST_RELAY_SAT_PER_KVB: u64 = 3_000;
/// Ancestor count limit, the transaction included (Core's `-limitancestorcount`).
pub const MAX_ANCESTORS: usize = 25;
/// Descendant count limit, the transaction included (Core's `-limitdescendantcount`).
pub const MAX_DESCENDANTS: usize = 25;
/// At most this many transactions may be evicted by one replacement (BIP125 rule 5).
pub const MAX_REPLACEMENT_CANDIDATES: usize = 100;
/// Ancestor and descendant package size limit in vbytes (101 kvB).
pub const MAX_PACKAGE_VSIZE: u64 = 101_000;

/// The fee a transaction of `vsize` must pay at least.
pub fn min_relay_fee(vsize: u64) -> Amount {
    Amount::from_sat((vsize * MIN_RELAY_SAT_PER_KVB).div_ceil(1000))
}

/// The smallest value an output may carry (Core's `GetDustThreshold`).
pub fn dust_threshold(out: &TxOut) -> Amount {
    if out.script_pubkey.is_op_return() {
        return Amount::ZERO;
    }
    let size = bitcoin::consensus::serialize(out).len() as u64;
    let spend = if out.script_pubkey.is_witness_program() {
        32 + 4 + 1 + (107 / 4) + 4
    } else {
        32 + 4 + 1 + 107 + 4
    };
    Amount::from_sat((size + spend) * DUST_RELAY_SAT_PER_KVB / 1000)
}

fn standard_output(script: &Script) -> bool {
    script.is_p2tr()
        || script.is_p2wpkh()
        || script.is_p2wsh()
        || script.is_p2pkh()
        || script.is_p2sh()
        || script.is_op_return()
}

/// Checks that need only the transaction itself (Core's `IsStandardTx`).
pub fn check_standard(tx: &Transaction, profile: PolicyProfile) -> Result<(), String> {
    if tx.is_coinbase() {
        return Err("coinbase".into());
    }
    if !(1..=3).contains(&tx.version.0) {
        return Err("version".into());
    }
    if tx.weight().to_wu() > MAX_STANDARD_TX_WEIGHT {
        return Err("tx-size".into());
    }
    if tx.base_size() < 65 {
        return Err("tx-size-small".into());
    }
    for input in &tx.input {
        if input.script_sig.len() > 1650 {
            return Err("scriptsig-size".into());
        }
        if !input.script_sig.is_push_only() {
            return Err("scriptsig-not-pushonly".into());
        }
    }
    let mut data_outputs = 0usize;
    let mut data_bytes = 0usize;
    for out in &tx.output {
        if !standard_output(&out.script_pubkey) {
            return Err("scriptpubkey".into());
        }
        if out.script_pubkey.is_op_return() {
            data_outputs += 1;
            data_bytes += out.script_pubkey.len();
        } else if out.value < dust_threshold(out) {
            return Err("dust".into());
        }
    }
    let data_ok = match profile {
        PolicyProfile::Legacy80 => data_outputs <= 1 && data_bytes <= 83,
        PolicyProfile::Core30 => data_bytes <= 100_000,
    };
    if !data_ok {
        return Err(if data_outputs > 1 && profile == PolicyProfile::Legacy80 {
            "multi-op-return"
        } else {
            "datacarrier"
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]
    use super::*;
    use bitcoin::hashes::Hash;
    use bitcoin::transaction::Version;
    use bitcoin::{absolute::LockTime, OutPoint, ScriptBuf, Sequence, TxIn, Witness};

    fn out(script: ScriptBuf, sats: u64) -> TxOut {
        TxOut {
            value: Amount::from_sat(sats),
            script_pubkey: script,
        }
    }

    fn p2tr() -> ScriptBuf {
        ScriptBuf::new_p2tr_tweaked(bitcoin::key::TweakedPublicKey::dangerous_assume_tweaked(
            bitcoin::XOnlyPublicKey::from_slice(&[2u8; 32]).unwrap(),
        ))
    }

    fn data(len: usize) -> ScriptBuf {
        let push = bitcoin::script::PushBytesBuf::try_from(vec![7u8; len]).unwrap();
        bitcoin::script::Builder::new()
            .push_opcode(bitcoin::opcodes::all::OP_RETURN)
            .push_slice(push)
            .into_script()
    }

    fn tx(output: Vec<TxOut>) -> Transaction {
        Transaction {
            version: Version::TWO,
            lock_time: LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint::new(bitcoin::Txid::all_zeros(), 1),
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(&[[1u8; 64]]),
            }],
            output,
        }
    }

    #[test]
    fn dust_thresholds_match_core_at_3_sat_per_vbyte() {
        assert_eq!(dust_threshold(&out(p2tr(), 0)), Amount::from_sat(330));
        let wpkh = ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::all_zeros());
        assert_eq!(dust_threshold(&out(wpkh, 0)), Amount::from_sat(294));
        let pkh = ScriptBuf::new_p2pkh(&bitcoin::PubkeyHash::all_zeros());
        assert_eq!(dust_threshold(&out(pkh, 0)), Amount::from_sat(546));
        assert_eq!(dust_threshold(&out(data(10), 0)), Amount::ZERO);
        let p = PolicyProfile::Core30;
        assert_eq!(
            check_standard(&tx(vec![out(p2tr(), 329)]), p).unwrap_err(),
            "dust"
        );
        check_standard(&tx(vec![out(p2tr(), 330)]), p).unwrap();
    }

    #[test]
    fn op_return_limits_per_profile() {
        let legacy = PolicyProfile::Legacy80;
        // 80 data bytes make an 83-byte script (OP_RETURN OP_PUSHDATA1 80 ...): the limit.
        check_standard(&tx(vec![out(p2tr(), 1000), out(data(80), 0)]), legacy).unwrap();
        let e = check_standard(&tx(vec![out(p2tr(), 1000), out(data(81), 0)]), legacy);
        assert_eq!(e.unwrap_err(), "datacarrier");
        let two = tx(vec![out(data(10), 0), out(data(10), 0)]);
        assert_eq!(check_standard(&two, legacy).unwrap_err(), "multi-op-return");
        // Core 30: several outputs, tens of kilobytes.
        let core = PolicyProfile::Core30;
        check_standard(&two, core).unwrap();
        let big = tx(vec![
            out(data(30_000), 0),
            out(data(30_000), 0),
            out(p2tr(), 1000),
        ]);
        check_standard(&big, core).unwrap();
        assert_eq!(check_standard(&big, legacy).unwrap_err(), "multi-op-return");
        let over = tx(vec![out(data(100_001), 0)]);
        assert_eq!(check_standard(&over, core).unwrap_err(), "tx-size");
    }

    #[test]
    fn min_relay_fee_is_a_tenth_of_a_sat_per_vbyte_rounded_up() {
        assert_eq!(min_relay_fee(1000), Amount::from_sat(100));
        assert_eq!(min_relay_fee(141), Amount::from_sat(15));
    }
}
