//! Interactive films on the devnet (docs/cvp.md, "Interactive films"): the story a film's lineage
//! carries (clip table, branch points), viewers' choices counted once per key and branch (signed
//! or by the first input's Taproot key; forged signatures, unknown branches and options, repeats
//! and the mempool's pending choices listed but not counted), the tally after a reorg and a
//! restart, and the bounds on choices kept for contents the index does not hold.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

mod common;

use bitcoin::hashes::Hash;
use bitcoin::{OutPoint, Transaction, TxOut, Txid};
use common::{bare, carry, fake, funded, key, publish, publish_info, Key};
use cvp::{Branch, BranchOption, Carrier, Choice, ClipEntry, Clips, ContentInfo, Header, Record};
use devnet::Devnet;
use index::{Catalog, ChoiceSeen, ChoiceState, Indexer, Snapshot, Story};
use std::sync::Arc;

fn film(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 11 % 253) as u8).collect()
}

fn clip(start_ms: u64, name: &str) -> ClipEntry {
    ClipEntry {
        start_ms,
        name: name.into(),
    }
}

fn option(next: u32, label: &str) -> BranchOption {
    BranchOption {
        next_segment: next,
        label: label.into(),
    }
}

/// A film of three clips (the table in two records) and two branches: after clip 0, "left" to
/// clip 1 or "right" to clip 2; after clip 1, a plain continuation to clip 2. Published and mined.
fn interactive_film(d: &Devnet, seed: u8) -> Txid {
    let records = vec![
        Record::Clips(Clips {
            clip_count: 3,
            first_clip: 0,
            clips: vec![clip(0, "The door"), clip(4_000, "Left: the garden")],
        }),
        Record::Branch(Branch {
            id: 1,
            at_segment: 0,
            timeout_ms: 10_000,
            default_option: 1,
            prompt: "Which way?".into(),
            options: vec![option(1, "left"), option(2, "right")],
        }),
        Record::Clips(Clips {
            clip_count: 3,
            first_clip: 2,
            clips: vec![clip(9_000, "Right: the cellar")],
        }),
        Record::Branch(Branch {
            id: 2,
            at_segment: 1,
            timeout_ms: 0,
            default_option: 0,
            prompt: String::new(),
            options: vec![option(2, "on")],
        }),
    ];
    let info = ContentInfo {
        title: Some("The house".into()),
        media_type: "video/x-cvpm".into(),
        duration_ms: Some(12_000),
        poster: None,
        records,
    };
    let (id, _) = publish_info(d, seed, &film(3_000), info, Carrier::OpReturn);
    testkit::devnet::mine_one(d).unwrap();
    id
}

/// An unsigned choice (signed with `signer` when given) for `id`.
fn choice(id: Txid, branch_id: u32, option: u32, signer: Option<&Key>) -> Choice {
    let mut c = Choice {
        content_id: id.to_byte_array(),
        branch_id,
        option,
        signature: None,
    };
    if let Some(k) = signer {
        c.sign(&k.keypair);
    }
    c
}

/// A viewer's transaction spending `coin` (paying `k`) with `choices` in OP_RETURN outputs.
fn choosing(
    k: &Key,
    coin: &(OutPoint, TxOut),
    choices: &[Choice],
) -> (Transaction, (OutPoint, TxOut)) {
    let units: Vec<Vec<u8>> = choices
        .iter()
        .map(|c| Record::Choice(c.clone()).encode())
        .collect();
    let pushes: Vec<[&[u8]; 1]> = units.iter().map(|u| [u.as_slice()]).collect();
    let refs: Vec<&[&[u8]]> = pushes.iter().map(|p| p.as_slice()).collect();
    carry(k, coin, &refs, 1_000)
}

/// The x-only key an explicit signature by `k` names.
fn signing_key(k: &Key) -> String {
    hex::encode(k.keypair.x_only_public_key().0.serialize())
}

/// The output key of `k`'s Taproot coins: what signs an unsigned choice spending one.
fn output_key(k: &Key) -> String {
    hex::encode(&k.script.as_bytes()[2..34])
}

