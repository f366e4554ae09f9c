#!/usr/bin/env bash
# build-progress.sh NAME DIR GO-BUILD-ARGS...: go build in DIR (a module
# outside go.work), printing a line now and then instead of nothing: the
# first build of daprd downloads about 2 GB of modules and compiles some
# 2,000 packages, ten minutes in which a silent terminal looks stuck.
set -euo pipefail
name=$1 dir=$2
shift 2
cd "$dir"
export GOWORK=off
SECONDS=0

# go build -v names each package it compiles, and go each module it
# downloads: both are counted, anything else (the compiler's messages) is
# printed as it comes.
go build -v "$@" 2>&1 | {
  modules=0 packages=0
  while IFS= read -r line; do
    case $line in
      "go: downloading "*) modules=$((modules + 1)); (( modules % 50 )) || echo "$name: $modules modules downloaded (${SECONDS}s)";;
      *" "*|"#"*) echo "$line";;
      *) packages=$((packages + 1)); (( packages % 200 )) || echo "$name: $packages packages compiled (${SECONDS}s)";;
    esac
  done
  echo "$name: $modules modules downloaded, $packages packages compiled (${SECONDS}s)"
}
