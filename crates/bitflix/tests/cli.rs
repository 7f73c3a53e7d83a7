//! The binary as scripts use it: `--json` outputs deserialize, errors are clear and exit 1.
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

#[test]
fn estimate_table_is_honest_json() {
    let testkit::Run { code, json: v, .. } =
        testkit::bitflix!().run(&["estimate", "--table", "--json"]);
    assert_eq!(code, 0);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 9, "three films x three carriers");
    for r in rows {
        assert!(
            r["vbytes"].as_u64().unwrap() >= r["payload_bytes"].as_u64().unwrap() / 4,
            "never below the witness discount"
        );
        assert!(r["fee_sat"].as_u64().unwrap() > 0);
    }
    assert!(v["announced"].as_str().unwrap().contains("2^608"));
    // The 2-hour film behind a commitment: one small transaction, at 1 sat/vB its vsize in sats,
    // far below any carrier's row for the same film, and the note says what holds the bytes.
    let c = &v["commitment"];
    assert_eq!(c["content_bytes"], 18_000_000, "{c}");
    assert!(c["unit_bytes"].as_u64().unwrap() <= 80, "{c}");
    assert_eq!(c["fee_sat"], c["vbytes"], "{c}");
    let cheapest = rows
        .iter()
        .filter(|r| r["what"] == "2-hour film, 12+8 kbit/s")
        .map(|r| r["fee_sat"].as_u64().unwrap())
        .min()
        .unwrap();
    assert!(
        c["fee_sat"].as_u64().unwrap() * 1000 < cheapest,
        "{c} vs {cheapest}"
    );
    assert!(
        c["note"].as_str().unwrap().contains("BitTorrent stores"),
        "{c}"
    );
}

#[test]
fn estimate_refuses_bad_input_clearly() {
    let testkit::Run {
        code, stderr: err, ..
    } = testkit::bitflix!().run(&[
        "estimate",
        "--duration",
        "2h",
        "--kbps",
        "15",
        "--feerate",
        "0.01",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("minimum relay fee"), "{err}");
    let testkit::Run {
        code, stderr: err, ..
    } = testkit::bitflix!().run(&["estimate", "--duration", "2x", "--kbps", "15"]);
    assert_eq!(code, 2, "clap usage errors exit 2");
    assert!(err.contains("unit must be h, m or s"), "{err}");
    let testkit::Run {
        code, stderr: err, ..
    } = testkit::bitflix!().run(&["publish", "--chain", "esplora:http://127.0.0.1:9", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("reaching the Esplora server"), "{err}");
    let testkit::Run {
        code, stderr: err, ..
    } = testkit::bitflix!().run(&["publish", "--chain", "core:http://127.0.0.1:9", "x"]);
    assert_eq!(code, 1);
    assert!(err.contains("reaching Bitcoin Core"), "{err}");
}

#[cfg(feature = "devnet")]
#[test]
fn demo_publishes_reads_back_and_reuses() {
    let dir = testkit::tempdir();
    let d = dir.path().to_str().unwrap();
    let testkit::Run {
        code,
        json: first,
        stderr: err,
        ..
    } = testkit::bitflix!().run(&[
        "demo",
        "--datadir",
        d,
        "--no-serve",
        "--json",
        "--carrier",
        "op-return",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(first["published_now"], true);
    let encoded = std::fs::metadata(dir.path().join("bigbuckbunny.cvpm"))
        .unwrap()
        .len();
    assert_eq!(
        first["verified_bytes"], encoded,
        "the whole encoded film is read back"
    );
    assert!(
        encoded < 60_000,
        "about 32 kbit/s for 5.3 s: {encoded} bytes"
    );
    let poster = first["poster_bytes"].as_u64().unwrap();
    assert!(
        (1..=3_000).contains(&poster),
        "the film has a poster within the default budget, read back from its header: {poster}"
    );
    // The interactive film from the same clip: four clips, read back whole.
    let film = &first["interactive"];
    assert_eq!(film["published_now"], true, "{film}");
    assert_eq!(
        film["clips"],
        serde_json::json!(["meadow", "bunny", "flower", "end"])
    );
    let kept = std::fs::metadata(dir.path().join("interactive/bunny-paths.cvpm"))
        .unwrap()
        .len();
    assert_eq!(film["verified_bytes"], kept, "{film}");
    let id = film["content_id"].as_str().unwrap();
    assert_ne!(id, first["content_id"].as_str().unwrap());
    assert!(film["watch_url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/watch/{id}")));
    let testkit::Run {
        code,
        json: second,
        stderr: err,
        ..
    } = testkit::bitflix!().run(&["demo", "--datadir", d, "--no-serve", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        second["published_now"], false,
        "a second run reuses the film"
    );
    assert_eq!(second["content_id"], first["content_id"]);
    assert_eq!(second["poster_bytes"], poster);
    assert_eq!(second["interactive"]["published_now"], false);
    assert_eq!(second["interactive"]["content_id"], id);
    let testkit::Run {
        code,
        json: w,
        stderr: err,
        ..
    } = testkit::bitflix!().run(&[
        "--datadir",
        d,
        "wallet",
        "balance",
        "--chain",
        &format!("devnet:{d}/devnet"),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        w["address"].as_str().unwrap().starts_with("bcrt1p"),
        "a regtest taproot address"
    );
    assert!(
        w["confirmed_sat"].as_u64().unwrap() > 0,
        "the demo left change with the publisher"
    );
    assert!(
        w.get("mnemonic").is_none(),
        "the mnemonic is never printed except by backup"
    );
    let key = dir.path().join("wallet.mnemonic");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&key).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "the mnemonic file is private");
}

/// Built without the devnet (`--no-default-features`), what needs it says which feature it lacks.
#[cfg(not(feature = "devnet"))]
#[test]
fn without_the_devnet_feature_its_commands_name_the_feature() {
    let dir = testkit::tempdir();
    let bitflix = testkit::bitflix!(dir.path());
    for args in [
        &["devnet", "--listen", "127.0.0.1:0"][..],
        &["demo", "--no-serve"],
        &["index", "--chain", "devnet:chain"],
        &["publish", "film.cvpm", "--chain", "devnet:chain"],
        &[
            "wallet",
            "fund",
            "--btc",
            "1",
            "--chain",
            "esplora:http://127.0.0.1:9",
        ],
    ] {
        let r = bitflix.run(args);
        assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("built without it") && r.stderr.contains("`devnet` cargo feature"),
            "{args:?}: {}",
            r.stderr
        );
    }
}
