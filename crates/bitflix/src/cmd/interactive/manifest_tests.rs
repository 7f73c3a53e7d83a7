//! One bad manifest per flaw, each with its own message and line; and a good one in stream order.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use super::manifest::{Manifest, ManifestError};
use std::path::Path;

/// A folder holding the inputs the manifests name.
fn inputs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["a.mp4", "b.mp4", "c.mp4", "d.mp4"] {
        std::fs::write(dir.path().join(f), b"").unwrap();
    }
    dir
}

fn parse(dir: &Path, text: &str) -> Result<Manifest, ManifestError> {
    Manifest::parse(&dir.join("film.toml"), text)
}

/// The manifest `text` fails at `line` with a message holding `says`.
fn fails(text: &str, line: usize, says: &str) {
    let dir = inputs();
    let e = parse(dir.path(), text).unwrap_err();
    assert_eq!(e.line, line, "{e}");
    assert!(e.message.contains(says), "{e} (wanted: {says})");
    let shown = e.to_string();
    assert!(shown.contains(&format!("film.toml:{line}:")), "{shown}");
}

const CLIPS: &str = r#"
[[clip]]
name = "hall"
input = "a.mp4"
[[clip]]
name = "door"
input = "b.mp4"
[[clip]]
name = "stairs"
input = "c.mp4"
"#;

/// `CLIPS` (lines 2-10) with `extra` after it (from line 11).
fn with(extra: &str) -> String {
    format!("{CLIPS}{extra}")
}

const DECISION: &str = r#"[[decision]]
after = "hall"
prompt = "Open the door?"
options = [ { label = "Yes", next = "door" }, { label = "No", next = "stairs" } ]
"#;

const GOOD: &str = r#"title = "The door"
start = "door"
[[clip]]
name = "hall"
input = "a.mp4"
[[clip]]
name = "door"
input = "b.mp4"
next = "hall"
[[clip]]
name = "stairs"
input = "c.mp4"
next = "end"
[[clip]]
name = "end"
input = "d.mp4"
from = 1
duration = 2.5
[[decision]]
after = "hall"
prompt = "Open the door?"
timeout = 7.5
default = "No"
options = [ { label = "Yes", next = "stairs" }, { label = "No", next = "end" } ]
"#;

#[test]
fn a_good_manifest_in_stream_order() {
    let dir = inputs();
    let m = parse(dir.path(), GOOD).unwrap();
    assert_eq!(m.title.as_deref(), Some("The door"));
    let names: Vec<&str> = m.clips.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["door", "hall", "stairs", "end"]);
    assert_eq!((m.clips[3].from, m.clips[3].duration), (1.0, Some(2.5)));
    assert_eq!((m.clips[0].from, m.clips[0].duration), (0.0, None));
    assert_eq!(m.clips[0].input, dir.path().join("b.mp4"));
    // door -> hall (a continuation), hall -> stairs | end (a decision), stairs -> end.
    assert_eq!(m.branches.len(), 3);
    let door = &m.branches[0];
    assert_eq!(
        (door.after, door.timeout_ms, door.prompt.as_str()),
        (0, 0, "")
    );
    assert_eq!(door.options, [(1, String::new())]);
    let hall = &m.branches[1];
    assert_eq!(
        (hall.after, hall.timeout_ms, hall.default_option),
        (1, 7_500, 1)
    );
    assert_eq!(hall.prompt, "Open the door?");
    assert_eq!(
        hall.options,
        [(2, "Yes".to_string()), (3, "No".to_string())]
    );
    assert_eq!(
        (m.branches[2].after, m.branches[2].options.clone()),
        (2, vec![(3, String::new())])
    );
    // Without `start`, the first listed clip starts; "door" is then unreachable.
    let e = parse(dir.path(), &GOOD.replace("start = \"door\"\n", "")).unwrap_err();
    assert_eq!(e.line, 6, "{e}");
    assert!(e.message.contains("\"door\" cannot be reached"), "{e}");
}

#[test]
fn toml_flaws_have_their_line() {
    fails(&with("[[decision]\n"), 11, "");
    fails(
        &with("[[clip]]\nname = \"x\"\ninput = \"a.mp4\"\ncolour = 1\n"),
        14,
        "colour",
    );
    fails("[[clip]]\nname = \"x\"\n", 1, "input");
    fails("title = \"t\"\n", 1, "no [[clip]]");
}

