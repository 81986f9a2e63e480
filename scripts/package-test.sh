#!/usr/bin/env bash
# `make package-test`: proves the Debian packages built by `make package`.
#
# amd64, in a clean Debian root (debootstrap, minbase + systemd, cached as a
# tarball under build/cache):
#   install with apt (pulling Debian's OpenCV runtime), `lineside version`,
#   `lineside config check` as root and as the service user, the unit
#   verified by the root's own systemd-analyze, one inference, the agent
#   started as the lineside user until it is running; then the config edited,
#   an upgrade to a newer version (edited config and store kept), and a purge.
# arm64: the binary from the arm64 package runs `lineside version` and one
#   real inference under qemu-user with the packaged arm64 ONNX Runtime, and
#   its scores match the amd64 ones.
#
# Needs root (debootstrap, chroot). Prints one "package-test: ok ..." line per
# check and the time of each step; exits non-zero at the first failure.
set -euo pipefail
PLOG_NAME=package-test
source "$(dirname "$0")/package-lib.sh"
cd "$root"
need_root "package-test"
ensure_debs debootstrap qemu-user python3

T=$BUILD/package-test
R=$T/root-amd64
ROOTFS=$CACHE/rootfs-$SUITE-amd64-minbase-systemd.tar
ARCHIVES=$CACHE/apt-amd64-chroot

t0=$(date +%s)
step_start=$t0
step() { # step NAME: prints the time of the step that just ended
  local now; now=$(date +%s)
  printf 'package-test: time %-28s %4ss\n' "$1" "$((now - step_start))"
  step_start=$now
}
ok() { printf 'package-test: ok   %s\n' "$*"; }
fail() { die "FAILED: $*"; }

mounted=()
cleanup() {
  local m
  for m in "${mounted[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
}
trap cleanup EXIT
in_root() { chroot "$R" "$@"; }

latest() { ls -t "$DIST"/lineside_*_"$1".deb 2>/dev/null | head -1; }
deb_amd64=$(latest amd64)
deb_arm64=$(latest arm64)
[ -n "$deb_amd64" ] && [ -n "$deb_arm64" ] || die "no packages in $DIST; run make package first"
v1=$(dpkg-deb -f "$deb_amd64" Version)
[ "$(dpkg-deb -f "$deb_arm64" Version)" = "$v1" ] || die "$deb_arm64 is not version $v1"
plog "testing $deb_amd64 and $deb_arm64"

# An upgrade: the same tree as a newer version.
v2="$v1+upgrade1"
DIST=$T/dist VERSION=$v2 scripts/package.sh amd64 >/dev/null
deb_v2=$T/dist/lineside_${v2}_amd64.deb
[ -f "$deb_v2" ] || die "$deb_v2 was not built"
step "build upgrade package"

# A test image: a 64x64 gray PNG of a part with a dark scratch.
mkdir -p "$T"
python3 - "$T/part.png" <<'EOF'
import struct, sys, zlib
w = h = 64
rows = b""
for y in range(h):
    row = bytearray([0])
    for x in range(w):
        v = 200 if 16 <= x < 48 and 16 <= y < 48 else 100
        if 30 <= x < 34 and 20 <= y < 44:
            v = 20
        row.append(v)
    rows += bytes(row)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
EOF

# --- amd64: a clean Debian root ---------------------------------------------
if [ -d "$R" ]; then
  mountpoint -q "$R/proc" && umount "$R/proc"
  mountpoint -q "$R/var/cache/apt/archives" && umount "$R/var/cache/apt/archives"
  rm -rf --one-file-system "$R"
