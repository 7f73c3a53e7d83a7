//! The three carriers: where records sit in a transaction, how to build them and how to find them.
//!
//! - `op-return-80`: one OP_RETURN output with at most 80 data bytes (nodes before Bitcoin Core 30,
//!   Knots). Script: `OP_RETURN <push of the unit>`.
//! - `op-return`: OP_RETURN outputs holding up to 100,000 bytes in all per transaction (Core 30+).
//!   One unit per output; an output may split its unit over several pushes.
//! - `envelope`: a Taproot script-path spend whose tapscript holds
//!   `<key> OP_CHECKSIG OP_FALSE OP_IF <push>... OP_ENDIF`, pushes of at most 520 bytes; the unit is
//!   the concatenation of the pushes. Witness bytes weigh a quarter of output bytes.

use crate::{DecodeError, Record, MAGIC};
use bitcoin::opcodes::all::{
    OP_CHECKSIG, OP_ENDIF, OP_IF, OP_PUSHNUM_1, OP_PUSHNUM_16, OP_PUSHNUM_NEG1, OP_RETURN,
};
use bitcoin::opcodes::OP_FALSE;
use bitcoin::script::{Builder, Instruction, PushBytesBuf};
use bitcoin::secp256k1::XOnlyPublicKey;
use bitcoin::taproot::{LeafVersion, TAPROOT_CONTROL_BASE_SIZE, TAPROOT_CONTROL_NODE_SIZE};
use bitcoin::{Script, ScriptBuf, Transaction, Witness};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest push in a tapscript (consensus: MAX_SCRIPT_ELEMENT_SIZE).
pub const MAX_PUSH: usize = 520;

/// A way of carrying records in transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Carrier {
    /// One OP_RETURN output of at most 80 data bytes per transaction.
    OpReturn80,
    /// OP_RETURN outputs, up to 100,000 data bytes per transaction (Bitcoin Core 30+).
    OpReturn,
    /// Taproot witness envelope (commit/reveal).
    Envelope,
}

impl Carrier {
    /// Every carrier, cheapest per payload byte last.
    pub const ALL: [Carrier; 3] = [Carrier::OpReturn80, Carrier::OpReturn, Carrier::Envelope];

    /// The largest unit (record bytes, including its magic) one carrier output or envelope holds,
    /// leaving room in a standard transaction (400,000 WU) for one input and one change output.
    /// See docs/cvp.md, "Carriers", for the arithmetic.
    pub const fn max_unit(self) -> usize {
        match self {
            Carrier::OpReturn80 => 80,
            Carrier::OpReturn => 99_800,
            Carrier::Envelope => 396_000,
        }
    }

    /// The name used on the command line and in JSON.
    pub const fn name(self) -> &'static str {
        match self {
            Carrier::OpReturn80 => "op-return-80",
            Carrier::OpReturn => "op-return",
            Carrier::Envelope => "envelope",
        }
    }
}

impl fmt::Display for Carrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Carrier {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Carrier::ALL
            .into_iter()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                format!("unknown carrier '{s}': expected op-return-80, op-return or envelope")
            })
    }
}

/// Where in a transaction a record was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// In the OP_RETURN output with this index.
    Output(u32),
    /// In the witness envelope of the input with this index.
    Input(u32),
}

/// A record found in a transaction, or the flaw that kept it from decoding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Where it sits.
    pub location: Location,
    /// The unit's length in bytes.
    pub unit_len: usize,
    /// The record, or why the unit is not a valid record.
    pub record: Result<Record, DecodeError>,
}

/// `OP_RETURN <unit>`: one minimal push of the whole unit.
pub fn op_return_script(unit: &[u8]) -> ScriptBuf {
    let mut push = PushBytesBuf::new();
    // A unit is far below the 4 GiB a push can hold; extend_from_slice fails only past that.
    if push.extend_from_slice(unit).is_err() {
        return ScriptBuf::new_op_return([]);
    }
    Builder::new()
        .push_opcode(OP_RETURN)
        .push_slice(push)
        .into_script()
}

/// The envelope tapscript: `<key> OP_CHECKSIG OP_FALSE OP_IF <pushes> OP_ENDIF`. Only `key` can
/// spend it, so the reveal is the publisher's own.
pub fn envelope_script(key: &XOnlyPublicKey, unit: &[u8]) -> ScriptBuf {
    let mut b = Builder::new()
        .push_x_only_key(key)
        .push_opcode(OP_CHECKSIG)
        .push_opcode(OP_FALSE)
        .push_opcode(OP_IF);
    for chunk in envelope_chunks(unit) {
        let mut push = PushBytesBuf::new();
        if push.extend_from_slice(chunk).is_ok() {
            b = b.push_slice(push);
        }
    }
    b.push_opcode(OP_ENDIF).into_script()
}

