#!/usr/bin/env bash
# Copies the seed inputs into fuzz/corpus/<target>/ (the corpus dirs are
# gitignored: /fuzz/corpus). Safe to re-run; it only adds files.
# Usage: bash fuzz/seed.sh    (from anywhere)
set -euo pipefail

fuzz_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$fuzz_dir/.." && pwd)"
# The shared SAML fixtures live beside the repo: ../shared from the repo root.
shared_saml="$repo/../shared/fixtures/saml"

copy() { # copy <target> <file>...
    local dir="$fuzz_dir/corpus/$1"
    shift
    mkdir -p "$dir"
    local f n=0
    for f in "$@"; do
        [ -f "$f" ] || continue
        cp -f "$f" "$dir/seed-$(basename "$f")"
        n=$((n + 1))
    done
    echo "$(basename "$dir"): $n seed(s) -> ${dir#"$repo"/}"
}

shopt -s nullglob
[ -d "$shared_saml" ] || echo "warning: $shared_saml not found; SAML fixture seeds skipped" >&2

copy xmldsig_verify \
    "$shared_saml"/*.xml \
    "$repo"/tests/fixtures/xmldsig/*.signed.xml

copy saml_response \
    "$shared_saml"/response-*.xml \
    "$shared_saml"/response-*.b64

copy saml_metadata \
    "$shared_saml"/idp-metadata.xml \
    "$repo"/metadata/*.xml \
    "$repo"/tests/fixtures/saml-metadata/*

copy oidc_token "$repo"/tests/fixtures/oidc/token-*.txt
copy oidc_jwks "$repo"/tests/fixtures/oidc/jwks-*.json
