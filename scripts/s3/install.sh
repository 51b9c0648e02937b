#!/usr/bin/env bash
# Makes the S3-protocol server the media tests and the demo start available: s3s-fs (an S3
# server over a directory, from crates.io), pinned, built with its own lock file into .tools/
# of the repository. Installed only when missing; the build takes a few minutes once.
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=0.14.1
root=$PWD/.tools/s3s-fs-$VERSION
bin=$root/bin/s3s-fs
if [[ -x $bin ]]; then
  exit 0
fi
command -v cargo >/dev/null 2>&1 || { echo "scripts/s3/install.sh: cargo is needed to build s3s-fs" >&2; exit 1; }
echo "== installing s3s-fs $VERSION into .tools/ (the media tests copy into a real S3 server)"
# A target directory of its own (not the project's, whatever CARGO_TARGET_DIR says), removed
# after the build.
unset CARGO_TARGET_DIR
cargo install s3s-fs --version "=$VERSION" --locked --features binary --root "$root" --quiet
[[ -x $bin ]]
