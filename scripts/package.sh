#!/usr/bin/env bash
# `make package`: builds the lineside Debian packages with nfpm into
# build/dist/lineside_<version>_<arch>.deb.
#
#   scripts/package.sh [amd64] [arm64]     (default: both)
#
# amd64 is built natively; arm64 is cross-compiled with cgo against Debian's
# arm64 OpenCV (scripts/package-sysroot.sh) and gcc-aarch64-linux-gnu. The
# package's library dependencies come from dpkg-shlibdeps on the amd64
# binary; the arm64 binary must need exactly the same libraries, which is
# checked. Environment: VERSION (default from git), DIST (output folder).
set -euo pipefail
PLOG_NAME=package
source "$(dirname "$0")/package-lib.sh"
cd "$root"

NFPM_VERSION=${NFPM_VERSION:-v2.48.0} # v2.45.2 is the fallback for older Go
NFPM=$BUILD/tools/nfpm-$NFPM_VERSION

arches=("$@")
[ ${#arches[@]} -gt 0 ] || arches=(amd64 arm64)
for a in "${arches[@]}"; do
  case $a in amd64|arm64) ;; *) die "unknown architecture $a (want amd64 or arm64)" ;; esac
done

# A Debian version that sorts by commit time: 0.1.0+git20261203183000.3fd1d96.
if [ -z "${VERSION:-}" ]; then
  ts=$(git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S 2>/dev/null || date -u +%Y%m%d%H%M%S)
  VERSION=0.1.0+git$ts.$(git rev-parse --short HEAD 2>/dev/null || echo local)
fi
[[ $VERSION =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "VERSION $VERSION is not a Debian version"

ensure_debs dpkg-dev binutils
if [ ! -x "$NFPM" ]; then
  plog "installing nfpm $NFPM_VERSION into $BUILD/tools"
  mkdir -p "$BUILD/tools"
  GOBIN=$BUILD/tools go install "github.com/goreleaser/nfpm/v2/cmd/nfpm@$NFPM_VERSION"
  mv "$BUILD/tools/nfpm" "$NFPM"
fi

ldflags="-s -w -X github.com/lineside/lineside/agent.Version=$VERSION"
out=$BUILD/pkg
mkdir -p "$out" "$DIST"

# needed BIN prints the shared libraries BIN needs, sorted.
needed() { readelf -d "$1" | awk '/NEEDED/ {gsub(/[][]/, "", $5); print $5}' | sort; }

# The amd64 binary is always built: its dependencies are the package's.
plog "building lineside $VERSION for amd64"
CGO_ENABLED=1 GOARCH=amd64 go build -trimpath -ldflags "$ldflags" -o "$out/lineside-amd64" ./cmd/lineside
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/debian"
printf 'Source: lineside\n\nPackage: lineside\nArchitecture: any\n' > "$tmp/debian/control"
depends=$(cd "$tmp" && dpkg-shlibdeps -O -e"$out/lineside-amd64" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || die "dpkg-shlibdeps found no dependencies for $out/lineside-amd64"
plog "depends: $depends"

for arch in "${arches[@]}"; do
  bin=$out/lineside-$arch
  case $arch in
    amd64) ort=third_party/onnxruntime/linux-x64/libonnxruntime.so.1 ;;
    arm64)
      ort=third_party/onnxruntime/linux-arm64/libonnxruntime.so.1
      scripts/package-sysroot.sh
      plog "cross-compiling lineside $VERSION for arm64"
      (
        # shellcheck source=/dev/null
        source "$BUILD/sysroot-arm64/lineside/env"
        go build -trimpath -ldflags "$ldflags" -o "$bin" ./cmd/lineside
      )
      if [ "$(needed "$bin")" != "$(needed "$out/lineside-amd64")" ]; then
        die "arm64 and amd64 binaries need different libraries; the package dependencies would be wrong:
$(diff <(needed "$out/lineside-amd64") <(needed "$bin") || true)"
      fi
      ;;
  esac
  [ -f "$ort" ] || die "$ort missing; run scripts/setup.sh (make setup)"
  deb=$DIST/lineside_${VERSION}_$arch.deb
  rm -f "$deb"
  LINESIDE_VERSION=$VERSION LINESIDE_ARCH=$arch LINESIDE_BIN=$bin LINESIDE_ORT=$ort \
    LINESIDE_DEPENDS=$depends "$NFPM" package --config systemd/nfpm.yaml --packager deb --target "$deb" >/dev/null
  plog "built $deb ($(du -h "$deb" | cut -f1))"
done
