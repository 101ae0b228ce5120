"""Write each deploy-time variant of the data, identity, network, service and import templates,
conditions decided, to a folder, so that `make lint-cfn` runs checkov on every parameter
combination (checkov sees a template with its Conditions only as one template; a variant is what
CloudFormation acts on).

The variants come from tests/template/conftest.py (`variant`, cloud-radar), the same ones the
cfn-lint tests check: `python scripts/template-variants.py DIR`.
"""

import contextlib
import io
import itertools
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "template")]

from conftest import (  # noqa: E402 (after the path set-up)
    AUTH_OFF,
    BUSINESS_HOURS,
    CERTIFICATE,
    CLOUDFRONT_PREFIX_LIST,
    CLOUDFRONT_WEB_ACL,
    DATABASE_SECRET,
    DEMO,
    EDGE_CERTIFICATE,
    data_template,
    edge_global_template,
    edge_template,
    identity_template,
    network_template,
    service_template,
    variant,
)

from template_builder import names  # noqa: E402
from template_builder.imports.stack import build_import_template  # noqa: E402

DATA = {
    f"data-readers{readers}-min{min_capacity}-cache{cache}": {
        names.READER_COUNT: readers,
        names.MIN_CAPACITY: min_capacity,
        names.ENABLE_CACHE: cache,
    }
    for readers, min_capacity, cache in itertools.product([0, 1], [0, 0.5], ["true", "false"])
}
DATA["data-import-bucket"] = {names.IMPORT_BUCKET_SWITCH: "true"}
# What the GitHub OIDC stack's PermissionsBoundaryArn output looks like for the stack api-cars.
BOUNDARY = {
    names.PERMISSIONS_BOUNDARY_ARN: "arn:aws:iam::123456789012:policy/api-cars-permissions-boundary"
}
NETWORK = {"network-boundary": BOUNDARY}
KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/0b6d6f2e-1111-4a2b-9c3d-123456789abc"
SERVICE_DATABASE = {
    "data-stack": {},
    "data-stack-no-cache": {names.DATA_STACK_HAS_CACHE: "false"},
    "own-database": {
        names.DATA_STACK_NAME: "",
        names.DATABASE_URL_SECRET_ARN: DATABASE_SECRET,
        names.ACCESS_LOG_BUCKET_NAME: "company-alb-logs",
    },
    "own-database-kms": {
        names.DATA_STACK_NAME: "",
        names.DATABASE_URL_SECRET_ARN: DATABASE_SECRET,
        names.SECRETS_KMS_KEY_ARN: KMS_KEY,
        names.ACCESS_LOGS: "false",
    },
    "own-database-no-access-logs": {
        names.DATA_STACK_NAME: "",
        names.DATABASE_URL_SECRET_ARN: DATABASE_SECRET,
        names.ACCESS_LOGS: "false",
    },
    "demo": DEMO,
}
SERVICE = {
    f"service-{database}-{scheme}": {
        names.IMAGE_TAG: "v1.0.0",
        **parameters,
        **({names.CERTIFICATE_ARN: CERTIFICATE} if scheme == "https" else {}),
    }
    for (database, parameters), scheme in itertools.product(
        SERVICE_DATABASE.items(), ["http", "https"]
    )
}
SERVICE["service-data-stack-https-boundary"] = {**SERVICE["service-data-stack-https"], **BOUNDARY}
# Fargate Spot beside each database and scheme (the demo is one task: its Rules refuse Spot), with
# auto scaling (the default) and with a fixed count.
SPOT = {names.SPOT_WEIGHT: "3"}
SERVICE |= {
    f"{name}-spot": {**parameters, **SPOT}
    for name, parameters in list(SERVICE.items())
    if parameters.get(names.EMBEDDED_DEMO_DATABASE) != "true"
}
SERVICE["service-data-stack-http-spot-fixed-count"] = {
    **SERVICE["service-data-stack-http-spot"],
    names.AUTO_SCALING: "false",
    names.ON_DEMAND_BASE: "0",
    names.ON_DEMAND_WEIGHT: "0",
}
# The scaling options (template_builder/scaling.py), each alone and both, over the default stack.
SCALING = {
    "predictive-cpu": {names.PREDICTIVE_SCALING: "cpu"},
    "predictive-requests": {
        names.PREDICTIVE_SCALING: "requests",
        names.PREDICTIVE_MODE: "ForecastAndScale",
    },
    "business-hours": BUSINESS_HOURS,
    "predictive-business-hours": {names.PREDICTIVE_SCALING: "cpu", **BUSINESS_HOURS},
}
SERVICE |= {
    f"service-data-stack-https-{name}": {**SERVICE["service-data-stack-https"], **parameters}
    for name, parameters in SCALING.items()
}