/// Split into pushes of at most 520 bytes, never leaving a last push of one byte (a one-byte push
/// of 1..=16 would have to be OP_1..OP_16 under the minimal-push policy).
fn envelope_chunks(unit: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::with_capacity(unit.len() / MAX_PUSH + 1);
    let mut rest = unit;
    while !rest.is_empty() {
        let take = if rest.len() > MAX_PUSH && rest.len() - MAX_PUSH == 1 {
            MAX_PUSH - 1
        } else {
            rest.len().min(MAX_PUSH)
        };
        let (head, tail) = rest.split_at(take);
        out.push(head);
        rest = tail;
    }
    out
}

/// The bytes pushed by a data-push instruction (OP_0, direct pushes, OP_1NEGATE, OP_1..OP_16).
fn push_data(ins: &Instruction<'_>) -> Option<Vec<u8>> {
    match ins {
        Instruction::PushBytes(b) => Some(b.as_bytes().to_vec()),
        Instruction::Op(op) => {
            let code = op.to_u8();
            if (OP_PUSHNUM_1.to_u8()..=OP_PUSHNUM_16.to_u8()).contains(&code) {
                Some(vec![code - OP_PUSHNUM_1.to_u8() + 1])
            } else if *op == OP_PUSHNUM_NEG1 {
                Some(vec![0x81])
            } else {
                None
            }
        }
    }
}

/// The unit in an OP_RETURN output, if it is push-only and starts with the CVP magic.
pub fn op_return_unit(script: &Script) -> Option<Vec<u8>> {
    let bytes = script.as_bytes();
    if bytes.first() != Some(&OP_RETURN.to_u8()) {
        return None;
    }
    let mut unit = Vec::with_capacity(bytes.len());
    for ins in Script::from_bytes(&bytes[1..]).instructions() {
        unit.extend(push_data(&ins.ok()?)?);
    }
    unit.starts_with(&MAGIC).then_some(unit)
}

/// The tapscript of a Taproot script-path spend, if the witness is one: rust-bitcoin's BIP341
/// reading (an annex, the last element when it starts with 0x50, set aside; then the control
/// block and the script before it), kept only for leaf version 0xc0 (tapscript) and a control
/// block of 33 + 32m bytes.
pub fn tapscript(witness: &Witness) -> Option<&Script> {
    let leaf = witness.taproot_leaf_script()?;
    let control = witness.taproot_control_block()?;
    let path = control.len().checked_sub(TAPROOT_CONTROL_BASE_SIZE)?;
    (leaf.version == LeafVersion::TapScript && path % TAPROOT_CONTROL_NODE_SIZE == 0)
        .then_some(leaf.script)
}

/// Every CVP unit in a tapscript's envelopes (`OP_FALSE OP_IF <pushes> OP_ENDIF`). An envelope
/// broken by a non-push opcode or a script that does not parse yields `Err` with its length so far.
pub fn envelope_units(script: &Script) -> Vec<Result<Vec<u8>, usize>> {
    let mut out = Vec::new();
    let mut prev_was_false = false;
    let mut iter = script.instructions();
    while let Some(ins) = iter.next() {
        let Ok(ins) = ins else { break };
        let is_if = matches!(ins, Instruction::Op(op) if op == OP_IF);
        if prev_was_false && is_if {
            let mut unit = Vec::new();
            let mut ok = false;
            for inner in iter.by_ref() {
                match inner {
                    Ok(Instruction::Op(op)) if op == OP_ENDIF => {
                        ok = true;
                        break;
                    }
                    Ok(i) => match push_data(&i) {
                        Some(d) => unit.extend(d),
                        None => break,
                    },
                    Err(_) => break,
                }
            }
            if unit.starts_with(&MAGIC) {
                out.push(if ok { Ok(unit) } else { Err(unit.len()) });
            }
            prev_was_false = false;
            continue;
        }
        prev_was_false = matches!(ins, Instruction::PushBytes(b) if b.is_empty());
    }
    out
}

/// Every CVP record in a transaction, in output order then input order.
pub fn records_in_tx(tx: &Transaction) -> Vec<Found> {
    let mut found = Vec::new();
    for (vout, out) in tx.output.iter().enumerate() {
        if let Some(unit) = op_return_unit(&out.script_pubkey) {
            found.push(Found {
                location: Location::Output(vout as u32),
                unit_len: unit.len(),
                record: Record::decode(&unit),
            });
        }
    }
    for (vin, input) in tx.input.iter().enumerate() {
        let Some(script) = tapscript(&input.witness) else {
            continue;
        };
        for unit in envelope_units(script) {
            let location = Location::Input(vin as u32);
            found.push(match unit {
                Ok(u) => Found {
                    location,
                    unit_len: u.len(),
                    record: Record::decode(&u),
                },
                Err(len) => Found {
                    location,
                    unit_len: len,
                    record: Err(DecodeError::Truncated("envelope")),
                },
            });
        }
    }
    found
}