fn story(snap: &Snapshot, id: &Txid) -> Story {
    snap.story(id).cloned().expect("the film has a story")
}

/// (count, pending) of each option of branch `b`.
fn counts(s: &Story, b: u32) -> Vec<(u64, u64)> {
    s.branch(b)
        .unwrap()
        .options
        .iter()
        .map(|o| (o.count, o.pending))
        .collect()
}

fn of_tx<'a>(s: &'a Story, txid: &Txid) -> Vec<&'a ChoiceSeen> {
    s.choices.iter().filter(|c| c.txid == *txid).collect()
}

#[test]
fn a_film_with_a_clip_table_and_two_branches_indexes_its_story() {
    let dir = tempfile::tempdir().unwrap();
    let d = testkit::devnet::open(dir.path());
    let id = interactive_film(&d, 71);
    let (plain, _) = publish(&d, 72, &film(500), "Plain", Carrier::OpReturn);
    testkit::devnet::mine_one(&d).unwrap();
    let mut ix = Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let s = story(&snap, &id);
    assert_eq!(s.flaws, Vec::<String>::new());
    assert_eq!(s.clip_count, Some(3));
    assert!(s.complete);
    let clips: Vec<(u32, u64, Option<u64>, &str)> = s
        .clips
        .iter()
        .map(|c| (c.index, c.start_ms, c.end_ms, c.name.as_str()))
        .collect();
    assert_eq!(
        clips,
        [
            (0, 0, Some(4_000), "The door"),
            (1, 4_000, Some(9_000), "Left: the garden"),
            (2, 9_000, None, "Right: the cellar")
        ]
    );
    let b1 = s.branch(1).unwrap();
    assert_eq!(
        (
            b1.at_clip,
            b1.timeout_ms,
            b1.default_option,
            b1.prompt.as_str()
        ),
        (0, 10_000, 1, "Which way?")
    );
    let opts: Vec<(&str, u32)> = b1
        .options
        .iter()
        .map(|o| (o.label.as_str(), o.next_clip))
        .collect();
    assert_eq!(opts, [("left", 1), ("right", 2)]);
    let b2 = s.branch(2).unwrap();
    assert_eq!((b2.at_clip, b2.timeout_ms, b2.options.len()), (1, 0, 1));
    assert!(s.choices.is_empty());

    let summary = snap.summary(&id).unwrap();
    assert!(summary.interactive);
    assert_eq!(summary.state, index::ContentState::Complete);
    let json = serde_json::to_value(summary).unwrap();
    assert_eq!(json["interactive"], true);
    let story_json = serde_json::to_value(&s).unwrap();
    assert_eq!(story_json["branches"][0]["options"][1]["next_clip"], 2);

    assert!(snap.story(&plain).is_none(), "a plain film has no story");
    let p = snap.summary(&plain).unwrap();
    assert!(!p.interactive);
    assert!(serde_json::to_value(p)
        .unwrap()
        .get("interactive")
        .is_none());
}

