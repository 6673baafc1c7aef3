// Check that tokenizer.json / tokenizer_config.json load in the pure-JS
// @huggingface/tokenizers (0.2.x) and encode text to its UTF-8 byte values,
// with <|endoftext|> -> 256, and that decode round-trips.
// Run from a folder where @huggingface/tokenizers is installed:
//   node check_tokenizer.mjs MODEL_DIR [TEXT_FILE]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

// resolve the package from the current directory, not from this file's folder
const require = createRequire(`${process.cwd()}/`);
const entry = require.resolve("@huggingface/tokenizers"); // .../@huggingface/tokenizers/dist/tokenizers.cjs
const { Tokenizer } = require(entry);
const version = JSON.parse(readFileSync(join(dirname(dirname(entry)), "package.json"), "utf8")).version;
console.log(`@huggingface/tokenizers ${version}`);

const dir = process.argv[2];
const tj = JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8"));
const tc = JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8"));
const tok = new Tokenizer(tj, tc);
let ok = true;
function check(name, got, want) {
  const pass = JSON.stringify(got) === JSON.stringify(want);
  ok &&= pass;
  const shown = JSON.stringify(got);
  console.log(`${pass ? "PASS" : "FAIL"} ${name}: ${shown.length > 200 ? shown.slice(0, 200) + "..." : shown}` +
    (pass ? "" : ` (want ${JSON.stringify(want)})`));
}
const utf8 = (s) => [...Buffer.from(s, "utf8")];

const s1 = "Hello, world! é";
const e1 = tok.encode(s1);
check(`encode ${JSON.stringify(s1)} = UTF-8 bytes`, e1.ids, utf8(s1));
check("decode round trip", tok.decode(e1.ids), s1);
const e2 = tok.encode("<|endoftext|>Hi");
check('encode "<|endoftext|>Hi"', e2.ids, [256, 72, 105]);
check("decode [256, 72, 105]", tok.decode(e2.ids), "<|endoftext|>Hi");
check("decode with skip_special_tokens", tok.decode(e2.ids, { skip_special_tokens: true }), "Hi");
const s3 = "  Two  spaces,\n\ttab; £5 — “quotes” 日本語 🙂 end\n\n";
const e3 = tok.encode(s3);
check("encode mixed text = UTF-8 bytes", e3.ids, utf8(s3));
check("decode mixed text round trip", tok.decode(e3.ids), s3);
const bytes = [...Array(256).keys()];
check("token_to_id(id_to_token(b)) = b for all 256 bytes", bytes.map((b) => tok.token_to_id(tok.id_to_token(b))), bytes);
check("token_to_id(<|endoftext|>)", tok.token_to_id("<|endoftext|>"), 256);
check("encode the 128 ASCII characters", tok.encode(String.fromCharCode(...bytes.slice(0, 128))).ids, bytes.slice(0, 128));
check("vocabulary size with added tokens", tok.get_vocab(true).size, 257);
if (process.argv[3]) {
  const text = readFileSync(process.argv[3], "utf8").replaceAll("<|endoftext|>", "");
  const ids = tok.encode(text).ids;
  check(`encode ${process.argv[3]} (${ids.length} ids) = UTF-8 bytes`, Buffer.compare(Buffer.from(ids), Buffer.from(text, "utf8")) === 0 && ids.length === Buffer.byteLength(text), true);
  check(`decode ${process.argv[3]} round trip`, tok.decode(ids) === text, true);
}
console.log(ok ? "ALL PASS" : "SOME FAILED");
process.exit(ok ? 0 : 1);
