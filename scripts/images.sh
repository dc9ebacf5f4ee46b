#!/usr/bin/env bash
# Builds the example module images (modules/*/ that hold a Dockerfile) with no registry:
# - a busybox module's image is FROM scratch with Debian's static busybox (package
#   busybox-static) and the module's scripts;
# - an ML module's Dockerfile starts with `ARG BASE` / `FROM ${BASE}`: it is built over the ML
#   base (Python, PyTorch, NumPy, scikit-learn from Debian's packages) that scripts/ml-image.sh
#   builds once and caches, with the module's programs in /app.
# The tag is the `image` of the module.json beside the Dockerfile. Each build prints its time.
# Usage: bash scripts/images.sh [--busybox] [module | folder...]
#   module: a folder name under modules/; folder: any path holding module.json and a Dockerfile
#   (a Dockerfile that is neither busybox-style nor ML-style is built with the folder as context);
#   --busybox: only the busybox modules (what the executor's tests need, without the ML base).
set -euo pipefail
cwd="$(pwd)"
cd "$(dirname "$0")/.."
BUSYBOX="${BUSYBOX:-/bin/busybox}"
docker info >/dev/null 2>&1 || { echo "Docker is not reachable: start dockerd (bash scripts/setup-docker.sh)" >&2; exit 1; }

only_busybox=0
if [ "${1:-}" = "--busybox" ]; then only_busybox=1; shift; fi
dir_of () { case "$1" in */*|.*) (cd "$cwd" && cd "$1" && pwd) ;; *) echo "modules/$1" ;; esac; }
is_ml () { grep -q '^FROM \${BASE}' "$1/Dockerfile"; }
is_busybox () { grep -q '^COPY bin/ /bin/' "$1/Dockerfile" && grep -q '^FROM scratch' "$1/Dockerfile"; }

modules=("$@")
if [ ${#modules[@]} -eq 0 ]; then
  for d in modules/*/; do
    m="$(basename "$d")"
    [ -f "$d/Dockerfile" ] || continue
    if [ $only_busybox -eq 1 ] && is_ml "modules/$m"; then continue; fi
    modules+=("$m")
  done
fi

ctx_root="$(mktemp -d)"
trap 'rm -rf "$ctx_root"' EXIT
base=""
for m in "${modules[@]}"; do
  dir="$(dir_of "$m")"
  m="$(basename "$dir")"
  [ -f "$dir/Dockerfile" ] || { echo "no $dir/Dockerfile ($m runs an image built from another folder)" >&2; exit 1; }
  # LILYNODE_IMAGE names the tag of a folder without module.json (a Lilypad module's)
  if [ -n "${LILYNODE_IMAGE:-}" ]; then image="$LILYNODE_IMAGE"; else
    [ -f "$dir/module.json" ] || { echo "no $dir/module.json" >&2; exit 1; }
    image="$(sed -n 's/^ *"image": *"\([^"@]*\).*/\1/p' "$dir/module.json" | head -n 1)"
  fi
  [ -n "$image" ] || { echo "$dir/module.json has no image" >&2; exit 1; }
  t0=$(date +%s%N)
  ctx="$ctx_root/$m"
  mkdir -p "$ctx/app"
  args=()
  over=""
  if is_ml "$dir"; then
    [ -n "$base" ] || base="$(bash scripts/ml-image.sh | tail -n 1)"
    args+=(--build-arg "BASE=$base")
    over=" over $base"
  elif ! is_busybox "$dir"; then
    # any other Dockerfile: the folder itself is the context
    DOCKER_BUILDKIT=0 docker build -q -f "$dir/Dockerfile" -t "$image" "$dir" >/dev/null 2>"$ctx_root/err" \
      || { cat "$ctx_root/err" >&2; echo "building $image failed" >&2; exit 1; }
    echo "built $image ($(docker image inspect -f '{{.Id}}' "$image")) in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
    continue
  else
    "$BUSYBOX" --list >/dev/null 2>&1 || { echo "no static busybox at $BUSYBOX: apt-get install busybox-static (or bash scripts/setup-docker.sh)" >&2; exit 1; }
    mkdir -p "$ctx/bin"
    cp "$BUSYBOX" "$ctx/bin/busybox"
    for applet in $("$BUSYBOX" --list); do
      [ "$applet" = busybox ] || ln -s busybox "$ctx/bin/$applet"
    done
  fi
  find "$dir" -maxdepth 1 -type f ! -name module.json ! -name Dockerfile ! -name '*.md' ! -name module.image ! -name lilypad_module.json.tmpl -exec cp {} "$ctx/app/" \;
  chmod 0755 "$ctx/app/"*
  # Fixed mtimes keep the layers' content identical from build to build.
  find "$ctx" -exec touch -h -d '@0' {} +
  DOCKER_BUILDKIT=0 docker build -q "${args[@]}" -f "$dir/Dockerfile" -t "$image" "$ctx" >/dev/null 2>"$ctx_root/err" \
    || { cat "$ctx_root/err" >&2; echo "building $image failed" >&2; exit 1; }
  echo "built $image ($(docker image inspect -f '{{.Id}}' "$image")) in $(( ($(date +%s%N) - t0) / 1000000 )) ms$over"
done
