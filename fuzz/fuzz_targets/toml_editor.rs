//! The TOML editor keeps the promise on any input: it refuses, or its edit
//! checks out (see tests/config_edits/promise.rs).

#![no_main]

use kvgen::config::Format;
use libfuzzer_sys::fuzz_target;

#[path = "../../tests/config_edits/promise.rs"]
mod promise;
mod input;

fuzz_target!(|data: &[u8]| {
    let Some((env, op, text)) = input::decode(data) else {
        return;
    };
    if let Err(broken) = promise::check(Format::Toml, text, env, &op) {
        panic!("{broken}\nenv {env:?}, {op:?}\ninput {text:?}");
    }
});
