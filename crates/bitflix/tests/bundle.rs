//! Any file and any directory (docs/cvp.md, "Bundles"), through the CLI on the devnet: a directory
//! with an entry page, a script in a subfolder and a WebAssembly file is published as one bundle,
//! indexed complete as an app, and extracted into a directory holding the same files; a single
//! file of another kind is published with the type of its extension and extracted as it was; a
//! directory without an index.html, or with a symbolic link, is refused before anything is paid.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

use std::path::Path;

fn publish(data: &Path, chain: &str, what: &Path) -> testkit::Run {
    testkit::bitflix!(data).json().run(&[
        "publish",
        what.to_str().unwrap(),
        "--carrier",
        "op-return",
        "--chain",
        chain,
        "--feerate",
        "1",
    ])
}

#[test]
fn a_directory_is_one_bundle_and_any_file_goes_as_it_is() {
    let dir = testkit::tempdir();
    let data = dir.path().join("data");
    let chain = format!("devnet:{}", data.join("devnet").display());
    let app = dir.path().join("app");
    std::fs::create_dir_all(app.join("js")).unwrap();
    std::fs::write(app.join("index.html"), b"<script src=js/game.js></script>").unwrap();
    std::fs::write(app.join("js/game.js"), b"document.title = 'game';").unwrap();
    std::fs::write(app.join("add.wasm"), b"\0asm\x01\0\0\0").unwrap();
    let doc = dir.path().join("notes.txt");
    std::fs::write(&doc, b"plain words").unwrap();

    // Refused up front: no entry page; a symbolic link.
    let bare = dir.path().join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    std::fs::write(bare.join("main.js"), b"1").unwrap();
    let r = publish(&data, &chain, &bare);
    assert!(
        !r.success() && r.stderr.contains("has no index.html"),
        "{}",
        r.stderr
    );
    std::os::unix::fs::symlink(&doc, app.join("link.txt")).unwrap();
    let r = publish(&data, &chain, &app);
    assert!(
        !r.success() && r.stderr.contains("symbolic link"),
        "{}",
        r.stderr
    );
    assert!(!testkit::has_journal(&data), "nothing was planned");
    std::fs::remove_file(app.join("link.txt")).unwrap();

    let r = publish(&data, &chain, &app);
    assert!(r.success(), "{}", r.stderr);
    let app_id = r.json[0]["content_id"].as_str().unwrap().to_string();
    let r = publish(&data, &chain, &doc);
    assert!(r.success(), "{}", r.stderr);
    let doc_id = r.json[0]["content_id"].as_str().unwrap().to_string();

    let index = testkit::bitflix!(&data)
        .json()
        .ok(&["index", "--chain", &chain]);
    let find = |id: &str| {
        index["contents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap_or_else(|| panic!("{id} is indexed: {index}"))
            .clone()
    };
    let a = find(&app_id);
    assert_eq!(a["state"], "complete", "{a}");
    assert_eq!(a["header"]["media_type"], cvp::bundle::BUNDLE_MEDIA_TYPE);
    assert_eq!(a["header"]["title"], "app");
    assert_eq!(find(&doc_id)["header"]["media_type"], "text/plain");

    let out = dir.path().join("out");
    let x = testkit::bitflix!(&data)
        .json()
        .ok(&["extract", &app_id, "-o", out.to_str().unwrap()]);
    assert_eq!(x["container"], "bundle", "{x}");
    for f in ["index.html", "js/game.js", "add.wasm"] {
        assert_eq!(
            std::fs::read(out.join(f)).unwrap(),
            std::fs::read(app.join(f)).unwrap(),
            "{f}"
        );
    }
    let back = dir.path().join("notes-back.txt");
    testkit::bitflix!(&data).ok(&["extract", &doc_id, "-o", back.to_str().unwrap()]);
    assert_eq!(std::fs::read(back).unwrap(), b"plain words");
}