#[test]
fn choices_are_counted_once_per_key_and_branch_and_the_others_are_flaws() {
    let dir = tempfile::tempdir().unwrap();
    let d = testkit::devnet::open(dir.path());
    let id = interactive_film(&d, 73);
    let [a, b, c, f, e, p] = [81, 82, 83, 84, 85, 86].map(key);
    let coins: Vec<_> = [&a, &b, &c, &f, &e, &p]
        .iter()
        .map(|k| funded(&d, k, 100_000))
        .collect();
    // A signs; B and C do not (their coins' output keys sign); C records a path in one
    // transaction; F's signature is forged (valid record, signature over another option); E
    // chooses a branch the film lacks and an option past branch 1's two.
    let (ta, a_change) = choosing(&a, &coins[0], &[choice(id, 1, 0, Some(&a))]);
    let (tb, _) = choosing(&b, &coins[1], &[choice(id, 1, 1, None)]);
    let (tc, _) = choosing(
        &c,
        &coins[2],
        &[choice(id, 1, 1, None), choice(id, 2, 0, None)],
    );
    let mut forged = choice(id, 1, 0, Some(&f));
    forged.option = 1;
    let (tf, _) = choosing(&f, &coins[3], &[forged]);
    let (te, _) = choosing(
        &e,
        &coins[4],
        &[choice(id, 9, 0, None), choice(id, 1, 2, None)],
    );
    for tx in [&ta, &tb, &tc, &tf, &te] {
        d.submit_tx(tx.clone()).unwrap();
    }
    testkit::devnet::mine_one(&d).unwrap();
    let mut ix = Indexer::in_memory().unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    assert_eq!(snap.unattributed(), 0, "choices never wait in the lineage");
    let s = story(&snap, &id);
    assert_eq!(counts(&s, 1), [(1, 0), (2, 0)]);
    assert_eq!(counts(&s, 2), [(1, 0)]);
    let seen_a = of_tx(&s, &ta.compute_txid());
    assert_eq!(seen_a[0].key.as_deref(), Some(signing_key(&a).as_str()));
    assert!(seen_a[0].counted);
    let seen_b = of_tx(&s, &tb.compute_txid());
    assert_eq!(
        seen_b[0].key.as_deref(),
        Some(output_key(&b).as_str()),
        "an unsigned choice is its first input's Taproot key's"
    );
    assert_eq!(seen_b[0].state, ChoiceState::Counted);
    let seen_c = of_tx(&s, &tc.compute_txid());
    assert_eq!(seen_c.len(), 2);
    assert!(seen_c.iter().all(|c| c.counted));
    assert_eq!((seen_c[0].unit, seen_c[1].unit), (0, 1));
    let tfid = tf.compute_txid();
    let seen_f = of_tx(&s, &tfid);
    assert_eq!(seen_f[0].state, ChoiceState::Refused);
    assert_eq!(seen_f[0].key, None);
    assert_eq!(
        seen_f[0].flaw.as_deref(),
        Some(format!("{tfid}: choice signature does not verify").as_str())
    );
    let seen_e = of_tx(&s, &te.compute_txid());
    assert!(seen_e.iter().all(|c| c.state == ChoiceState::Refused));
    assert!(seen_e[0]
        .flaw
        .as_ref()
        .unwrap()
        .contains("branch 9, which the content does not have"));
    assert!(seen_e[1]
        .flaw
        .as_ref()
        .unwrap()
        .contains("option 2 at branch 1, which has 2 options"));

    // P's choice waits in the mempool: pending, then counted once mined. A's second choice at
    // branch 1 is refused (pending, then mined), its first stands.
    let (tp, _) = choosing(&p, &coins[5], &[choice(id, 2, 0, None)]);
    let (ta2, _) = choosing(&a, &a_change, &[choice(id, 1, 1, Some(&a))]);
    d.submit_tx(tp.clone()).unwrap();
    d.submit_tx(ta2.clone()).unwrap();
    ix.poll(&d).unwrap();
    let s = story(&ix.snapshot(), &id);
    assert_eq!(counts(&s, 2), [(1, 1)], "pending, never counted");
    let seen_p = of_tx(&s, &tp.compute_txid());
    assert_eq!(seen_p[0].state, ChoiceState::Pending);
    assert_eq!(seen_p[0].key.as_deref(), Some(output_key(&p).as_str()));
    assert_eq!(seen_p[0].height, None);
    assert_eq!(
        counts(&s, 1),
        [(1, 0), (2, 0)],
        "a repeat is not even pending"
    );
    testkit::devnet::mine_one(&d).unwrap();
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let s = story(&snap, &id);
    assert_eq!(counts(&s, 2), [(2, 0)]);
    assert_eq!(counts(&s, 1), [(1, 0), (2, 0)]);
    let mine = snap.choices_by(&id, &signing_key(&a).to_uppercase());
    assert_eq!(mine.len(), 2, "the viewer's own path");
    assert!(mine[0].counted);
    assert_eq!(mine[1].txid, ta2.compute_txid());
    assert_eq!(mine[1].state, ChoiceState::Refused);
    let flaw = mine[1].flaw.clone().unwrap();
    assert_eq!(
        flaw,
        format!(
            "{}: choice repeated: its key chose at branch 1 in {}",
            ta2.compute_txid(),
            ta.compute_txid()
        )
    );
    assert_eq!(snap.unattributed(), 0);
    assert_eq!(s.choices.len(), 9);
}