fi
if [ ! -f "$ROOTFS" ]; then
  mirror=$(debian_mirror)
  plog "debootstrap $SUITE amd64 (minbase + systemd) from $mirror"
  tmp=$T/debootstrap
  rm -rf --one-file-system "$tmp"
  debootstrap --variant=minbase --include=systemd --arch=amd64 "$SUITE" "$tmp" "$mirror" >"$T/debootstrap.log" 2>&1 ||
    die "debootstrap failed; see $T/debootstrap.log"
  debian_sources | while read -r uri suite; do echo "deb $uri $suite main"; done > "$tmp/etc/apt/sources.list"
  rm -rf "$tmp"/var/cache/apt/archives/*.deb "$tmp"/var/lib/apt/lists/*_Packages
  mkdir -p "$CACHE"
  tar -C "$tmp" -cf "$ROOTFS.part" . && mv "$ROOTFS.part" "$ROOTFS"
  rm -rf --one-file-system "$tmp"
  step "debootstrap (cached after)"
fi
mkdir -p "$R" "$ARCHIVES/partial"
tar -C "$R" -xf "$ROOTFS"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc" && mounted+=("$R/proc")
mount --bind "$ARCHIVES" "$R/var/cache/apt/archives" && mounted+=("$R/var/cache/apt/archives")
cp "$deb_amd64" "$R/tmp/lineside_v1.deb"
cp "$deb_v2" "$R/tmp/lineside_v2.deb"
cp "$T/part.png" "$R/tmp/part.png"
in_root dpkg -s libopencv-core406 >/dev/null 2>&1 && fail "the clean root already has OpenCV"
ok "clean root: Debian $(cat "$R/etc/debian_version"), no OpenCV, $(in_root dpkg -l | grep -c '^ii') packages"
step "unpack clean root"

export DEBIAN_FRONTEND=noninteractive
in_root apt-get update -qq
in_root apt-get install -y -qq --no-install-recommends /tmp/lineside_v1.deb >"$T/install.log" 2>&1 ||
  die "apt install failed; see $T/install.log"
ok "apt install ./$(basename "$deb_amd64"): $(in_root dpkg -l | grep -c '^ii') packages now"
step "install package + OpenCV"

out=$(in_root lineside version)
[[ $out == "lineside $v1 linux/amd64 "* ]] || fail "lineside version: $out"
ok "lineside version: $out"
out=$(in_root lineside config check 2>&1) || fail "lineside config check: $out"
[ "$out" = ok ] || fail "lineside config check: $out"
ok "lineside config check (root): $out"
out=$(in_root setpriv --reuid=lineside --regid=lineside --init-groups lineside config check 2>&1) ||
  fail "config check as lineside: $out"
ok "lineside config check (as user lineside): $out"
[ "$(in_root stat -c '%U:%G %a' /etc/lineside/lineside.yaml)" = "root:lineside 640" ] ||
  fail "/etc/lineside/lineside.yaml is $(in_root stat -c '%U:%G %a' /etc/lineside/lineside.yaml)"
[ "$(in_root stat -c '%U:%G %a' /var/lib/lineside)" = "lineside:lineside 750" ] ||
  fail "/var/lib/lineside is $(in_root stat -c '%U:%G %a' /var/lib/lineside)"
ok "user $(in_root id lineside); /etc/lineside/lineside.yaml root:lineside 640; /var/lib/lineside lineside:lineside 750"
in_root dpkg-query -W -f='${Conffiles}\n' lineside | grep -q '/etc/lineside/lineside.yaml' || fail "config is not a conffile"
out=$(in_root systemd-analyze verify --man=no lineside.service 2>&1) || fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify: $out"
ok "systemd-analyze verify lineside.service in the root: clean"
in_root systemctl enable lineside.service >/dev/null 2>&1 || fail "systemctl enable"
[ -L "$R/etc/systemd/system/multi-user.target.wants/lineside.service" ] || fail "systemctl enable made no link"
ok "systemctl enable lineside (offline)"
infer_amd64=$(in_root lineside infer --model /usr/share/lineside/models/defect-cnn/defect-cnn.onnx --image /tmp/part.png 2>/dev/null) ||
  fail "lineside infer in the root"
ok "inference in the root: $infer_amd64"

# The agent as the service runs it: user lineside, in its state directory,
# with no broker to reach (it buffers), until it reports running.
log=$T/agent.log
chroot "$R" setpriv --reuid=lineside --regid=lineside --init-groups \
  sh -c 'cd /var/lib/lineside && LINESIDE_MQTT_BROKER=tcp://127.0.0.1:1 exec lineside run' >"$log" 2>&1 &
agent=$!
for _ in $(seq 120); do grep -q 'lineside running' "$log" && break; kill -0 "$agent" 2>/dev/null || break; sleep 0.5; done
grep -q 'lineside running' "$log" || { kill "$agent" 2>/dev/null || true; fail "agent did not start:
$(cat "$log")"; }
kill -TERM "$agent"
code=0
wait "$agent" || code=$?
[ "$code" -eq 0 ] || fail "agent exit code $code after SIGTERM:
$(cat "$log")"
[ "$(in_root stat -c %U /var/lib/lineside/lineside.db)" = lineside ] || fail "no store owned by lineside"
ok "agent ran as user lineside, created /var/lib/lineside/lineside.db, stopped with exit 0"
step "checks in the root"

# Upgrade: the technician's config edit and the store survive.
sed -i 's/^  id: lpc-01$/  id: lpc-upgrade-test/' "$R/etc/lineside/lineside.yaml"
grep -q 'id: lpc-upgrade-test' "$R/etc/lineside/lineside.yaml" || fail "config edit"
store_sum=$(sha256sum "$R/var/lib/lineside/lineside.db" | cut -d' ' -f1)
in_root apt-get install -y -qq --no-install-recommends /tmp/lineside_v2.deb >"$T/upgrade.log" 2>&1 ||
  die "upgrade failed; see $T/upgrade.log"
out=$(in_root lineside version)
[[ $out == "lineside $v2 linux/amd64 "* ]] || fail "after upgrade, lineside version: $out"
grep -q 'id: lpc-upgrade-test' "$R/etc/lineside/lineside.yaml" || fail "the edited config was replaced on upgrade"
[ "$(sha256sum "$R/var/lib/lineside/lineside.db" | cut -d' ' -f1)" = "$store_sum" ] || fail "the store changed on upgrade"
[ "$(in_root stat -c '%U:%G %a' /etc/lineside/lineside.yaml)" = "root:lineside 640" ] || fail "config permissions changed on upgrade"
out=$(in_root lineside config check 2>&1) || fail "config check after upgrade: $out"
[ -L "$R/etc/systemd/system/multi-user.target.wants/lineside.service" ] || fail "upgrade disabled the service"
ok "upgrade $v1 -> $v2: edited config kept, store unchanged (sha256 ${store_sum:0:12}), still enabled, config check $out"
step "upgrade"

in_root apt-get purge -y -qq lineside >"$T/purge.log" 2>&1 || die "purge failed; see $T/purge.log"
for f in /usr/bin/lineside /usr/lib/lineside /etc/lineside/lineside.yaml /var/lib/lineside \
  /etc/systemd/system/multi-user.target.wants/lineside.service; do
  [ ! -e "$R$f" ] && [ ! -L "$R$f" ] || fail "$f left after purge"
done
ok "purge: binary, library, config, store and enable link removed"
step "purge"
cleanup
mounted=()

# --- arm64 under qemu-user --------------------------------------------------
scripts/package-sysroot.sh >/dev/null
SYSROOT=$BUILD/sysroot-arm64
A=$T/arm64
rm -rf "$A" && mkdir -p "$A"
dpkg-deb -x "$deb_arm64" "$A"
file -b "$A/usr/bin/lineside" | grep -q 'ARM aarch64' || fail "the arm64 package's binary is $(file -b "$A/usr/bin/lineside")"
run_arm64() { QEMU_LD_PREFIX=$SYSROOT qemu-aarch64 "$A/usr/bin/lineside" "$@"; }
out=$(run_arm64 version)
[[ $out == "lineside $v1 linux/arm64 "* ]] || fail "arm64 lineside version: $out"
ok "arm64 under qemu-user: $out"
infer_arm64=$(run_arm64 infer --library "$A/usr/lib/lineside/libonnxruntime.so.1" \
  --model "$A/usr/share/lineside/models/defect-cnn/defect-cnn.onnx" --image "$T/part.png" 2>/dev/null) ||
  fail "arm64 inference under qemu-user"
ok "arm64 inference under qemu-user: $infer_arm64"
python3 - "$infer_amd64" "$infer_arm64" <<'EOF' || fail "arm64 and amd64 scores differ"
import re, sys
def scores(line):
    return {k: float(v) for k, v in re.findall(r"(\w+)=([0-9.]+)", line.split("scores=")[1].split(" ")[0])}
a, b = scores(sys.argv[1]), scores(sys.argv[2])
assert a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-3 for k in a), (a, b)
EOF
ok "arm64 scores equal the amd64 ones (within 1e-3)"
step "arm64 under qemu-user"

plog "all checks passed in $(( $(date +%s) - t0 ))s; packages: $(du -h "$deb_amd64" | cut -f1) amd64, $(du -h "$deb_arm64" | cut -f1) arm64"
