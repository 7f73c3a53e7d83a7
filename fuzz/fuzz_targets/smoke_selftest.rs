//! Not a target of BitFlix's code: findings made on purpose, so that `scripts/fuzz-smoke.sh`'s
//! failure path can itself be checked. `FUZZ_SMOKE_PROVE=crash|oom|timeout|leak` makes the script
//! run only this target, on one input starting with that word, and the script must then fail. Any
//! other input does nothing, and the script's normal run leaves this target out.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"crash") {
        panic!("fuzz-smoke self-test: a crash on purpose");
    }
    if data.starts_with(b"oom") {
        // Above the script's -rss_limit_mb (which is also libFuzzer's malloc limit).
        let v = vec![1u8; 3 << 30];
        std::hint::black_box(&v);
    }
    if data.starts_with(b"timeout") {
        loop {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    if data.starts_with(b"leak") {
        std::mem::forget(std::hint::black_box(vec![7u8; 4096]));
    }
});
