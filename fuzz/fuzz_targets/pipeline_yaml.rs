//! Any text as a pipeline file, plus one `--set` override: loading returns Ok or Err, never panics.
//!
//! The input is split at its first NUL byte: the part before is the YAML, the part after (if
//! any) is passed as a single `--set` override, so `apply_override` is fuzzed too.
#![no_main]

use deepprune::config::PipelineConfig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (yaml, overrides) = match text.split_once('\0') {
        Some((yaml, set)) => (yaml, vec![set.to_string()]),
        None => (text, Vec::new()),
    };
    match PipelineConfig::from_yaml(yaml, "fuzz.yaml", &overrides) {
        Ok(config) => {
            // A config that loads is valid by construction.
            assert!(config.validate().is_empty(), "from_yaml returned a config that fails validate()");
        }
        Err(e) => {
            assert_eq!(e.file, "fuzz.yaml");
            assert!(!e.errors.is_empty(), "ConfigError with no error lines");
            let _ = e.to_string();
        }
    }
});
