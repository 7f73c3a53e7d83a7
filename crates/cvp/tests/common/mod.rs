//! Strategies shared by the property tests.
#![allow(dead_code, reason = "each test file uses a different part")]
#![allow(clippy::unwrap_used, reason = "test data generation")]

use cvp::*;
use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

pub fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..max)
}

fn odd_fields(first_tag: u64) -> impl Strategy<Value = Vec<UnknownField>> {
    btree_map((first_tag / 2)..(first_tag / 2 + 40), bytes(20), 0..3).prop_map(|m| {
        m.into_iter()
            .map(|(k, value)| UnknownField {
                tag: 2 * k + 1,
                value,
            })
            .collect()
    })
}

pub fn header() -> impl Strategy<Value = Header> {
    (
        proptest::option::of(".{0,30}"),
        "[a-z/;=\" .0-9,-]{1,40}",
        proptest::option::of(any::<u64>()),
        proptest::option::of((
            1u32..10_000,
            1u32..100_000,
            any::<u32>(),
            any::<[u8; 32]>(),
            any::<bool>(),
        )),
        proptest::option::of(bytes(50)),
        odd_fields(3),
    )
        .prop_map(
            |(title, media_type, duration_ms, layout, poster, unknown)| {
                let mut h = Header {
                    title,
                    media_type,
                    duration_ms,
                    poster,
                    unknown,
                    ..Default::default()
                };
                if let Some((count, size, pick, root, with_root)) = layout {
                    let last = u64::from(pick) % u64::from(size) + 1;
                    h.segment_count = Some(count);
                    h.segment_size = Some(size);
                    h.total_length = Some(u64::from(count - 1) * u64::from(size) + last);
                    h.merkle_root = with_root.then_some(root);
                }
                h
            },
        )
}

pub fn record() -> impl Strategy<Value = Record> {
    prop_oneof![
        header().prop_map(Record::Header),
        odd_fields(1).prop_map(|fields| Record::Info(Info { fields })),
        (any::<u32>(), bytes(300))
            .prop_map(|(index, payload)| Record::Segment(Segment { index, payload })),
        (0u32..1_000_000, vec(any::<[u8; 32]>(), 1..5)).prop_map(|(first_index, hashes)| {
            Record::SegmentHashes(SegmentHashes {
                first_index,
                hashes,
            })
        }),
        (any::<u32>(), proptest::option::of(any::<[u8; 32]>())).prop_map(
            |(segment_count, merkle_root)| Record::End(End {
                segment_count,
                merkle_root
            })
        ),
        (any::<u32>(), any::<u64>(), bytes(200)).prop_map(|(index, timestamp_ms, payload)| {
            Record::LiveChunk(LiveChunk {
                index,
                timestamp_ms,
                payload,
            })
        }),
        Just(Record::Link),
        clips().prop_map(Record::Clips),
        branch().prop_map(Record::Branch),
        choice().prop_map(Record::Choice),
        ((0u64..1000).prop_map(|k| 2 * k + 13), bytes(100))
            .prop_map(|(record_type, body)| Record::Unknown { record_type, body }),
    ]
}

fn clips() -> impl Strategy<Value = Clips> {
    (
        1u32..MAX_CLIPS,
        any::<u32>(),
        vec((1u64..100_000, ".{0,12}"), 1..6),
    )
        .prop_map(|(count, first, entries)| {
            let clip_count = count.max(entries.len() as u32);
            let first_clip = first % (clip_count - entries.len() as u32 + 1);
            let mut at = if first_clip == 0 { 0 } else { 1 };
            let clips = entries
                .into_iter()
                .enumerate()
                .map(|(i, (gap, name))| {
                    if i > 0 {
                        at += gap;
                    }
                    ClipEntry { start_ms: at, name }
                })
                .collect();
            Clips {
                clip_count,
                first_clip,
                clips,
            }
        })
}

fn branch() -> impl Strategy<Value = Branch> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        ".{0,20}",
        vec((any::<u32>(), ".{0,10}"), 1..5),
        any::<u32>(),
    )
        .prop_map(|(id, at_segment, timeout_ms, prompt, opts, pick)| {
            let options: Vec<BranchOption> = opts
                .into_iter()
                .map(|(next_segment, label)| BranchOption {
                    next_segment,
                    label,
                })
                .collect();
            let default_option = pick % options.len() as u32;
            Branch {
                id,
                at_segment,
                timeout_ms,
                default_option,
                prompt,
                options,
            }
        })
}

fn choice() -> impl Strategy<Value = Choice> {
    (
        any::<[u8; 32]>(),
        any::<u32>(),
        any::<u32>(),
        proptest::option::of((any::<[u8; 32]>(), vec(any::<u8>(), 64))),
    )
        .prop_map(|(content_id, branch_id, option, sig)| Choice {
            content_id,
            branch_id,
            option,
            signature: sig.map(|(pubkey, s)| ChoiceSignature {
                pubkey,
                sig: s.try_into().unwrap(),
            }),
        })
}
