#!/usr/bin/env bash
# Installs what the build and the tests need and is not already on the machine.
# Run by `make serve` and `make test`, so a fresh machine needs no manual step.
set -euo pipefail

need=()
# libssl-dev provides the headers and pkg-config file the COpenSSL system-library target uses;
# the openssl CLI makes the dev certificates.
pkg-config --exists openssl 2>/dev/null || need+=(libssl-dev)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)

if ((${#need[@]})); then
    echo "install-deps: installing ${need[*]}"
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

command -v swift >/dev/null 2>&1 || { echo "install-deps: the Swift 6 toolchain is required (swift not on PATH)" >&2; exit 1; }