IDENTITY = {
    "identity-user-pool": {},
    "identity-existing-issuer": {
        names.AUTH_ISSUER: "https://example.eu.auth0.com/",
        names.AUTH_AUDIENCE: "https://cars.example.com",
        names.AUTH_TOKEN_URL: "https://example.eu.auth0.com/oauth/token",
    },
}
# Who may write, beside the data stack over HTTP (the database and scheme variants above all use
# the identity stack, the default).
SERVICE |= {
    "service-data-stack-reads-need-scope": {
        names.IMAGE_TAG: "v1.0.0",
        names.AUTH_READ_SCOPE: "true",
    },
    "service-data-stack-auth-off": {names.IMAGE_TAG: "v1.0.0", **AUTH_OFF},
    "service-demo-auth-off": {names.IMAGE_TAG: "v1.0.0", **DEMO, **AUTH_OFF},
}


# The service behind CloudFront (its CloudFrontOrigin), over HTTP and HTTPS.
SERVICE |= {
    f"service-data-stack-{origin}-{scheme}": {
        names.IMAGE_TAG: "v1.0.0",
        names.CLOUDFRONT_ORIGIN: origin,
        **({names.CERTIFICATE_ARN: CERTIFICATE} if scheme == "https" else {}),
    }
    for origin, scheme in itertools.product(
        [names.ORIGIN_PUBLIC_ALB, names.ORIGIN_VPC], ["http", "https"]
    )
}
# The edge stack: each origin mode, bare and with an HTTPS origin, an alias and the web ACL; the
# regional WAF alone. The edge-global stack with and without the certificate.
_VIEWER = {
    names.ORIGIN_DOMAIN_NAME: "origin.cars.example.com",
    names.EDGE_ALIAS: "cars.example.com",
    names.EDGE_CERTIFICATE_ARN: EDGE_CERTIFICATE,
    names.WEB_ACL_ARN: CLOUDFRONT_WEB_ACL,
}
_PUBLIC = {names.CLOUDFRONT_PREFIX_LIST_ID: CLOUDFRONT_PREFIX_LIST}
_VPC = {names.ORIGIN_MODE: names.ORIGIN_VPC}
EDGE = {
    "edge-public-alb": _PUBLIC,
    "edge-public-alb-alias": _PUBLIC | _VIEWER,
    "edge-vpc-origin": _VPC,
    "edge-vpc-origin-alias": _VPC | _VIEWER,
    "edge-regional-waf": {names.ORIGIN_MODE: names.ORIGIN_NONE, names.REGIONAL_WAF: "true"},
}
EDGE_GLOBAL = {
    "edge-global-acl": {},
    "edge-global-acl-certificate": {
        names.CERTIFICATE_DOMAIN_NAME: "cars.example.com",
        names.HOSTED_ZONE_ID: "Z0123456789ABCDEFGHIJ",
    },
}
# The import stack: with the identity stack's machine client, or for a service with auth off;
# with an alarm topic and the release roles' boundary.
IMPORT_API = {names.API_URL: "https://cars.example.com"}
IMPORT = {
    "import-identity": IMPORT_API,
    "import-auth-off": {**IMPORT_API, names.IDENTITY_STACK_NAME: ""},
    "import-alarm-boundary": {
        **IMPORT_API,
        names.ALARM_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:pager",
        **BOUNDARY,
    },
}


def import_template() -> dict:
    return build_import_template().to_dict()


def main(folder: str) -> int:
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    every = (
        (data_template, DATA),
        (identity_template, IDENTITY),
        (network_template, NETWORK),
        (service_template, SERVICE),
        (edge_template, EDGE),
        (edge_global_template, EDGE_GLOBAL),
        (import_template, IMPORT),
    )
    for build, variants in every:
        for name, parameters in variants.items():
            with contextlib.redirect_stdout(io.StringIO()):  # cloud-radar prints each stack
                decided = variant(build(), **parameters)
            (out / f"{name}.json").write_text(json.dumps(decided))
    print(f"wrote {sum(len(v) for _, v in every)} template variants to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
