//! The story of an interactive film (docs/cvp.md, "Interactive films"): the clip table and the
//! branch points its publisher's lineage carries, checked as the spec says, and the viewers'
//! choices counted at each branch (`choices.rs`).
//!
//! The catalog keeps, per content, what the lineage carried ([`StoryRecords`]): the clip table as
//! it grows (a map keyed by clip number: memory follows the clips seen, never the count claimed;
//! a record that conflicts with it is a flaw and is ignored) and the branch records in lineage
//! order. The branches are checked when a snapshot is built ([`Story`]), so a branch the lineage
//! carries before the clip table is still checked against the table's count.

use crate::catalog::Catalog;
use crate::choices::ChoiceSeen;
use crate::snapshot::{ContentSummary, Snapshot};
use bitcoin::Txid;
use cvp::{Branch, ClipEntry, Clips};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A content's `clips` and `branch` records as its lineage carried them.
#[derive(Debug, Clone, Default)]
pub(crate) struct StoryRecords {
    /// The clip count of the first `clips` record.
    clip_count: Option<u32>,
    /// The clips held, by number.
    clips: BTreeMap<u32, ClipEntry>,
    /// Every branch record, in lineage order, with its transaction.
    branches: Vec<(Txid, Branch)>,
    /// Flaws of the clip table.
    flaws: Vec<String>,
}

impl StoryRecords {
    /// Apply a `clips` record of `txid`. A record whose count differs from the first one's, or
    /// that gives a held clip another start or name, or whose starts are not after the held clip
    /// before it and before the held clip after it, is a flaw and is ignored as a whole.
    pub(crate) fn add_clips(&mut self, txid: Txid, t: &Clips) {
        if let Some(n) = self.clip_count {
            if n != t.clip_count {
                self.flaws.push(format!(
                    "{txid}: clip table of {} clips, not the {n} of the first: ignored",
                    t.clip_count
                ));
                return;
            }
        }
        let (Some(first), Some(last)) = (t.clips.first(), t.clips.last()) else {
            return; // a decoded record holds at least one clip
        };
        let numbered = t
            .clips
            .iter()
            .enumerate()
            .map(|(i, e)| (u64::from(t.first_clip) + i as u64, e));
        for (k, e) in numbered.clone() {
            if k >= u64::from(t.clip_count) {
                return; // the decoder refuses this; never trusted here either
            }
            let k = k as u32;
            if let Some(held) = self.clips.get(&k) {
                if held != e {
                    self.flaws.push(format!(
                        "{txid}: clip {k} already held with another start or name: ignored"
                    ));
                    return;
                }
            }
        }
        let last_k = t.first_clip.saturating_add(t.clips.len() as u32 - 1);
        if let Some((k, before)) = self.clips.range(..t.first_clip).next_back() {
            if before.start_ms >= first.start_ms {
                self.flaws.push(format!(
                    "{txid}: clip {} starts at {} ms, not after clip {k} at {} ms: ignored",
                    t.first_clip, first.start_ms, before.start_ms
                ));
                return;
            }
        }
        if let Some((k, after)) = self.clips.range(last_k.saturating_add(1)..).next() {
            if after.start_ms <= last.start_ms {
                self.flaws.push(format!(
                    "{txid}: clip {last_k} starts at {} ms, not before clip {k} at {} ms: ignored",
                    last.start_ms, after.start_ms
                ));
                return;
            }
        }
        self.clip_count.get_or_insert(t.clip_count);
        for (k, e) in numbered {
            self.clips.entry(k as u32).or_insert_with(|| e.clone());
        }
    }

    /// Keep a `branch` record of `txid` (checked when the story is built).
    pub(crate) fn add_branch(&mut self, txid: Txid, b: Branch) {
        self.branches.push((txid, b));
    }

    /// Nothing of a story was carried.
    fn is_empty(&self) -> bool {
        self.clip_count.is_none() && self.branches.is_empty() && self.flaws.is_empty()
    }
}

/// One clip of the table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Clip {
    /// Its number, from 0.
    pub index: u32,
    /// Where it starts in the stream's timeline (ms).
    pub start_ms: u64,
    /// Where it ends: the next clip's start, when that clip is held (`None` for the last clip,
    /// which runs to the end of the stream, or when the next is not held).
    pub end_ms: Option<u64>,
    /// The publisher's name for it (shown escaped, as every string).
    pub name: String,
}

