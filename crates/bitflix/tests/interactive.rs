//! `bitflix publish --interactive` end to end on the devnet: three clips cut from one generated
//! input, joined by two decisions, published with the op-return carrier and mined; then read
//! from the chain through the devnet's Esplora API: the content is indexed complete, its lineage
//! holds the clip table (the starts the publish reported) and both branch records, and its
//! stream, rewrapped by `bitflix extract`, is the stream the publish encoded. A bad manifest
//! fails first, with its line, before anything is paid; `estimate --interactive` encodes nothing.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use cvp::Record;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

const MANIFEST: &str = r#"title = "The door"
[[clip]]
name = "hall"
input = "src.mp4"
duration = 1.5
[[clip]]
name = "door"
input = "src.mp4"
from = 2.0
duration = 1.0
[[clip]]
name = "stairs"
input = "src.mp4"
from = 4.0
duration = 1.0
[[decision]]
after = "hall"
prompt = "Open the door?"
options = [ { label = "Yes", next = "door" }, { label = "No", next = "stairs" } ]
[[decision]]
after = "door"
prompt = "Go back?"
timeout = 5
default = "On"
options = [ { label = "Back", next = "hall" }, { label = "On", next = "stairs" } ]
"#;

/// 6 s of a moving test pattern with a tone.
fn source(dir: &Path) {
    let ok = Command::new("ffmpeg")
        .args([
            "-y",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=320x240:rate=25:duration=6",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:duration=6",
            "-pix_fmt",
            "yuv420p",
            "-shortest",
        ])
        .arg(dir.join("src.mp4"))
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Mine a block on the devnet of `data`, serve it over Esplora and index it into `DIR/viewer`:
/// the daemon, the index's data directory, content `id` as indexed (complete) and the records of
/// its lineage, read from the Esplora API.
fn from_chain(
    dir: &Path,
    data: &Path,
    id: &str,
) -> (testkit::Daemon, std::path::PathBuf, Value, Vec<Record>) {
    let port = testkit::free_port();
    let daemon = testkit::Daemon::start(&testkit::bitflix!(data), port, &["--mine", "1"]);
    let esplora = format!("esplora:{}", daemon.url());
    let idx = dir.join("viewer");
    let index = testkit::bitflix!(&idx)
        .json()
        .ok(&["index", "--chain", &esplora]);
    let content = index["contents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("the film is indexed: {index}"))
        .clone();
    assert_eq!(content["state"], "complete", "{content}");
    let records = lineage_records(&daemon.url(), content["lineage"].as_array().unwrap());
    (daemon, idx, content, records)
}

/// The records of every transaction in `lineage`, from the Esplora API at `url`.
fn lineage_records(url: &str, lineage: &[Value]) -> Vec<Record> {
    let mut out = Vec::new();
    for t in lineage {
        let txid = t["txid"].as_str().unwrap();
        assert!(t["height"].is_u64(), "confirmed: {t}");
        let hex = ureq::get(&format!("{url}/tx/{txid}/hex"))
            .call()
            .unwrap()
            .into_string()
            .unwrap();
        let tx: bitcoin::Transaction =
            bitcoin::consensus::encode::deserialize_hex(hex.trim()).unwrap();
        for f in cvp::carrier::records_in_tx(&tx) {
            out.push(f.record.unwrap());
        }
    }
    out
}

#[test]
fn an_interactive_film_is_published_with_its_clips_and_branches() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    source(dir.path());
    let manifest = dir.path().join("film.toml");
    std::fs::write(&manifest, MANIFEST).unwrap();
    let chain = format!("devnet:{}", data.join("devnet").display());
    let bitflix = testkit::bitflix!(&data).json();
    let publish = |m: &Path| {
        bitflix.run(&[
            "publish",
            "--interactive",
            m.to_str().unwrap(),
            "--carrier",
            "op-return",
            "--chain",
            &chain,
            "--width",
            "160",
            "--fps",
            "8",
            "--cpu-used",
            "8",
            "--kbps",
            "24",
            "--feerate",
            "1",
        ])
    };

    // A bad manifest (an option names no clip, line 19) fails before anything is encoded or paid.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        MANIFEST.replace("next = \"door\" }", "next = \"attic\" }"),
    )
    .unwrap();
    let r = publish(&bad);
    assert!(!r.success());
    assert!(
        r.stderr.contains("bad.toml:19:") && r.stderr.contains("\"attic\""),
        "{}",
        r.stderr
    );
    assert!(!testkit::has_journal(&data), "nothing was planned");

    // The estimate encodes nothing and counts the records.
    let est = testkit::bitflix!(&data).json().ok(&[
        "estimate",
        "--interactive",
        manifest.to_str().unwrap(),
        "--carrier",
        "op-return",
        "--kbps",
        "24",
        "--feerate",
        "1",
    ]);
    assert_eq!(est["interactive"]["clips"].as_array().unwrap().len(), 3);
    assert!(est["interactive"]["note"]
        .as_str()
        .unwrap()
        .contains("nothing was encoded"));
    let estimated_fee = est["rows"][0]["fee_sat"].as_u64().unwrap();
    // A budget in sats: the largest film whose publish, records and poster included, costs no more.
    let sats = testkit::bitflix!(&data).json().ok(&[
        "estimate",
        "--interactive",
        manifest.to_str().unwrap(),
        "--carrier",
        "op-return",
        "--budget-sats",
        "20000",
        "--feerate",
        "1",
    ]);
    let fee = sats["rows"][0]["fee_sat"].as_u64().unwrap();
    assert!((19_000..=20_000).contains(&fee), "{sats}");

    let r = publish(&manifest);
    assert!(r.success(), "{}", r.stderr);
    let out = &r.json[0];
    let id = out["content_id"].as_str().unwrap().to_string();
    let film = &out["interactive"];
    let starts: Vec<u64> = film["clips"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["start_ms"].as_u64().unwrap())
        .collect();
    assert_eq!(starts.len(), 3);
    assert_eq!(starts[0], 0);
    // 1.5 s of clip 0 at 8 fps: 12 frames; clip 1 starts one frame after its last.
    assert_eq!(starts[1], 1500, "{film}");
    assert_eq!(starts[2], 2500, "{film}");
    assert_eq!(film["branches"].as_array().unwrap().len(), 2);
    // The estimate counted a stream of the whole budget: the encode lands at most there.
    assert!(
        out["fee_sat"].as_u64().unwrap() <= estimated_fee + 50,
        "{out} vs {est}"
    );

    // Mined, served over Esplora, and indexed from there.
    let (daemon, idx, content, records) = from_chain(dir.path(), &data, &id);
    assert_eq!(content["header"]["title"], "The door");
    assert_eq!(content["header"]["media_type"], "video/x-cvpm");
    let mut tables = Vec::new();
    let mut branches = Vec::new();
    for r in records {
        match r {
            Record::Clips(c) => tables.push(c),
            Record::Branch(b) => branches.push(b),
            _ => {}
        }
    }
    tables.sort_by_key(|t| t.first_clip);
    branches.sort_by_key(|b| b.id);
    let mut table: Vec<(u64, String)> = Vec::new();
    for t in tables {
        assert_eq!(t.clip_count, 3);
        assert_eq!(
            t.first_clip as usize,
            table.len(),
            "no clip twice, none left out"
        );
        table.extend(t.clips.into_iter().map(|e| (e.start_ms, e.name)));
    }
    let names: Vec<&str> = table.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, ["hall", "door", "stairs"]);
    assert_eq!(table.iter().map(|(s, _)| *s).collect::<Vec<_>>(), starts);
    assert_eq!(branches.len(), 2);
    let (b1, b2) = (&branches[0], &branches[1]);
    assert_eq!(
        (b1.id, b1.at_segment, b1.timeout_ms, b1.default_option),
        (1, 0, 10_000, 0)
    );
    assert_eq!(b1.prompt, "Open the door?");
    let opts = |b: &cvp::Branch| -> Vec<(u32, String)> {
        b.options
            .iter()
            .map(|o| (o.next_segment, o.label.clone()))
            .collect()
    };
    assert_eq!(opts(b1), [(1, "Yes".to_string()), (2, "No".to_string())]);
    assert_eq!(
        (b2.id, b2.at_segment, b2.timeout_ms, b2.default_option),
        (2, 1, 5_000, 1)
    );
    assert_eq!(opts(b2), [(0, "Back".to_string()), (2, "On".to_string())]);

    // The stream on chain is the one encoded, and each clip starts a fragment.
    let webm = dir.path().join("film.webm");
    testkit::bitflix!(&idx).ok(&["extract", &id, "-o", webm.to_str().unwrap()]);
    let kept = std::fs::read(film["stream"].as_str().unwrap()).unwrap();
    let stream = media::format::Stream::decode(&kept).unwrap();
    assert_eq!(
        std::fs::read(&webm).unwrap(),
        media::webm::file(&stream).unwrap()
    );
    let fragments: Vec<u64> = media::webm::fragments(&stream, true)
        .unwrap()
        .iter()
        .map(|f| f.start_ms)
        .collect();
    for s in &starts {
        assert!(fragments.contains(s), "{s} in {fragments:?}");
    }
    drop(daemon);
}

