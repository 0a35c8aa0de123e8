//! The whole config path: TOML text to a validated [`Config`], or every error located.

use palisade_pipeline::config::Config;
use std::path::Path;

/// Where the text is said to come from. Nothing is created there: relative paths (plugins,
/// state, secret files) name files that do not exist, so the config's checks answer with
/// errors instead of reading anything.
const FILE: &str = "/nonexistent/palisade-fuzz/palisade.toml";

/// TOML text to a config or its errors: never a panic, and a refusal always says something.
pub fn config_toml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Config::parse(Path::new(FILE), text) {
        Ok(config) => {
            assert!(
                config.concurrency > 0,
                "a config runs at least one alert at a time"
            );
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a refused config names at least one error");
            for error in &errors.0 {
                assert!(
                    !error.message.is_empty(),
                    "an error says what is wrong: {error:?}"
                );
                // Lines count from 1 within the text (0: no position); a column from 1.
                let lines = text.split('\n').count();
                assert!(error.line <= lines, "{error} is past the last line ({lines})");
                assert!(error.line == 0 || error.column >= 1, "{error} has column 0");
            }
            let _ = errors.to_string();
        }
    }
}
