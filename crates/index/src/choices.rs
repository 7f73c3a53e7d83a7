//! Viewers' choices (docs/cvp.md, "Interactive films"): `choice` records are the viewers' own,
//! bound to no lineage, so the catalog takes them from every transaction it sees, before the
//! lineage (a transaction of choices only is never offered to it, so it never waits there as a
//! stray). Each choice is kept with what attributes it: its explicit BIP340 signature, checked
//! once when seen, or, unsigned, the coin its transaction's first input spends (the output key of
//! that Taproot coin signs it; the scanner looks the coin up as it looks up headers' coins).
//!
//! The counting follows from the transactions alone, so the catalog rebuilt from the stored
//! blocks (on restart, after a reorg) counts the same: per content, branch and key only the first
//! confirmed choice counts (the lowest height, then the place in the block, then the unit), the
//! mempool's are pending. Choices for a content the index does not hold are kept for when it
//! comes, within bounds per content and in total; beyond them the newest are dropped.

use crate::catalog::Catalog;
use crate::story::Story;
use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, Transaction, Txid};
use cvp::{Choice, Record, TxRecords};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Choices kept, in total, for contents the index does not hold.
pub const DEFAULT_MAX_WAITING_CHOICES: usize = 100_000;
/// Choices kept for one content the index does not hold.
pub const DEFAULT_MAX_WAITING_PER_CONTENT: usize = 10_000;
/// First-input coins of unsigned choices looked up per refresh (the rest on the next ones).
pub(crate) const MAX_LOOKUPS: usize = 1_000;

/// What attributes a choice, as far as its own transaction tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Signer {
    /// Its explicit signature verifies under this x-only key.
    Key([u8; 32]),
    /// Its explicit signature does not verify.
    BadSignature,
    /// Unsigned: the owner of the coin the transaction's first input spends.
    FirstInput(OutPoint),
    /// Unsigned, in a transaction with no input to sign (a coinbase).
    NoInput,
}

/// One choice as seen.
#[derive(Debug, Clone)]
pub(crate) struct ChoiceRec {
    txid: Txid,
    unit: u16,
    height: Option<u32>,
    /// The order the catalog saw its transaction in: block order within a block.
    seq: u64,
    branch_id: u32,
    option: u32,
    signer: Signer,
}

/// Every choice kept, by the content it names.
#[derive(Debug, Clone)]
pub(crate) struct Choices {
    by_content: HashMap<Txid, Vec<ChoiceRec>>,
    /// Choices kept for contents not held, per content.
    waiting: HashMap<Txid, usize>,
    waiting_total: usize,
    dropped: u64,
    next_seq: u64,
    max_per_content: usize,
    max_total: usize,
}

impl Default for Choices {
    fn default() -> Self {
        Choices::with_limits(DEFAULT_MAX_WAITING_PER_CONTENT, DEFAULT_MAX_WAITING_CHOICES)
    }
}

impl Choices {
    /// Keep at most `per_content` choices for one content not held, and `total` for all of them.
    pub(crate) fn with_limits(per_content: usize, total: usize) -> Choices {
        Choices {
            by_content: HashMap::new(),
            waiting: HashMap::new(),
            waiting_total: 0,
            dropped: 0,
            next_seq: 0,
            max_per_content: per_content,
            max_total: total,
        }
    }