/// One option of a branch point, with the viewers' choices of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoryOption {
    /// What the viewer sees.
    pub label: String,
    /// The clip it plays (under a clip table; without one, the segment, as v1 had it).
    pub next_clip: u32,
    /// Confirmed choices counted for it (at most one per key at this branch).
    pub count: u64,
    /// Valid choices for it in the mempool (never counted).
    pub pending: u64,
}

/// A branch point that stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoryBranch {
    /// Its id, unique within the content.
    pub id: u32,
    /// The clip after whose end it comes (without a clip table, the segment).
    pub at_clip: u32,
    /// How long the viewer has to choose; 0 with one option is a plain continuation.
    pub timeout_ms: u32,
    /// The option taken when nobody chooses in time.
    pub default_option: u32,
    /// The question.
    pub prompt: String,
    /// The options, in the record's order.
    pub options: Vec<StoryOption>,
    /// The transaction that carried it.
    pub txid: Txid,
}

/// The story of a content: its clip table, its branch points and the viewers' choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Story {
    /// The clips held, in order.
    pub clips: Vec<Clip>,
    /// The table's clip count (`None`: no clip table).
    pub clip_count: Option<u32>,
    /// Every clip from 0 to the count is held.
    pub complete: bool,
    /// The branch points that stand, in lineage order.
    pub branches: Vec<StoryBranch>,
    /// Flaws of the clip table and the branch records.
    pub flaws: Vec<String>,
    /// Every choice kept for the content: the confirmed in counting order (height, place in the
    /// block, unit), then the mempool's.
    pub choices: Vec<ChoiceSeen>,
}

impl Story {
    /// Has a clip table or a branch point: an interactive film.
    pub fn interactive(&self) -> bool {
        self.clip_count.is_some() || !self.branches.is_empty()
    }

    /// The branch with id `id`.
    pub fn branch(&self, id: u32) -> Option<&StoryBranch> {
        self.branches.iter().find(|b| b.id == id)
    }
}

/// The clip table and the branches that stand, from what the lineage carried; `segments` is the
/// header's segment count, which bounds the positions of a content without a clip table.
fn build(rec: &StoryRecords, segments: Option<u32>) -> Story {
    let clips: Vec<Clip> = rec
        .clips
        .iter()
        .map(|(k, e)| Clip {
            index: *k,
            start_ms: e.start_ms,
            end_ms: k
                .checked_add(1)
                .and_then(|n| rec.clips.get(&n))
                .map(|n| n.start_ms),
            name: e.name.clone(),
        })
        .collect();
    let complete = rec
        .clip_count
        .is_some_and(|n| rec.clips.len() == n as usize);
    let (limit, unit) = match (rec.clip_count, segments) {
        (Some(n), _) => (Some(n), "clip"),
        (None, s) => (s, "segment"),
    };
    let mut flaws = rec.flaws.clone();
    let mut branches: Vec<StoryBranch> = Vec::new();
    let (mut ids, mut ats) = (HashSet::new(), HashSet::new());
    for (txid, b) in &rec.branches {
        let past = |at: u32| limit.is_some_and(|n| at >= n);
        if past(b.at_segment) {
            flaws.push(format!(
                "{txid}: branch {} comes after {unit} {}, at or past the {} {unit}s: refused",
                b.id,
                b.at_segment,
                limit.unwrap_or(0)
            ));
            continue;
        }
        if let Some((i, o)) = b
            .options
            .iter()
            .enumerate()
            .find(|(_, o)| past(o.next_segment))
        {
            flaws.push(format!(
                "{txid}: option {i} of branch {} plays {unit} {}, at or past the {} {unit}s: \
                 refused",
                b.id,
                o.next_segment,
                limit.unwrap_or(0)
            ));
            continue;
        }
        if ids.contains(&b.id) {
            flaws.push(format!("{txid}: a second branch {}: refused", b.id));
            continue;
        }
        if ats.contains(&b.at_segment) {
            flaws.push(format!(
                "{txid}: branch {} comes after {unit} {}, which has a branch already: refused",
                b.id, b.at_segment
            ));
            continue;
        }
        ids.insert(b.id);
        ats.insert(b.at_segment);
        branches.push(StoryBranch {
            id: b.id,
            at_clip: b.at_segment,
            timeout_ms: b.timeout_ms,
            default_option: b.default_option,
            prompt: b.prompt.clone(),
            options: b
                .options
                .iter()
                .map(|o| StoryOption {
                    label: o.label.clone(),
                    next_clip: o.next_segment,
                    count: 0,
                    pending: 0,
                })
                .collect(),
            txid: *txid,
        });
    }
    Story {
        clips,
        clip_count: rec.clip_count,
        complete,
        branches,
        flaws,
        choices: Vec::new(),
    }
}

