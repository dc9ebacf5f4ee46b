#!/usr/bin/env bash
# Builds the example module images (modules/*/ that hold a Dockerfile) with no registry:
# - a busybox module's image is FROM scratch with Debian's static busybox (package
#   busybox-static) and the module's scripts;
# - an ML module's Dockerfile starts with `ARG BASE` / `FROM ${BASE}`: it is built over the ML
#   base (Python, PyTorch, NumPy, scikit-learn from Debian's packages) that scripts/ml-image.sh
#   builds once and caches, with the module's programs in /app.
# The tag is the `image` of the module.json beside the Dockerfile. Each build prints its time.
# Usage: bash scripts/images.sh [--busybox] [module...]   (--busybox: only the busybox modules)
set -euo pipefail
cd "$(dirname "$0")/.."
BUSYBOX="${BUSYBOX:-/bin/busybox}"
docker info >/dev/null 2>&1 || { echo "Docker is not reachable: start dockerd (bash scripts/setup-docker.sh)" >&2; exit 1; }

only_busybox=0
if [ "${1:-}" = "--busybox" ]; then only_busybox=1; shift; fi
is_ml () { grep -q '^FROM \${BASE}' "modules/$1/Dockerfile"; }

modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
  for d in modules/*/; do
    m="$(basename "$d")"
    [ -f "$d/Dockerfile" ] || continue
    if [ $only_busybox -eq 1 ] && is_ml "$m"; then continue; fi
    modules+=("$m")
  done
fi

ctx_root="$(mktemp -d)"
trap 'rm -rf "$ctx_root"' EXIT
base=""
for m in "${modules[@]}"; do
  dir="modules/$m"
  [ -f "$dir/module.json" ] || { echo "no $dir/module.json" >&2; exit 1; }
  [ -f "$dir/Dockerfile" ] || { echo "no $dir/Dockerfile ($m runs an image built from another folder)" >&2; exit 1; }
  image="$(sed -n 's/^ *"image": *"\([^"@]*\).*/\1/p' "$dir/module.json" | head -n 1)"
  [ -n "$image" ] || { echo "$dir/module.json has no image" >&2; exit 1; }
  t0=$(date +%s%N)
  ctx="$ctx_root/$m"
  mkdir -p "$ctx/app"
  args=()
  over=""
  if is_ml "$m"; then
    [ -n "$base" ] || base="$(bash scripts/ml-image.sh | tail -n 1)"
    args+=(--build-arg "BASE=$base")
    over=" over $base"
  else
    "$BUSYBOX" --list >/dev/null 2>&1 || { echo "no static busybox at $BUSYBOX: apt-get install busybox-static (or bash scripts/setup-docker.sh)" >&2; exit 1; }
    mkdir -p "$ctx/bin"
    cp "$BUSYBOX" "$ctx/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
      [ "$applet" = busybox ] || ln -s busybox "$ctx/bin/$applet"
    done
  fi
  find "$dir" -maxdepth 1 -type f ! -name module.json ! -name Dockerfile ! -name '*.md' -exec cp {} "$ctx/app/" \;
  chmod 0755 "$ctx/app/"*
  # Fixed mtimes keep the layers' content identical from build to build.
  find "$ctx" -exec touch -h -d '@0' {} +
  DOCKER_BUILDKIT=0 docker build -q "${args[@]}" -f "$dir/Dockerfile" -t "$image" "$ctx" >/dev/null 2>"$ctx_root/err" \
    || { cat "$ctx_root/err" >&2; echo "building $image failed" >&2; exit 1; }
  echo "built $image ($(docker image inspect -f '{{.Id}}' "$image")) in $(( ($(date +%s%N) - t0) / 1000000 )) ms$over"
done