#[test]
fn the_tally_survives_a_reorg_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = testkit::devnet::open(&dir.path().join("chain"));
    let id = interactive_film(&d, 74);
    let (k, u) = (key(91), key(92));
    let (k1, k2, u1) = (
        funded(&d, &k, 100_000),
        funded(&d, &k, 100_000),
        funded(&d, &u, 100_000),
    );
    let (x, _) = choosing(&k, &k1, &[choice(id, 1, 0, Some(&k))]);
    let (y, _) = choosing(&k, &k2, &[choice(id, 1, 1, Some(&k))]);
    let (tu, _) = choosing(&u, &u1, &[choice(id, 2, 0, None)]);
    let (xid, yid) = (x.compute_txid(), y.compute_txid());
    d.submit_tx(x.clone()).unwrap();
    d.submit_tx(tu.clone()).unwrap();
    testkit::devnet::mine_one(&d).unwrap();
    let path = dir.path().join("index.redb");
    let mut ix = Indexer::open(&path).unwrap();
    ix.poll(&d).unwrap();
    let s = story(&ix.snapshot(), &id);
    let h1 = of_tx(&s, &xid)[0].height.unwrap();
    assert_eq!(counts(&s, 1), [(1, 0), (0, 0)]);

    // X reorged out: pending again; mined again at another height: counted there.
    d.reorg(1).unwrap();
    ix.poll(&d).unwrap();
    let s = story(&ix.snapshot(), &id);
    assert_eq!(counts(&s, 1), [(0, 1), (0, 0)]);
    assert_eq!(of_tx(&s, &xid)[0].state, ChoiceState::Pending);
    testkit::devnet::mine_one(&d).unwrap();
    ix.poll(&d).unwrap();
    let s = story(&ix.snapshot(), &id);
    assert_eq!(counts(&s, 1), [(1, 0), (0, 0)]);
    let h2 = of_tx(&s, &xid)[0].height.unwrap();
    assert_ne!(h1, h2);

    // Y, the same key's other choice, waits; then X is reorged out again and Y confirms first
    // on the new chain: Y counts, X is the repeat.
    d.submit_tx(y.clone()).unwrap();
    ix.poll(&d).unwrap();
    let s = story(&ix.snapshot(), &id);
    assert_eq!(of_tx(&s, &yid)[0].state, ChoiceState::Refused);
    assert_eq!(counts(&s, 1), [(1, 0), (0, 0)]);
    d.reorg(1).unwrap();
    d.submit_block_with(vec![y.clone()]).unwrap();
    testkit::devnet::mine_one(&d).unwrap();
    assert!(d.mempool_txids().is_empty(), "X mined after Y");
    ix.poll(&d).unwrap();
    let snap = ix.snapshot();
    let s = story(&snap, &id);
    assert_eq!(counts(&s, 1), [(0, 0), (1, 0)], "the first confirmed wins");
    let (sx, sy) = (of_tx(&s, &xid)[0], of_tx(&s, &yid)[0]);
    assert!(sy.counted);
    assert!(sy.height.unwrap() < sx.height.unwrap());
    assert_eq!(sx.state, ChoiceState::Refused);
    assert!(sx.flaw.as_ref().unwrap().contains(&format!("in {yid}")));
    assert_eq!(counts(&s, 2), [(1, 0)]);
    assert_eq!(
        of_tx(&s, &tu.compute_txid())[0].key.as_deref(),
        Some(output_key(&u).as_str())
    );

    // Reopened from disk, with no backend: the same tally (the unsigned choice's coin stored).
    drop((ix, snap));
    let ix = Indexer::open(&path).unwrap();
    assert_eq!(story(&ix.snapshot(), &id), s);
}