/// Every held content's story, and the choices kept for contents the index does not hold.
#[derive(Debug, Default)]
pub(crate) struct Stories {
    by_id: HashMap<Txid, Story>,
    waiting: usize,
    dropped: u64,
}

impl Stories {
    /// The stories of `catalog`'s contents (each with its choices counted), marking the
    /// summaries of interactive ones.
    pub(crate) fn of(catalog: &Catalog, summaries: &mut [ContentSummary]) -> Stories {
        let mut by_id = HashMap::new();
        for s in summaries.iter_mut() {
            let Some(c) = catalog.get(&s.id) else {
                continue;
            };
            let choices = catalog.choices().of(&s.id);
            if c.story.is_empty() && choices.is_empty() {
                continue;
            }
            let mut story = build(&c.story, c.tracker.header().segment_count);
            crate::choices::tally(catalog, choices, &mut story);
            s.interactive = story.interactive();
            by_id.insert(s.id, story);
        }
        Stories {
            by_id,
            waiting: catalog.choices().waiting(),
            dropped: catalog.choices().dropped(),
        }
    }
}

impl Snapshot {
    /// A content's story: its clip table, branch points, flaws and the viewers' choices (`None`
    /// for a content the index does not hold, or one without clips, branches and choices).
    pub fn story(&self, id: &Txid) -> Option<&Story> {
        self.stories.by_id.get(id)
    }

