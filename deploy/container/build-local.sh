#!/usr/bin/env bash
# Builds the image FROM scratch out of this machine's release binary and the
# libraries ldd lists for it, for machines that reach no image registry (the
# real recipe, deploy/container/Containerfile, pulls its base images).
#
#   deploy/container/build-local.sh [TAG]     (default localhost/geecache-bench:local)
#
# GEECACHE_BINARY=PATH takes that binary instead of building one (the
# tests give theirs). Needs podman (Debian packages podman and runc);
# prints the tag it built.
set -euo pipefail
cd "$(dirname "$0")/../.."
tag="${1:-localhost/geecache-bench:local}"

binary="${GEECACHE_BINARY:-}"
if [ -z "$binary" ]; then
    cargo build --release --locked --quiet --bin geecache-bench
    binary=target/release/geecache-bench
fi

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/rootfs/usr/local/bin" "$root/rootfs/tmp" "$root/rootfs/results" \
    "$root/rootfs/etc" "$root/rootfs/home/nonroot"
cp "$binary" "$root/rootfs/usr/local/bin/geecache-bench"
strip "$root/rootfs/usr/local/bin/geecache-bench" 2>/dev/null || true
# Every library the dynamic loader maps, at the path it maps it from, and
# the loader itself.
ldd "$binary" | awk '/=> \// { print $3 } /^[ \t]*\// { print $1 }' | while read -r library; do
    mkdir -p "$root/rootfs$(dirname "$library")"
    cp -L "$library" "$root/rootfs$library"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' \
    > "$root/rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$root/rootfs/etc/group"
printf 'hosts: files dns\n' > "$root/rootfs/etc/nsswitch.conf"
chmod 1777 "$root/rootfs/tmp"
chown -R 65532:65532 "$root/rootfs/results" "$root/rootfs/home/nonroot"

cat > "$root/Containerfile" <<'RECIPE'
FROM scratch
COPY rootfs/ /
USER 65532:65532
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/local/bin/geecache-bench"]
RECIPE
podman build --quiet -t "$tag" -f "$root/Containerfile" "$root" >/dev/null
echo "$tag"