fn header(title: &str) -> Record {
    Record::Header(Header {
        title: Some(title.into()),
        media_type: "video/mp4".into(),
        segment_count: Some(1),
        ..Header::default()
    })
}

/// Transactions carrying `n` unsigned choices for `id`, `per_tx` to a transaction, each spending a
/// parent never seen (numbered from `from`).
fn choices_for(id: Txid, n: u32, per_tx: u32, from: u32) -> Vec<Transaction> {
    (0..n.div_ceil(per_tx))
        .map(|t| {
            let units: Vec<Record> = (0..per_tx.min(n - t * per_tx))
                .map(|i| Record::Choice(choice(id, 0, i, None)))
                .collect();
            bare(fake(from + t), &units)
        })
        .collect()
}

fn snapshot(cat: &Catalog) -> Snapshot {
    Snapshot::build(
        cat,
        Arc::new(index::store::Store::in_memory().unwrap()),
        None,
    )
}

#[test]
fn choices_for_contents_not_held_are_kept_within_bounds() {
    let mut cat = Catalog::default().with_choice_limits(3, 5);
    let head = bare(fake(1), &[header("Later")]);
    let id = head.compute_txid();
    let other = Txid::from_byte_array([7; 32]);
    for tx in choices_for(id, 4, 1, 100) {
        cat.add_tx(&tx, Some(10));
    }
    for tx in choices_for(other, 4, 2, 200) {
        cat.add_tx(&tx, Some(10));
    }
    let snap = snapshot(&cat);
    assert_eq!(
        snap.choices_waiting(),
        5,
        "3 for the first content, 2 for the other"
    );
    assert_eq!(snap.choices_dropped(), 3);
    assert_eq!(snap.unattributed(), 0, "transactions of choices never wait");
    assert_eq!(cat.pending().0, 0);

    // The header comes later: its choices are its own now, and no longer count in the bounds.
    cat.add_tx(&head, Some(11));
    for tx in choices_for(id, 4, 1, 300) {
        cat.add_tx(&tx, Some(11));
    }
    let third = Txid::from_byte_array([8; 32]);
    for tx in choices_for(third, 4, 4, 400) {
        cat.add_tx(&tx, Some(11));
    }
    let snap = snapshot(&cat);
    let s = snap.story(&id).expect("a content with choices has a story");
    assert_eq!(
        s.choices.len(),
        7,
        "choices for a held content are all kept"
    );
    assert!(
        s.choices.iter().all(|c| c.state == ChoiceState::Refused),
        "no branch 0"
    );
    assert_eq!(
        snap.choices_waiting(),
        5,
        "2 for the other, 3 for the third"
    );
    assert_eq!(snap.choices_dropped(), 4);
    assert!(snap.story(&other).is_none(), "no content, no story");

    // A choice in a transaction with other records is kept, and the transaction still waits
    // for its parent in the lineage.
    let seg = Record::Segment(cvp::Segment {
        index: 0,
        payload: vec![1, 2, 3],
    });
    cat.add_tx(
        &bare(fake(500), &[Record::Choice(choice(id, 0, 0, None)), seg]),
        None,
    );
    assert_eq!(cat.pending().0, 1);
    assert_eq!(snapshot(&cat).story(&id).unwrap().choices.len(), 8);
}

#[test]
fn the_default_bounds_keep_a_hundred_thousand_choices_for_contents_not_held() {
    let mut cat = Catalog::default();
    let ids: Vec<Txid> = (0..11u8)
        .map(|i| Txid::from_byte_array([i + 1; 32]))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let n = if i == 0 { 10_010 } else { 10_000 };
        for tx in choices_for(*id, n, 50, (i as u32 + 1) * 1_000_000) {
            cat.add_tx(&tx, Some(5));
        }
    }
    let snap = snapshot(&cat);
    assert_eq!(snap.choices_waiting(), index::DEFAULT_MAX_WAITING_CHOICES);
    assert_eq!(
        snap.choices_dropped(),
        10 + index::DEFAULT_MAX_WAITING_PER_CONTENT as u64,
        "10 over the first content's bound, and the last content's all over the total"
    );
    assert_eq!(snap.unattributed(), 0);
}