    /// The choices of the viewer whose key is `key_hex` (x-only, hex, either case) for content
    /// `id`: the path that viewer took, in counting order.
    pub fn choices_by(&self, id: &Txid, key_hex: &str) -> Vec<&ChoiceSeen> {
        let key = key_hex.trim().to_ascii_lowercase();
        self.story(id)
            .map(|s| {
                s.choices
                    .iter()
                    .filter(|c| c.key.as_deref() == Some(key.as_str()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Choices kept for contents the index does not hold (yet): bounded per content and in total.
    pub fn choices_waiting(&self) -> usize {
        self.stories.waiting
    }

    /// Choices for contents the index does not hold that were not kept, over the bounds.
    pub fn choices_dropped(&self) -> u64 {
        self.stories.dropped
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "a test fails loudly")]
mod tests {
    use super::*;
    use bitcoin::hashes::Hash;
    use cvp::BranchOption;

    fn txid(n: u8) -> Txid {
        Txid::from_byte_array([n; 32])
    }

    fn clips(count: u32, first: u32, starts: &[u64]) -> Clips {
        Clips {
            clip_count: count,
            first_clip: first,
            clips: starts
                .iter()
                .map(|s| ClipEntry {
                    start_ms: *s,
                    name: format!("at {s}"),
                })
                .collect(),
        }
    }

    fn branch(id: u32, at: u32, next: &[u32]) -> Branch {
        Branch {
            id,
            at_segment: at,
            timeout_ms: 5_000,
            default_option: 0,
            prompt: format!("branch {id}?"),
            options: next
                .iter()
                .map(|n| BranchOption {
                    next_segment: *n,
                    label: format!("to {n}"),
                })
                .collect(),
        }
    }

    #[test]
    fn a_table_in_two_records_is_complete_and_conflicting_records_are_flaws_and_ignored() {
        let mut r = StoryRecords::default();
        r.add_clips(txid(1), &clips(4, 0, &[0, 1_000]));
        assert!(!build(&r, None).complete);
        // Another count: ignored, whole.
        r.add_clips(txid(2), &clips(5, 2, &[2_000, 3_000]));
        // Clip 1 again with another start (and clip 2 new): ignored, whole; clip 2 not taken.
        r.add_clips(txid(3), &clips(4, 1, &[1_500, 2_000]));
        // Clip 2 starting before clip 1 held: ignored.
        r.add_clips(txid(4), &clips(4, 2, &[900]));
        // Clip 1 again with another name: ignored.
        let mut renamed = clips(4, 1, &[1_000]);
        renamed.clips[0].name = "another".into();
        r.add_clips(txid(5), &renamed);
        let s = build(&r, None);
        assert_eq!(s.clips.len(), 2);
        assert_eq!(s.flaws.len(), 4, "{:?}", s.flaws);
        assert!(s.flaws[0].starts_with(&format!("{}: clip table of 5", txid(2))));
        assert!(s.flaws[1].contains("clip 1 already held"), "{}", s.flaws[1]);
        assert!(s.flaws[2].contains("not after clip 1"), "{}", s.flaws[2]);
        assert!(s.flaws[3].contains("clip 1 already held"), "{}", s.flaws[3]);
        // The rest of the table, with clip 1 repeated as it is: complete.
        r.add_clips(txid(6), &clips(4, 1, &[1_000, 2_000, 3_000]));
        let s = build(&r, None);
        assert!(s.complete);
        assert_eq!(s.clip_count, Some(4));
        let starts: Vec<(u64, Option<u64>)> =
            s.clips.iter().map(|c| (c.start_ms, c.end_ms)).collect();
        assert_eq!(
            starts,
            [
                (0, Some(1_000)),
                (1_000, Some(2_000)),
                (2_000, Some(3_000)),
                (3_000, None)
            ]
        );
        assert_eq!(s.flaws.len(), 4);
        // A clip held after the record's last, starting no later: ignored.
        let mut r = StoryRecords::default();
        r.add_clips(txid(1), &clips(4, 3, &[3_000]));
        r.add_clips(txid(2), &clips(4, 0, &[0, 1_000, 3_000]));
        let s = build(&r, None);
        assert_eq!(s.clips.len(), 1);
        assert!(s.flaws[0].contains("not before clip 3"), "{}", s.flaws[0]);
    }

    #[test]
    fn the_first_branch_of_an_id_or_a_clip_stands_and_branches_past_the_table_are_refused() {
        let mut r = StoryRecords::default();
        // Before the table in lineage order: still checked against its count.
        r.add_branch(txid(1), branch(1, 3, &[0]));
        r.add_branch(txid(2), branch(1, 0, &[1, 2]));
        r.add_clips(txid(3), &clips(3, 0, &[0, 10, 20]));
        r.add_branch(txid(4), branch(1, 1, &[2]));
        r.add_branch(txid(5), branch(2, 0, &[2]));
        r.add_branch(txid(6), branch(3, 1, &[1, 3]));
        r.add_branch(txid(7), branch(4, 1, &[2]));
        let s = build(&r, Some(1));
        let kept: Vec<(u32, u32, Txid)> = s
            .branches
            .iter()
            .map(|b| (b.id, b.at_clip, b.txid))
            .collect();
        assert_eq!(kept, [(1, 0, txid(2)), (4, 1, txid(7))]);
        assert_eq!(s.flaws.len(), 4, "{:?}", s.flaws);
        assert!(s.flaws[0].starts_with(&format!("{}: branch 1 comes after clip 3", txid(1))));
        assert!(s.flaws[1].contains("a second branch 1"), "{}", s.flaws[1]);
        assert!(
            s.flaws[2].contains("which has a branch already"),
            "{}",
            s.flaws[2]
        );
        assert!(
            s.flaws[3].contains("option 1 of branch 3 plays clip 3"),
            "{}",
            s.flaws[3]
        );
        assert!(s.interactive());
        let b = s.branch(1).unwrap();
        assert_eq!(
            b.options.iter().map(|o| o.next_clip).collect::<Vec<_>>(),
            [1, 2]
        );
    }

    #[test]
    fn without_a_table_positions_are_segments_bounded_by_the_header() {
        let mut r = StoryRecords::default();
        r.add_branch(txid(1), branch(1, 4, &[0]));
        r.add_branch(txid(2), branch(2, 5, &[0]));
        let s = build(&r, Some(5));
        assert_eq!(s.branches.len(), 1);
        assert!(!s.complete);
        assert!(s.flaws[0].contains("segment 5"), "{}", s.flaws[0]);
        let s = build(&r, None);
        assert_eq!(s.branches.len(), 2, "an open stream bounds nothing");
    }
}
