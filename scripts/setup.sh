#!/usr/bin/env bash
# Installs what lineside needs to build, test and run, and only what is missing:
# Debian packages, the ONNX Runtime shared library (from the npm registry, checked
# against scripts/onnxruntime.sha256) and the Go modules. A second run downloads
# nothing and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

ORT_VERSION=1.24.1
ORT_DIR=${ORT_DIR:-$root/third_party/onnxruntime}

log() { printf 'setup: %s\n' "$*"; }

# --- Debian packages -------------------------------------------------------
pkgs=(
  pkg-config libopencv-dev          # gocv (OpenCV 4.6 with FFmpeg, GStreamer, V4L2)
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good  # gst:// pipelines; RTP/JPEG for the RTSP test server
  python3-gi gir1.2-gst-rtsp-server-1.0                # the RTSP test server (GStreamer's gst-rtsp-server)
  mosquitto mosquitto-clients       # the broker for tests and the demo
  chromium                          # headless browser for the dashboard test
  python3-torch python3-onnx python3-numpy  # model training/export (for /usr/bin/python3)
  systemd                           # systemd-analyze, -sysusers, -tmpfiles: checks of systemd/
)
missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}; run 'make setup' as root or install them" >&2
    exit 1
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts mosquitto as a service on install; lineside's tests and demo
  # start their own broker, so a packaged one on :1883 is left as the admin set it.
fi

# --- ONNX Runtime shared library ---------------------------------------------
case "$(uname -m)" in
  x86_64|amd64) arch=linux-x64 ;;
  aarch64|arm64) arch=linux-arm64 ;;
  *) echo "setup: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac
want() { awk -v f="$1" '$2==f {print $1}' scripts/onnxruntime.sha256; }
have() { sha256sum "$1" 2>/dev/null | awk '{print $1}'; }
lib="$ORT_DIR/$arch/libonnxruntime.so.1"
if [ "$(have "$lib")" != "$(want "$arch/libonnxruntime.so.1")" ]; then
  log "fetching ONNX Runtime $ORT_VERSION (npm onnxruntime-node@$ORT_VERSION)"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "onnxruntime-node@$ORT_VERSION" >/dev/null)
  tgz="$tmp/onnxruntime-node-$ORT_VERSION.tgz"
  if [ "$(have "$tgz")" != "$(want "onnxruntime-node-$ORT_VERSION.tgz")" ]; then
    echo "setup: checksum mismatch for onnxruntime-node-$ORT_VERSION.tgz" >&2; exit 1
  fi
  tar -xzf "$tgz" -C "$tmp" package/bin/napi-v6/linux
  for a in linux-x64 linux-arm64; do
    src="$tmp/package/bin/napi-v6/linux/${a#linux-}/libonnxruntime.so.1"
    if [ "$(have "$src")" != "$(want "$a/libonnxruntime.so.1")" ]; then
      echo "setup: checksum mismatch for $a/libonnxruntime.so.1" >&2; exit 1
    fi
    mkdir -p "$ORT_DIR/$a"
    install -m 0644 "$src" "$ORT_DIR/$a/libonnxruntime.so.1"
  done
  log "ONNX Runtime $ORT_VERSION in $ORT_DIR"
fi

# --- Go modules --------------------------------------------------------------
go mod download
log "ok"
