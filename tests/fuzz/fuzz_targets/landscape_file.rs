//! Fuzz the landscape-file parser and the settings validator: any bytes
//! must give a parsed file or an error message, never a panic, hang or
//! abort; a file the validator accepts must survive a write and re-read
//! unchanged (the run record `landscape.resolved.toml` relies on it).
#![no_main]

use greenhalo::config::LandscapeConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(cfg) = LandscapeConfig::parse(text) else {
        return;
    };
    let problems = cfg.check();
    for p in &problems {
        // Every problem names a key.
        assert!(!p.key.is_empty(), "{p:?}");
        let _ = p.to_string();
    }
    if problems.is_empty() {
        let written = toml::to_string(&cfg).expect("a valid file serialises");
        let again = LandscapeConfig::parse(&written).expect("and parses again");
        assert_eq!(again, cfg, "round trip of\n{written}");
    }
});
