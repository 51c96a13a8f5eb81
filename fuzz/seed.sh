#!/bin/sh
# Seeds the fuzz corpora with the real configs of tests/fixtures/corpus and the
# hand-made fixtures of tests/fixtures/configs, each under every edit (the
# first byte of an input picks the edit: see fuzz_targets/input.rs).
set -eu
cd "$(dirname "$0")"
for target in toml_editor jsonc_editor; do
    mkdir -p "corpus/$target"
done
for file in ../tests/fixtures/corpus/*.* ../tests/fixtures/corpus/invalid/*.* ../tests/fixtures/configs/*.*; do
    case "$file" in
        *.toml) target=toml_editor ;;
        *.json|*.jsonc) target=jsonc_editor ;;
        *) continue ;;
    esac
    name=$(basename "$file")
    for op in 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15; do
        { printf "\\$(printf %03o "$op")"; cat "$file"; } > "corpus/$target/$name-$op"
    done
done