#[test]
fn the_lowest_block_then_the_first_unit_wins_and_an_unsigned_choice_waits_for_its_coin() {
    let mut cat = Catalog::default();
    let head = bare(fake(1), &[header("Fed by hand")]);
    let id = head.compute_txid();
    let branch = Record::Branch(Branch {
        id: 4,
        at_segment: 0,
        timeout_ms: 1_000,
        default_option: 0,
        prompt: "?".into(),
        options: vec![option(0, "a"), option(0, "b")],
    });
    cat.add_tx(&head, Some(10));
    cat.add_tx(&bare(OutPoint::new(id, 0), &[branch]), Some(10));
    let k = key(95);
    // Fed out of block order: the choice at height 21 (two units, same key and branch: the
    // first unit stands), then the one at height 20, which is the first confirmed.
    let later = bare(
        fake(2),
        &[
            Record::Choice(choice(id, 4, 1, Some(&k))),
            Record::Choice(choice(id, 4, 0, Some(&k))),
        ],
    );
    let first = bare(fake(3), &[Record::Choice(choice(id, 4, 0, Some(&k)))]);
    cat.add_tx(&later, Some(21));
    cat.add_tx(&first, Some(20));
    // Two unsigned choices: one spends a coin not known yet, one a coin that is no Taproot coin.
    let (taproot_coin, other_coin) = (fake(4), fake(5));
    cat.add_tx(
        &bare(taproot_coin, &[Record::Choice(choice(id, 4, 1, None))]),
        Some(22),
    );
    cat.add_tx(
        &bare(other_coin, &[Record::Choice(choice(id, 4, 1, None))]),
        Some(22),
    );
    let wpkh = bitcoin::ScriptBuf::from_bytes([&[0x00, 0x14][..], &[9u8; 20]].concat());
    cat.note_prevout(
        other_coin,
        TxOut {
            value: bitcoin::Amount::from_sat(1_000),
            script_pubkey: wpkh,
        },
    );
    let s = snapshot(&cat).story(&id).cloned().unwrap();
    let states: Vec<(Txid, u16, ChoiceState)> = s
        .choices
        .iter()
        .map(|c| (c.txid, c.unit, c.state))
        .collect();
    let t = |tx: &Transaction| tx.compute_txid();
    assert_eq!(
        states,
        [
            (t(&first), 0, ChoiceState::Counted),
            (t(&later), 0, ChoiceState::Refused),
            (t(&later), 1, ChoiceState::Refused),
            (s.choices[3].txid, 0, ChoiceState::SignerUnknown),
            (s.choices[4].txid, 0, ChoiceState::Refused),
        ]
    );
    assert!(s.choices[4]
        .flaw
        .as_ref()
        .unwrap()
        .ends_with("choice is unsigned, and its first input spends no Taproot coin"));
    assert_eq!(counts(&s, 4), [(1, 0), (0, 0)]);
    assert_eq!(
        cat.missing_prevouts(),
        [fake(1), taproot_coin],
        "the header's coin, then the unsigned choice's"
    );

    // The coin found: a Taproot coin whose output key now signs the choice, counted.
    let v = key(96);
    cat.note_prevout(
        taproot_coin,
        TxOut {
            value: bitcoin::Amount::from_sat(1_000),
            script_pubkey: v.script.clone(),
        },
    );
    let s = snapshot(&cat).story(&id).cloned().unwrap();
    assert_eq!(s.choices[3].state, ChoiceState::Counted);
    assert_eq!(s.choices[3].key.as_deref(), Some(output_key(&v).as_str()));
    assert_eq!(counts(&s, 4), [(1, 0), (1, 0)]);
    assert_eq!(cat.missing_prevouts(), [fake(1)]);
}
