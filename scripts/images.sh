#!/usr/bin/env bash
# Builds the example module images (modules/*/) with no registry: each image is FROM scratch
# with Debian's static busybox (package busybox-static) and the module's scripts. The tag is
# the module spec's `image` field. Usage: bash scripts/images.sh [module...]
set -euo pipefail
cd "$(dirname "$0")/.."
BUSYBOX="${BUSYBOX:-/bin/busybox}"
"$BUSYBOX" --list >/dev/null 2>&1 || { echo "no static busybox at $BUSYBOX: apt-get install busybox-static (or bash scripts/setup-docker.sh)" >&2; exit 1; }
docker info >/dev/null 2>&1 || { echo "Docker is not reachable: start dockerd (bash scripts/setup-docker.sh)" >&2; exit 1; }

modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
  for d in modules/*/; do [ -f "$d/Dockerfile" ] && modules+=("$(basename "$d")"); done
fi

ctx_root="$(mktemp -d)"
trap 'rm -rf "$ctx_root"' EXIT
for m in "${modules[@]}"; do
  dir="modules/$m"
  [ -f "$dir/module.json" ] || { echo "no $dir/module.json" >&2; exit 1; }
  image="$(sed -n 's/^ *"image": *"\([^"@]*\).*/\1/p' "$dir/module.json" | head -n 1)"
  [ -n "$image" ] || { echo "$dir/module.json has no image" >&2; exit 1; }
  ctx="$ctx_root/$m"
  mkdir -p "$ctx/bin" "$ctx/app"
  cp "$BUSYBOX" "$ctx/bin/busybox"
  for applet in $("$BUSYBOX" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$ctx/bin/$applet"
  done
  find "$dir" -maxdepth 1 -type f ! -name module.json ! -name Dockerfile -exec cp {} "$ctx/app/" \;
  chmod 0755 "$ctx/app/"*
  # Fixed mtimes keep the layers' content identical from build to build.
  find "$ctx" -exec touch -h -d '@0' {} +
  DOCKER_BUILDKIT=0 docker build -q -f "$dir/Dockerfile" -t "$image" "$ctx" >/dev/null 2>"$ctx_root/err" \
    || { cat "$ctx_root/err" >&2; echo "building $image failed" >&2; exit 1; }
  echo "built $image ($(docker image inspect -f '{{.Id}}' "$image"))"
done
