#!/usr/bin/env bash
# Builds the ML base image (Python 3 with PyTorch, NumPy and scikit-learn from Debian's own
# packages) with no registry: mmdebstrap installs the packages from the Debian archive this
# machine's apt uses into a root file system, and `docker import` turns its tar into an image.
#
# The image is cached: its tag carries a hash of the recipe (suite, packages, exclusions,
# this script's version), and a build is skipped when that tag exists. The last line printed
# is the tag (for scripts/images.sh); the build time and size go to stderr.
#
# Usage: bash scripts/ml-image.sh            (prints the tag; builds when missing)
#        bash scripts/ml-image.sh --tag      (prints the tag only, builds nothing)
# Environment: LILYNODE_ML_SUITE (default: this machine's Debian codename), LILYNODE_ML_TIMEOUT_S
# (default 1200: a build that takes longer is killed and fails).
set -euo pipefail
cd "$(dirname "$0")/.."

RECIPE_VERSION=1
# shellcheck disable=SC1091
SUITE="${LILYNODE_ML_SUITE:-$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")}"
PACKAGES=(python3-torch python3-numpy python3-sklearn)
# What no job needs: documentation, manuals, translations, C headers, the packages' own test suites.
EXCLUDES=(
  '/usr/share/doc/*' '/usr/share/man/*' '/usr/share/info/*' '/usr/share/locale/*' '/usr/share/lintian/*'
  '/usr/include/*'
)
# Removed after the install: the packages' test suites (dpkg's byte-compiling needs them there
# while it runs), the compiler and static libraries (pulled in by pythran, never run by a job)
# and the Mesa GL drivers with their LLVM (no library of torch, scipy or sklearn links them).
CLEANUP='find "$1/usr/lib/python3/dist-packages" -depth -type d -name tests -exec rm -rf {} + &&
  rm -rf "$1/usr/lib/gcc" "$1/usr/lib/x86_64-linux-gnu/dri" "$1"/usr/lib/x86_64-linux-gnu/libLLVM-* &&
  find "$1/usr/lib" -name "*.a" -delete'
INCLUDES=('/usr/share/doc/*/copyright')
# Fixed file times: the same packages give the same layer.
export SOURCE_DATE_EPOCH=1700000000

recipe="v$RECIPE_VERSION suite=$SUITE packages=${PACKAGES[*]} exclude=${EXCLUDES[*]} include=${INCLUDES[*]} cleanup=$CLEANUP"
key="$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
TAG="lilynode/pytorch:$SUITE-$key"

if [ "${1:-}" = "--tag" ]; then echo "$TAG"; exit 0; fi
docker info >/dev/null 2>&1 || { echo "Docker is not reachable: start dockerd (bash scripts/setup-docker.sh)" >&2; exit 1; }
if docker image inspect "$TAG" >/dev/null 2>&1; then
  echo "ML base $TAG is cached (delete it with docker rmi $TAG to rebuild)" >&2
  echo "$TAG"
  exit 0
fi
if ! command -v mmdebstrap >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { echo "mmdebstrap is missing: sudo apt-get install -y mmdebstrap" >&2; exit 1; }
  echo "installing Debian's mmdebstrap" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
fi

# The Debian archive lines this machine's apt uses for the suite (main only), e.g.
# "deb http://deb.debian.org/debian/ bookworm main".
mapfile -t sources < <(apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Created-By: Packages' 2>/dev/null \
  | awk -v s="$SUITE" '$3 == "main" && ($2 == s || $2 == s "-updates" || $2 == s "-security") { print "deb " $1 " " $2 " main" }' | sort -u)
if [ ${#sources[@]} -eq 0 ]; then
  echo "apt knows no Debian archive for $SUITE (run apt-get update; or set LILYNODE_ML_SUITE)" >&2
  exit 1
fi

dpkgopts=()
for p in "${EXCLUDES[@]}"; do dpkgopts+=("--dpkgopt=path-exclude=$p"); done
for p in "${INCLUDES[@]}"; do dpkgopts+=("--dpkgopt=path-include=$p"); done

echo "building ML base $TAG from ${sources[*]} ($(IFS=,; echo "${PACKAGES[*]}"))" >&2
t0=$(date +%s)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
timeout "${LILYNODE_ML_TIMEOUT_S:-1200}" mmdebstrap ${LILYNODE_ML_VERBOSE:+--verbose} --variant=essential --format=tar \
  --include="$(IFS=,; echo "${PACKAGES[*]}")" "${dpkgopts[@]}" \
  --aptopt='APT::Install-Recommends "false"' --customize-hook="$CLEANUP" \
  "$SUITE" "$work/rootfs.tar" "${sources[@]}" >&2
t1=$(date +%s)
docker import \
  --change 'ENV PYTHONDONTWRITEBYTECODE=1' \
  --change 'ENV OMP_NUM_THREADS=1' \
  --change 'ENV MKL_NUM_THREADS=1' \
  --change 'ENV OPENBLAS_NUM_THREADS=1' \
  --change 'ENV HOME=/tmp' \
  --change 'WORKDIR /tmp' \
  --change "LABEL lilynode.recipe=$key" \
  "$work/rootfs.tar" "$TAG" >/dev/null
t2=$(date +%s)
size="$(docker image inspect -f '{{.Size}}' "$TAG")"
echo "built ML base $TAG in $((t2 - t0)) s (mmdebstrap $((t1 - t0)) s, import $((t2 - t1)) s); $((size / 1048576)) MiB" >&2
echo "$TAG"
