#!/usr/bin/env bash
# The base image of every connector image, made from Debian's packages: no image registry is
# reachable from the machines this project is built on, so nothing is pulled. debootstrap
# bookworm (minbase) with python3, python3-venv and the CA certificates, then `docker import`.
# Skipped when the image exists (remove it with `docker rmi crmsync/python-base:bookworm`).
set -euo pipefail
IMAGE="${BASE_IMAGE:-crmsync/python-base:bookworm}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "base image $IMAGE exists"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap is missing: apt-get install debootstrap" >&2; exit 2; }
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$MIRROR"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
  --change 'CMD ["python3"]' \
  - "$IMAGE"
echo "built $IMAGE"
