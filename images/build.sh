#!/usr/bin/env bash
# `make images`: the base image (images/base.sh), then one image per connector from its
# connectors/<folder>/Dockerfile, tagged as its metadata.yaml says (dockerRepository:dockerImageTag).
# The wheels of the project and of every dependency are made here, with this machine's package
# index, so the build itself needs no network; `--network host` all the same, because the default
# bridge hands out private-range addresses no build here may use.
set -euo pipefail
cd "$(dirname "$0")/.."
PIP="${PIP:-.venv/bin/pip}"
bash images/base.sh
context="build/images"
rm -rf "$context" && mkdir -p "$context/wheels"
"$PIP" wheel --quiet --wheel-dir "$context/wheels" .
for folder in fxiaoke files bank kingdee; do
  meta="connectors/$folder/metadata.yaml"
  repo="$(sed -n 's/^  dockerRepository: //p' "$meta")"
  tag="$(sed -n 's/^  dockerImageTag: //p' "$meta")"
  docker build --network host --quiet -f "connectors/$folder/Dockerfile" -t "$repo:$tag" "$context" >/dev/null
  size="$(docker image inspect --format '{{.Size}}' "$repo:$tag")"
  echo "built $repo:$tag ($((size / 1000000)) MB)"
done