    /// Keep the choices of `tx` (seen for the first time, at `height`); `held` tells whether the
    /// catalog holds a content. True when every unit of `tx` is a choice.
    pub(crate) fn add_tx(
        &mut self,
        tx: &Transaction,
        recs: &TxRecords,
        height: Option<u32>,
        held: impl Fn(&Txid) -> bool,
    ) -> bool {
        let seq = self.next_seq;
        self.next_seq += 1;
        let mut only_choices = true;
        for (unit, f) in recs.found.iter().enumerate() {
            let Ok(Record::Choice(c)) = &f.record else {
                only_choices = false;
                continue;
            };
            let content = Txid::from_byte_array(c.content_id);
            if !held(&content) {
                let n = self.waiting.get(&content).copied().unwrap_or(0);
                if n >= self.max_per_content || self.waiting_total >= self.max_total {
                    self.dropped += 1;
                    continue;
                }
                *self.waiting.entry(content).or_default() += 1;
                self.waiting_total += 1;
            }
            self.by_content.entry(content).or_default().push(ChoiceRec {
                txid: recs.txid,
                unit: u16::try_from(unit).unwrap_or(u16::MAX),
                height,
                seq,
                branch_id: c.branch_id,
                option: c.option,
                signer: signer_of(tx, c),
            });
        }
        only_choices
    }

    /// `recs`, seen before, is now confirmed at `height`.
    pub(crate) fn confirm(&mut self, recs: &TxRecords, height: u32) {
        for f in &recs.found {
            let Ok(Record::Choice(c)) = &f.record else {
                continue;
            };
            let content = Txid::from_byte_array(c.content_id);
            for r in self.by_content.get_mut(&content).into_iter().flatten() {
                if r.txid == recs.txid {
                    r.height = Some(height);
                }
            }
        }
    }

    /// The catalog holds content `id` now: its choices no longer count against the bounds.
    pub(crate) fn content_held(&mut self, id: &Txid) {
        if let Some(n) = self.waiting.remove(id) {
            self.waiting_total = self.waiting_total.saturating_sub(n);
        }
    }

    /// The choices kept for content `id`, in the order seen.
    pub(crate) fn of(&self, id: &Txid) -> &[ChoiceRec] {
        self.by_content.get(id).map_or(&[], Vec::as_slice)
    }

    /// Choices kept for contents not held.
    pub(crate) fn waiting(&self) -> usize {
        self.waiting_total
    }

    /// Choices for contents not held that were not kept, over the bounds.
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The coins that the first inputs of unsigned choices for held contents spend.
    pub(crate) fn first_inputs<'a>(
        &'a self,
        held: impl Fn(&Txid) -> bool + 'a,
    ) -> impl Iterator<Item = OutPoint> + 'a {
        self.by_content
            .iter()
            .filter(move |(id, _)| held(id))
            .flat_map(|(_, v)| v.iter())
            .filter_map(|r| match r.signer {
                Signer::FirstInput(op) => Some(op),
                _ => None,
            })
    }
}

/// What attributes `c`, a choice of `tx`.
fn signer_of(tx: &Transaction, c: &Choice) -> Signer {
    if c.signature.is_some() {
        return c
            .verified_signer()
            .map_or(Signer::BadSignature, |k| Signer::Key(k.serialize()));
    }
    match tx.input.first() {
        Some(i) if !tx.is_coinbase() => Signer::FirstInput(i.previous_output),
        _ => Signer::NoInput,
    }
}

/// Where a choice stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChoiceState {
    /// Confirmed, and the first of its key at its branch: counted.
    Counted,
    /// In the mempool, valid so far: shown, never counted.
    Pending,
    /// Unsigned, and the coin its transaction's first input spends is not known yet.
    SignerUnknown,
    /// Not counted, for the reason in `flaw`.
    Refused,
}

/// One choice of a content, as readers see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChoiceSeen {
    /// The transaction that carries it.
    pub txid: Txid,
    /// Its unit's position among the transaction's units.
    pub unit: u16,
    /// Its block height (`None`: the mempool).
    pub height: Option<u32>,
    /// The x-only key it is attributed to, in hex (`None`: a signature that does not verify, or
    /// the signer not known yet).
    pub key: Option<String>,
    /// The branch it answers.
    pub branch_id: u32,
    /// The option chosen.
    pub option: u32,
    /// Where it stands.
    pub state: ChoiceState,
    /// It is counted (`state` is `counted`).
    pub counted: bool,
    /// Why it is refused, as the catalog's flaws read: `"{txid}: ..."`.
    pub flaw: Option<String>,
}

