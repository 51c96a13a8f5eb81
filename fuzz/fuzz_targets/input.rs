//! How a fuzz input becomes an edit: the first byte picks the edit, the rest
//! is the config text.

use kvgen::config::KvBinding;

use crate::promise::Op;

pub const ID: &str = "c0ffee00c0ffee00c0ffee00c0ffee00";
pub const PREVIEW_ID: &str = "beef0000beef0000beef0000beef0000";

/// Bit 0: top level or `env.staging`; bits 1-2: a binding without ids, with
/// ids, with ids and `--force`, or a cron trigger; bit 3: the binding `KV`
/// or `CACHE` (the name the fixtures use).
pub fn decode(data: &[u8]) -> Option<(Option<&'static str>, Op, &str)> {
    let (&first, rest) = data.split_first()?;
    let text = std::str::from_utf8(rest).ok()?;
    let env = (first & 1 == 1).then_some("staging");
    let binding = if first & 8 == 0 { "KV" } else { "CACHE" };
    let with_ids = KvBinding {
        binding: binding.to_string(),
        id: Some(ID.to_string()),
        preview_id: Some(PREVIEW_ID.to_string()),
    };
    let op = match (first >> 1) & 3 {
        0 => Op::Binding {
            want: KvBinding::new(binding),
            force: false,
        },
        1 => Op::Binding {
            want: with_ids,
            force: false,
        },
        2 => Op::Binding {
            want: with_ids,
            force: true,
        },
        _ => Op::Cron("*/5 * * * *".to_string()),
    };
    Some((env, op, text))
}
