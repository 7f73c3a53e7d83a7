//! The shape of an interactive film: every clip reachable from the start, and no cycle a viewer
//! cannot leave toward an ending (a clip with nothing after it) unless the author marked a clip
//! in it `loop = true`.

use super::manifest::{Branch, Clip};
use std::collections::VecDeque;

/// The clips each clip leads to.
fn edges(clips: usize, branches: &[Branch]) -> Vec<Vec<usize>> {
    let mut out = vec![Vec::new(); clips];
    for b in branches {
        for (to, _) in &b.options {
            out[b.after as usize].push(*to as usize);
        }
    }
    out
}

/// The clips reachable from `from` along `next` (`from` included).
fn reach(from: &[usize], next: &[Vec<usize>]) -> Vec<bool> {
    let mut seen = vec![false; next.len()];
    let mut queue: VecDeque<usize> = from.iter().copied().collect();
    for &f in from {
        seen[f] = true;
    }
    while let Some(c) = queue.pop_front() {
        for &n in &next[c] {
            if !seen[n] {
                seen[n] = true;
                queue.push_back(n);
            }
        }
    }
    seen
}

/// Check `clips` (clip 0 the start) joined by `branches`; an error is (the clip to point at, the
/// message).
pub fn check(clips: &[Clip], branches: &[Branch]) -> Result<(), (usize, String)> {
    let next = edges(clips.len(), branches);
    let from_start = reach(&[0], &next);
    if let Some(c) = (0..clips.len()).find(|&c| !from_start[c]) {
        return Err((
            c,
            format!(
                "clip \"{}\" cannot be reached from the start clip \"{}\"",
                clips[c].name, clips[0].name
            ),
        ));
    }
    // Clips from which an ending can be reached: backwards from the endings.
    let mut back = vec![Vec::new(); clips.len()];
    for (c, ns) in next.iter().enumerate() {
        for &n in ns {
            back[n].push(c);
        }
    }
    let endings: Vec<usize> = (0..clips.len()).filter(|&c| next[c].is_empty()).collect();
    let can_end = reach(&endings, &back);
    // A trap: clips that reach only one another (a closed cycle) and no ending.
    let mut reported = vec![false; clips.len()];
    for c in 0..clips.len() {
        if can_end[c] || reported[c] {
            continue;
        }
        let from_c = reach(&[c], &next);
        let closed = (0..clips.len())
            .filter(|&m| from_c[m])
            .all(|m| reach(&[m], &next)[c]);
        if !closed {
            continue; // it leads into a trap further on, reported there
        }
        let trap: Vec<usize> = (0..clips.len()).filter(|&m| from_c[m]).collect();
        for &m in &trap {
            reported[m] = true;
        }
        if trap.iter().any(|&m| clips[m].looping) {
            continue;
        }
        let names: Vec<String> = trap
            .iter()
            .map(|&m| format!("\"{}\"", clips[m].name))
            .collect();
        return Err((
            c,
            format!(
                "clip{} {} form{} a cycle from which no ending (a clip with no next and no \
                 decision) can be reached: give it a way out, or mark a clip in it `loop = true`",
                if trap.len() > 1 { "s" } else { "" },
                names.join(", "),
                if trap.len() > 1 { "" } else { "s" },
            ),
        ));
    }
    Ok(())
}
