#!/usr/bin/env bash
# Builds imaged's Debian package: `npm run package:deb` (or `bash systemd/deb/build.sh [--out DIR]`).
# Prints the path of the .deb, by default ./imaged_VERSION_ARCH.deb in the repository (gitignored).
#
# Everything is built in a temporary directory, so the work tree is left as it was: the daemon
# compiled by the repository's tsc, the production node_modules installed from package-lock.json
# with their install scripts (native addons built for this Node's headers: npm_config_nodedir,
# /usr by default) and imaged's own addons. Needs `npm install` done in the repository (for tsc),
# dpkg-deb, dpkg-shlibdeps (dpkg-dev), a C++ toolchain, and the npm registry or npm's cache.
set -euo pipefail
umask 022

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out=$repo
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=${2:?--out needs a directory}; shift 2 ;;
    *) echo "usage: $0 [--out DIR]" >&2; exit 2 ;;
  esac
done

die() { echo "package:deb: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps dpkg-architecture npm node gzip strip; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install dpkg-dev build-essential nodejs)"
done
tsc=$repo/node_modules/.bin/tsc
[ -x "$tsc" ] || die "$tsc is missing: run npm install in $repo first"
mkdir -p "$out"
out=$(cd "$out" && pwd)

export npm_config_nodedir=${npm_config_nodedir:-/usr}
version=${IMAGED_DEB_VERSION:-$(node -p "require('$repo/package.json').version")-1}
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
maintainer="${DEBFULLNAME:-imaged maintainers} <${DEBEMAIL:-$(git -C "$repo" config user.email 2>/dev/null || echo root@localhost)}>"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/imaged-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
work=$tmp/work       # npm install happens here
root=$tmp/root       # the package's file tree
app=$root/usr/lib/imaged
doc=$root/usr/share/doc/imaged

step() { echo "package:deb: [${SECONDS}s] $*" >&2; }
run_logged() { # name, command...: quiet unless it fails
  local name=$1; shift
  "$@" >"$tmp/$name.log" 2>&1 || { tail -40 "$tmp/$name.log" >&2; die "$name failed: $*"; }
}

step "production node_modules and native addons (npm install --omit=dev, nodedir=$npm_config_nodedir)"
mkdir -p "$work"
cp "$repo/package.json" "$repo/package-lock.json" "$repo/binding.gyp" "$work/"
cp -r "$repo/native" "$work/"
# Debian's hardening flags (relro, bindnow, fortify) for what compiles here
eval "$(DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --export=sh)"
CFLAGS=${CFLAGS//-g /} CXXFLAGS=${CXXFLAGS//-g /} # no debug info: stripped anyway
# npm ci would refuse the lock file npm 11 writes (see test/run); install follows it all the same.
# The root package's install script compiles build/Release/imaged_*.node.
# JOBS: node-gyp compiles the two addons in parallel
(cd "$work" && JOBS=max run_logged npm-install npm install --omit=dev --no-audit --no-fund --loglevel=error --prefer-offline)
[ -f "$work/build/Release/imaged_native.node" ] || die "imaged_native.node was not built (see the npm install output)"
# node-gyp and node-addon-api only build the addons: drop them (and whatever only they need).
(cd "$work" && npm pkg delete dependencies.node-gyp dependencies.node-addon-api scripts.install \
  && run_logged npm-prune npm prune --omit=dev --no-audit --no-fund --loglevel=error --prefer-offline)

step "daemon (tsc)"
mkdir -p "$app"
run_logged tsc "$tsc" -p "$repo/tsconfig.json" --outDir "$app/dist" --sourceMap false

step "file tree"
mkdir -p "$app/bin" "$app/build/Release" "$root/usr/bin" "$root/lib/systemd/system" \
  "$root/etc/imaged/imaged.conf.d" "$doc/examples" "$root/usr/share/man/man8" "$root/usr/share/lintian/overrides" \
  "$root/DEBIAN"
cp -r "$work/node_modules" "$app/"
cp "$work"/build/Release/imaged_*.node "$app/build/Release/"
install -m 0755 "$repo/bin/imaged" "$app/bin/imaged"
# dist/ is ES modules: the package.json beside it says so
node -e '
  const p = require(process.argv[1]);
  const keep = { name: p.name, version: p.version, description: p.description, license: p.license, private: true, type: p.type };
  require("fs").writeFileSync(process.argv[2], JSON.stringify(keep, null, 2) + "\n");
' "$repo/package.json" "$app/package.json"
ln -s ../lib/imaged/bin/imaged "$root/usr/bin/imaged"
install -m 0644 "$repo/systemd/imaged.service" "$root/lib/systemd/system/imaged.service"
install -m 0644 "$here/imaged.conf" "$root/etc/imaged/imaged.conf"
install -m 0644 "$repo/systemd/glance-api.conf" "$doc/examples/glance-api.conf"
gzip -9n <"$repo/README.md" >"$doc/README.md.gz"
gzip -9n <"$here/imaged.8" >"$root/usr/share/man/man8/imaged.8.gz"
printf 'imaged (%s) unstable; urgency=medium\n\n  * Built from the imaged repository by systemd/deb/build.sh.\n\n -- %s  %s\n' \
  "$version" "$maintainer" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$repo" log -1 --format=%ct 2>/dev/null || date +%s)}")" \
  | gzip -9n >"$doc/changelog.Debian.gz"
{
  cat "$here/copyright.in"
  node -e '
    const fs = require("fs"), path = require("path");
    const rows = [];
    const visit = (dir) => {
      for (const name of fs.readdirSync(dir).sort()) {
        const d = path.join(dir, name);
        if (name.startsWith("@")) { visit(d); continue; }
        const pj = path.join(d, "package.json");
        if (!fs.existsSync(pj)) continue;
        const p = JSON.parse(fs.readFileSync(pj, "utf8"));
        const lic = typeof p.license === "string" ? p.license : p.license?.type ?? (p.licenses ?? []).map((l) => l.type).join(" OR ") ?? "see its files";
        rows.push(` ${p.name} ${p.version}: ${lic || "see its files"}`);
        if (fs.existsSync(path.join(d, "node_modules"))) visit(path.join(d, "node_modules"));
      }
    };
    visit(process.argv[1]);
    console.log(rows.join("\n"));
  ' "$app/node_modules"
} >"$doc/copyright"
install -m 0644 "$here/lintian-overrides" "$root/usr/share/lintian/overrides/imaged"

# What the runtime never reads: npm's .bin links, type declarations, source maps, the modules'
# documentation, tests and repository dotfiles, and prebuilt addons for other systems (this
# package is glibc on $multiarch). Licence files stay with their modules.
nm=$app/node_modules
rm -rf "$nm/.bin" "$nm/.package-lock.json"
find "$nm" -name '.*' -prune -exec rm -rf {} +
find "$nm" -type d \( -name test -o -name tests -o -name __tests__ -o -name example -o -name examples -o -name docs \
  -o -name dist-types \) -prune -exec rm -rf {} +
find "$nm" -type f \( -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.map' -o -name '*.html' \
  -o -name '*.sln' -o \( \( -iname '*.md' -o -iname '*.markdown' \) ! -iname 'licen[cs]e*' ! -iname 'notice*' \) \) -delete
node_platform=$(node -p 'process.platform + "-" + process.arch')
find "$nm" -type d -path '*/prebuilds/*' ! -name "$node_platform" -prune -exec rm -rf {} +
find "$nm" -name '*musl*.node' -type f -delete
find "$nm" -type d -empty -delete
# addons: stripped as dh_strip does, and not executable (dlopen does not need it)
find "$app" -name '*.node' -type f -exec strip --remove-section=.comment --remove-section=.note --strip-unneeded {} + \
  -exec chmod 0644 {} +
find "$root" -type d -exec chmod 0755 {} +
find "$nm" "$app/dist" -type f -exec chmod 0644 {} +
# the modules' command-line scripts keep their interpreter line: make them executable
grep -rlI --include='*.js' --include='*.sh' --include='*.cjs' --include='*.mjs' -m1 '^#!' "$nm" \
  | while read -r f; do [ "$(head -c2 "$f")" = '#!' ] && chmod 0755 "$f"; done

step "control files"
# Depends from the addons' ELF dependencies; librbd/librados only recommended: without them the
# imaged_rbd addon does not load and the rbd store reports itself unavailable (src/native/rbd.ts).
mkdir -p "$tmp/shlibs/debian"
printf 'Source: imaged\n\nPackage: imaged\nArchitecture: any\n' >"$tmp/shlibs/debian/control"
rbd_addon=$app/build/Release/imaged_rbd.node
shlibdeps() { # dpkg-shlibdeps options and files: the packages they need, one per line
  (cd "$tmp/shlibs" && dpkg-shlibdeps -O "$@" 2>"$tmp/shlibdeps.log") | sed -n 's/^shlibs:Depends=//p' | tr ',' '\n' | sed 's/^ *//' \
    || { cat "$tmp/shlibdeps.log" >&2; die "dpkg-shlibdeps $* failed"; }
}
mapfile -t addons < <(find "$app" -name '*.node' -type f | sort)
shlib_depends=$(shlibdeps -xlibrbd1 -xlibrados2 "${addons[@]/#/-e}" | paste -sd, | sed 's/,/, /g')
recommends=
if [ -f "$rbd_addon" ]; then
  recommends=$(shlibdeps -e"$rbd_addon" | grep -E '^lib(rbd|rados)' | paste -sd, | sed 's/,/, /g')
  [ -n "$recommends" ] || die "dpkg-shlibdeps found no librbd/librados dependency of $rbd_addon"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
depends="adduser, nodejs (>= $node_major)${shlib_depends:+, $shlib_depends}"
size=$(du -s -k --apparent-size --exclude=DEBIAN "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@MAINTAINER@|$maintainer|" \
  -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" -e "s|@RECOMMENDS@|$recommends|" \
  "$here/control.in" | sed '/^Recommends: *$/d' >"$root/DEBIAN/control"
install -m 0644 "$here/conffiles" "$root/DEBIAN/conffiles"
for s in postinst prerm postrm; do install -m 0755 "$here/$s" "$root/DEBIAN/$s"; done
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"

deb=$out/imaged_${version}_${arch}.deb
step "dpkg-deb --build → $deb"
# gzip: xz -6 took 20 s more on a loaded 2-core machine for 1.7 MB less
run_logged dpkg-deb dpkg-deb --root-owner-group -Zgzip -z9 --build "$root" "$deb"
echo "$deb"