/// Who signs a choice, once the coins are looked up.
enum Who {
    Key([u8; 32]),
    Unknown,
    Refused(&'static str),
}

fn who(catalog: &Catalog, r: &ChoiceRec) -> Who {
    match r.signer {
        Signer::Key(k) => Who::Key(k),
        Signer::BadSignature => Who::Refused("signature does not verify"),
        Signer::NoInput => Who::Refused("is unsigned, and its transaction has no input: no key"),
        Signer::FirstInput(op) => match catalog.coin(&op) {
            None => Who::Unknown,
            Some(out) => out
                .script_pubkey
                .is_p2tr()
                .then(|| out.script_pubkey.as_bytes().get(2..34))
                .flatten()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .map_or(
                    Who::Refused("is unsigned, and its first input spends no Taproot coin"),
                    Who::Key,
                ),
        },
    }
}

/// The first choice per branch and key: the confirmed ones, and the mempool's.
#[derive(Default)]
struct Firsts {
    confirmed: HashMap<(u32, [u8; 32]), Txid>,
    pending: HashSet<(u32, [u8; 32])>,
}

/// Judge one choice against the story's branches, counting it there when it counts.
fn judge(
    r: &ChoiceRec,
    who: Who,
    story: &mut Story,
    firsts: &mut Firsts,
) -> (ChoiceState, Option<String>) {
    let txid = r.txid;
    let key = match who {
        Who::Refused(why) => return (ChoiceState::Refused, Some(format!("{txid}: choice {why}"))),
        Who::Unknown => None,
        Who::Key(k) => Some(k),
    };
    let Some(branch) = story.branches.iter_mut().find(|b| b.id == r.branch_id) else {
        let flaw = format!(
            "{txid}: choice at branch {}, which the content does not have",
            r.branch_id
        );
        return (ChoiceState::Refused, Some(flaw));
    };
    let n = branch.options.len();
    let Some(option) = usize::try_from(r.option)
        .ok()
        .and_then(|o| branch.options.get_mut(o))
    else {
        let flaw = format!(
            "{txid}: choice of option {} at branch {}, which has {n} options",
            r.option, r.branch_id
        );
        return (ChoiceState::Refused, Some(flaw));
    };
    let Some(key) = key else {
        return (ChoiceState::SignerUnknown, None);
    };
    let at = (r.branch_id, key);
    if let Some(first) = firsts.confirmed.get(&at) {
        let flaw = format!(
            "{txid}: choice repeated: its key chose at branch {} in {first}",
            r.branch_id
        );
        return (ChoiceState::Refused, Some(flaw));
    }
    if r.height.is_some() {
        firsts.confirmed.insert(at, txid);
        option.count += 1;
        (ChoiceState::Counted, None)
    } else if firsts.pending.insert(at) {
        option.pending += 1;
        (ChoiceState::Pending, None)
    } else {
        let flaw = format!(
            "{txid}: choice repeated: its key chose at branch {} earlier in the mempool",
            r.branch_id
        );
        (ChoiceState::Refused, Some(flaw))
    }
}

/// Count `recs`, a content's choices, into `story`'s options and list them in counting order.
pub(crate) fn tally(catalog: &Catalog, recs: &[ChoiceRec], story: &mut Story) {
    let mut order: Vec<&ChoiceRec> = recs.iter().collect();
    order.sort_by_key(|r| (r.height.is_none(), r.height, r.seq, r.unit));
    let mut firsts = Firsts::default();
    for r in order {
        let w = who(catalog, r);
        let key = match &w {
            Who::Key(k) => Some(hex::encode(k)),
            _ => None,
        };
        let (state, flaw) = judge(r, w, story, &mut firsts);
        story.choices.push(ChoiceSeen {
            txid: r.txid,
            unit: r.unit,
            height: r.height,
            key,
            branch_id: r.branch_id,
            option: r.option,
            state,
            counted: state == ChoiceState::Counted,
            flaw,
        });
    }
}
