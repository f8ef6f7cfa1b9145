#!/usr/bin/env bash
# Compiles src/ to dist/ for bin/tidegate.js. Builds beside dist/ and swaps it in, so a tidegate
# starting meanwhile finds either the whole old build or the whole new one (or none: then it uses tsx).
# The stamp, written last, tells bin/tidegate.js the build is complete and newer than src/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf dist.new
node_modules/.bin/tsc -p tsconfig.build.json --outDir dist.new
cp src/adapters/git/credential-helper.cjs dist.new/adapters/git/
touch dist.new/.build-stamp
rm -rf dist
mv dist.new dist
