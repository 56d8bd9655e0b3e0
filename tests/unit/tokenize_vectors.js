// tokenize_vectors.js: prints test_tokenize.c's vectors (counts, then splits) from the npm
// package tiktoken (OpenAI's tokenizer in WASM).  Once, by hand, when the texts change:
//   npm pack tiktoken@1.0.22 && tar xzf tiktoken-1.0.22.tgz && node tokenize_vectors.js
// (run where package/ was extracted).  The splits use the patterns' JavaScript spelling:
// (?i:'s|...) written out, which JavaScript lacks.
const texts = ["hello world",
 "Hello, World!",
 "The quick brown fox jumps over the lazy dog.",
 "I'm sure they'll say it's fine; we've done THAT'S and DON'T before.",
 "HELLOworld helloWORLD CamelCaseIdentifier snake_case_name",
 "1234567890 3.14159 2026-12-06 +49 (0)30 1234",
 "    indented code\n\tif (x) {\n\t\treturn y;\n\t}\n\n\n",
 "line one\r\nline two\r\n\r\n  trailing spaces   ",
 "a  b   c    d\n \n  \nend",
 "https://example.com/path/to/file.html?q=1&r=two#frag",
 "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
 "Ünïcödé façade naïve café résumé Straße",
 "Привет, как дела? Всё хорошо.",
 "Γειά σου Κόσμε",
 "日本語のテキストです。東京は大きい都市です。",
 "中文文本测试，包括标点符号！",
 "한국어 문장입니다.",
 "emoji 😀🎉👍🏽 and symbols ©®™ → ← ≤ ≥ ∞",
 "mock reply word1 word2 word3 word4 word5 word6 word7 word8 word9 word10",
 "def f(a, b):\n    return a ** 2 + b // 3  # comment\n",
 "!!!??? ... --- *** ///\n",
 "x",
 "",
 " ",
 "\n",
 "العربية نص تجريبي",
 "क्या हाल है",
 "ok'S 'd 'LL 'Re he's",
 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
 "The Project Gutenberg eBook of Pride and Prejudice. It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
 "tell me a story",
 "be terse",
 "user",
 "system",
 "assistant"
];
const { get_encoding } = require(process.cwd() + "/package/tiktoken.cjs");
const o = get_encoding("o200k_base"), c = get_encoding("cl100k_base");
const td = new TextDecoder();
function cstr(s) {
  const b = Buffer.from(s, "utf8"); let out = '"';
  for (const x of b) {
    if (x === 0x22) out += '\\"'; else if (x === 0x5c) out += '\\\\';
    else if (x === 0x0a) out += '\\n'; else if (x === 0x0d) out += '\\r'; else if (x === 0x09) out += '\\t';
    else if (x >= 0x20 && x < 0x7f) out += String.fromCharCode(x);
    else out += '\\x' + x.toString(16).padStart(2, '0') + '""';
  }
  return out + '"';
}
const lines = texts.map(t => `\t{${cstr(t)}, ${o.encode_ordinary(t).length}, ${c.encode_ordinary(t).length}},`);
console.log(lines.join("\n"));
// pieces: the split of each text, as tiktoken's tokens decoded per piece is not available; use JS regex
const pat_o = /[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
const pat_c = /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
console.log("----");
for (const t of texts) {
  console.log(`\t{${cstr(t)}, ${cstr(t.match(pat_o)?.join("|") ?? "")}, ${cstr(t.match(pat_c)?.join("|") ?? "")}},`);
}