#[test]
fn unknown_clips() {
    fails(
        &format!("start = \"attic\"\n{CLIPS}"),
        1,
        "start names clip \"attic\"",
    );
    fails(
        &CLIPS.replace("input = \"a.mp4\"", "input = \"a.mp4\"\nnext = \"attic\""),
        5,
        "next names clip \"attic\"",
    );
    fails(
        &with(&DECISION.replace("after = \"hall\"", "after = \"attic\"")),
        12,
        "after names clip \"attic\"",
    );
    fails(
        &with(&DECISION.replace("next = \"stairs\"", "next = \"attic\"")),
        14,
        "option's next names clip \"attic\"",
    );
}

#[test]
fn duplicate_and_unreachable_clips() {
    fails(
        &CLIPS.replace("\"stairs\"", "\"door\""),
        9,
        "\"door\" is already defined at line 6",
    );
    fails(
        CLIPS,
        6,
        "clip \"door\" cannot be reached from the start clip \"hall\"",
    );
    fails(
        &CLIPS.replace("input = \"b.mp4\"", "input = \"missing.mp4\""),
        7,
        "does not exist",
    );
    fails(
        &CLIPS.replace("name = \"door\"", "name = \" \""),
        6,
        "name is empty",
    );
}

#[test]
fn cycles_without_an_ending() {
    // hall -> door | stairs, door -> stairs -> door: no ending past the choice.
    let cycle = with(DECISION)
        .replace("input = \"b.mp4\"", "input = \"b.mp4\"\nnext = \"stairs\"")
        .replace("input = \"c.mp4\"", "input = \"c.mp4\"\nnext = \"door\"");
    fails(&cycle, 6, "clips \"door\", \"stairs\" form a cycle");
    let dir = inputs();
    let looped = cycle.replace("input = \"c.mp4\"", "input = \"c.mp4\"\nloop = true");
    assert!(parse(dir.path(), &looped).is_ok());
    // A clip that continues to itself.
    let own = "[[clip]]\nname = \"a\"\ninput = \"a.mp4\"\nnext = \"a\"\n";
    fails(own, 2, "clip \"a\" forms a cycle");
    // A cycle with a way out is fine: hall <-> door, door may go to stairs.
    let out = with(
        "[[decision]]\nafter = \"hall\"\nprompt = \"?\"\noptions = [ { label = \"in\", next = \"door\" }, { label = \"on\", next = \"hall\" } ]\n\
         [[decision]]\nafter = \"door\"\nprompt = \"?\"\noptions = [ { label = \"back\", next = \"hall\" }, { label = \"up\", next = \"stairs\" } ]\n",
    );
    assert!(parse(dir.path(), &out).is_ok());
}

#[test]
fn decision_flaws() {
    fails(
        &with(&DECISION.replace("prompt", "timeout = 0\nprompt")),
        13,
        "timeout is 0 s",
    );
    fails(
        &with(&DECISION.replace("prompt", "timeout = 61\nprompt")),
        13,
        "timeout is 61 s",
    );
    fails(
        &with(&DECISION.replace(", { label = \"No\", next = \"stairs\" }", "")),
        14,
        "2 to 8 options; this one has 1",
    );
    let nine: Vec<String> = (0..9)
        .map(|i| format!("{{ label = \"o{i}\", next = \"door\" }}"))
        .collect();
    let many = format!(
        "[[decision]]\nafter = \"hall\"\nprompt = \"?\"\noptions = [ {} ]\n",
        nine.join(", ")
    );
    fails(&with(&many), 14, "this one has 9");
    fails(
        &with(&DECISION.replace("prompt", "default = \"Maybe\"\nprompt")),
        13,
        "default \"Maybe\" is not an option's label (the labels: Yes, No)",
    );
    fails(
        &with(&DECISION.replace("\"Open the door?\"", "\"\"")),
        13,
        "the prompt is empty",
    );
    fails(
        &with(&DECISION.replace("\"Yes\"", "\"  \"")),
        14,
        "label is empty",
    );
    fails(
        &with(&DECISION.replace("\"Yes\"", "\"No\"")),
        14,
        "the label \"No\" repeats",
    );
}

#[test]
fn one_thing_after_a_clip() {
    fails(
        &with(&format!("{DECISION}{DECISION}")),
        16,
        "clip \"hall\" already has a decision (line 12)",
    );
    fails(
        &with(DECISION).replace("input = \"a.mp4\"", "input = \"a.mp4\"\nnext = \"door\""),
        13,
        "clip \"hall\" already has a `next` (line 5)",
    );
}

#[test]
fn seconds_out_of_range() {
    fails(
        &CLIPS.replace("input = \"a.mp4\"", "input = \"a.mp4\"\nfrom = -1"),
        5,
        "from is -1",
    );
    fails(
        &CLIPS.replace("input = \"a.mp4\"", "input = \"a.mp4\"\nduration = 0"),
        5,
        "duration is 0",
    );
}
