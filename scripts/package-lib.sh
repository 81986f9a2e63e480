# Shared by scripts/package*.sh (sourced, not run): paths, the OpenCV modules
# the binary links, and helpers to fetch Debian packages for another
# architecture without touching this machine's dpkg database.
#
# Everything heavy lives under build/ (git-ignored): build/cache keeps the
# downloaded .deb files and root file systems so a second run downloads
# nothing.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-$root/build}
CACHE=${CACHE:-$BUILD/cache}
DIST=${DIST:-$BUILD/dist}
SUITE=${SUITE:-bookworm}

# A go.mod makes build/ a module of its own, so `go test ./...` and `go vet
# ./...` in the repository never walk into the root file systems kept here.
mkdir -p "$BUILD"
[ -f "$BUILD/go.mod" ] || printf 'module lineside.invalid/build\n' > "$BUILD/go.mod"

# The OpenCV 4.6 modules gocv v0.31.0 needs at link time (its cgo code
# references symbols of each); the arm64 build links exactly these, and
# the sysroot holds their runtime packages.
OPENCV_MODULES=(core imgproc imgcodecs videoio highgui video objdetect calib3d features2d dnn photo flann)

plog() { printf '%s: %s\n' "${PLOG_NAME:-package}" "$*"; }
die() { printf '%s: error: %s\n' "${PLOG_NAME:-package}" "$*" >&2; exit 1; }

# need_root fails unless running as root, with what needs it.
need_root() {
  [ "$(id -u)" -eq 0 ] || die "$1 needs root (run it with sudo)"
}

# ensure_debs installs the named Debian packages that are missing.
ensure_debs() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  need_root "installing ${missing[*]}"
  plog "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# debian_sources prints "URI SUITE" for each Debian archive this machine's
# apt uses (main archive, updates, security), so other-architecture roots
# come from the same mirror. MIRROR overrides the main archive.
debian_sources() {
  apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' 2>/dev/null |
    awk -v s="$SUITE" '$2 == s || $2 == s"-updates" || $2 == s"-security"' | sort -u
}

# debian_mirror prints the main archive's URI.
debian_mirror() {
  if [ -n "${MIRROR:-}" ]; then echo "$MIRROR"; return; fi
  local m
  m=$(debian_sources | awk -v s="$SUITE" '$2 == s {print $1; exit}')
  [ -n "$m" ] || die "no apt source for Debian $SUITE found; set MIRROR=<Debian archive URL>"
  echo "$m"
}

# foreign_apt ARCH DIR runs apt-get for ARCH with its own state in DIR
# (lists, an empty dpkg status, downloaded archives), leaving this machine's
# package database alone. Extra arguments go to apt-get.
foreign_apt() {
  local arch=$1 dir=$2; shift 2
  apt-get \
    -o APT::Architecture="$arch" -o APT::Architectures::="$arch" \
    -o Dir::State="$dir/state" -o Dir::State::status="$dir/state/status" \
    -o Dir::State::Lists="$dir/lists" -o Dir::Cache="$dir/cache" \
    -o Dir::Cache::Archives="$dir/archives" \
    -o Dir::Etc::SourceList="$dir/sources.list" -o Dir::Etc::SourceParts="$dir/empty.d" \
    -o Dir::Etc::Preferences="$dir/preferences" -o Dir::Etc::PreferencesParts="$dir/empty.d" \
    -o APT::Install-Recommends=false -o Debug::NoLocking=true \
    -o Acquire::Languages=none "$@"
}

# foreign_apt_init ARCH DIR writes DIR's sources (the host's Debian archives)
# and fetches its package lists.
foreign_apt_init() {
  local arch=$1 dir=$2
  mkdir -p "$dir/state" "$dir/lists/partial" "$dir/cache" "$dir/archives/partial" "$dir/empty.d"
  : > "$dir/state/status"
  : > "$dir/preferences"
  debian_sources | while read -r uri suite; do
    echo "deb [arch=$arch signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main"
  done > "$dir/sources.list"
  [ -s "$dir/sources.list" ] || die "no apt source for Debian $SUITE found"
  foreign_apt "$arch" "$dir" update -qq
}
