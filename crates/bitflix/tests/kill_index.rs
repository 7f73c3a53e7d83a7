//! kill -9 in the middle of indexing: the index resumes and ends equal to a fresh reindex.
#![cfg(feature = "devnet")]
#![allow(
    clippy::unwrap_used,
    reason = "a test fails loudly on the first unexpected error"
)]

#[test]
fn killed_index_resumes_to_the_same_catalog() {
    let dir = testkit::tempdir();
    let chain = format!("devnet:{}", dir.path().join("chain").display());
    let film = dir.path().join("film.cvpm");
    std::fs::write(
        &film,
        (0..40_000u32).map(|i| (i % 199) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    let pubdir = dir.path().join("publisher");
    testkit::bitflix!(&pubdir).ok(&[
        "publish",
        film.to_str().unwrap(),
        "--title",
        "Film",
        "--carrier",
        "op-return-80",
        "--chain",
        &chain,
    ]);

    let ixdir = dir.path().join("viewer");
    let tip = testkit::devnet::open(&dir.path().join("chain"))
        .tip()
        .height;
    let mut partial = 0;
    let mut seed = 0x1234_5678_u64;
    for _ in 0..10 {
        // Each round scans from genesis; the indexer logs each block once it is stored, and the
        // kill comes right after the log line of a randomly chosen block, so it lands mid-scan
        // whatever the machine's speed (the blocks after it are still to come).
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let target = 1 + (seed >> 33) as u32 % (tip - 5);
        let mut child = testkit::bitflix!(&ixdir)
            .command(&["index", "--chain", &chain, "--reindex"])
            .env("BITFLIX_LOG", "index=debug")
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { break };
            let height = line
                .split("height=")
                .nth(1)
                .and_then(|h| h.split_whitespace().next())
                .and_then(|h| h.parse::<u32>().ok());
            if height.is_some_and(|h| h >= target) {
                break;
            }
        }
        let _ = child.kill();
        let _ = child.wait();
        // Did this kill land mid-scan? Look at the stored cursor.
        match index::store::Store::open(&ixdir.join("index.redb")) {
            Ok(store) => {
                let cursor = store.cursor().unwrap();
                assert!(
                    cursor.is_some_and(|(h, _)| h >= target),
                    "the block logged as stored is stored: {cursor:?}, {target}"
                );
                if cursor.is_some_and(|(h, _)| h < tip) {
                    partial += 1;
                }
            }
            Err(e) => panic!("the index is unreadable after a kill: {e}"),
        }
    }
    eprintln!("kills that landed mid-scan: {partial} of 10");
    let a = testkit::bitflix!(&ixdir).ok(&["index", "--chain", &chain, "--json"]);
    let b = testkit::bitflix!(dir.path().join("fresh")).ok(&[
        "index",
        "--chain",
        &chain,
        "--json",
        "--reindex",
    ]);
    assert_eq!(
        a["contents"], b["contents"],
        "a killed and resumed index equals a fresh one"
    );
    let state = a["contents"][0]["state"].as_str().unwrap();
    assert!(
        state == "complete" || state == "verified",
        "{state}: the last transactions may wait in the mempool"
    );
    assert!(
        partial > 0,
        "no kill landed mid-scan: the test did not test anything"
    );
}