/// A publish stopped after its journal (the funding exported as a PSBT) and resumed with the
/// signature puts the clip table and the branch record on chain: the journal keeps them.
#[test]
fn an_interactive_publish_resumed_from_its_journal_keeps_its_records() {
    if !testkit::have_ffmpeg() {
        return;
    }
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    source(dir.path());
    let manifest = dir.path().join("two.toml");
    std::fs::write(
        &manifest,
        "[[clip]]\nname = \"a\"\ninput = \"src.mp4\"\nduration = 1\n\
         [[clip]]\nname = \"b\"\ninput = \"src.mp4\"\nfrom = 3\nduration = 1\n\
         [[decision]]\nafter = \"a\"\nprompt = \"Which way?\"\n\
         options = [ { label = \"Left\", next = \"b\" }, { label = \"Right\", next = \"b\" } ]\n",
    )
    .unwrap();
    let chain = format!("devnet:{}", data.join("devnet").display());
    let bitflix = testkit::bitflix!(&data).json();
    let psbt = dir.path().join("funding.psbt");
    let planned = bitflix.ok(&[
        "publish",
        "--interactive",
        manifest.to_str().unwrap(),
        "--title",
        "Two ways",
        "--carrier",
        "op-return",
        "--chain",
        &chain,
        "--width",
        "160",
        "--fps",
        "8",
        "--cpu-used",
        "8",
        "--no-audio",
        "--poster",
        "none",
        "--psbt",
        psbt.to_str().unwrap(),
    ]);
    let planned = &planned[0];
    assert_eq!(planned["sent"], 0, "nothing broadcast before the signature");
    assert_eq!(planned["interactive"]["records"], 2, "{planned}");
    let signed = dir.path().join("funding.signed.psbt");
    bitflix.ok(&[
        "wallet",
        "sign-psbt",
        psbt.to_str().unwrap(),
        "--out",
        signed.to_str().unwrap(),
    ]);
    let done = bitflix.ok(&[
        "publish",
        "--resume",
        "--psbt-signed",
        signed.to_str().unwrap(),
        "--chain",
        &chain,
    ]);
    assert_eq!(done[0]["transactions"], done[0]["sent"], "{done}");
    let id = planned["content_id"].as_str().unwrap();
    let (_daemon, _, content, records) = from_chain(dir.path(), &data, id);
    assert_eq!(content["header"]["title"], "Two ways");
    let tables: Vec<&cvp::Clips> = records
        .iter()
        .filter_map(|r| match r {
            Record::Clips(c) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(tables.len(), 1);
    let names: Vec<&str> = tables[0].clips.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(tables[0].clips[1].start_ms, 1000);
    let branches: Vec<&cvp::Branch> = records
        .iter()
        .filter_map(|r| match r {
            Record::Branch(b) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(branches.len(), 1);
    assert_eq!(branches[0].prompt, "Which way?");
    assert_eq!(branches[0].options.len(), 2);
}
