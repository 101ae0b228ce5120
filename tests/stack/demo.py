"""What the stack tests pass to deploy the service alone, as the embedded demo with writes open:
moto's CloudFormation cannot build the data stack (Aurora, ElastiCache) nor a Cognito pool, so
there is neither to wire to (tests/stack/test_identity_stack.py wires an existing issuer).

And without the load balancer's deletion protection: turning it on is a second, parameter-only
update, and moto's CloudFormation has no update for an ELBv2 load balancer (it loses the records
of the stack's resources), which would blur every test after it. The protection's own path runs
in tests/stack/test_load_balancer_protection.py."""

from template_builder.names import LOAD_BALANCER_DELETION_PROTECTION

DEMO_SERVICE = (
    "--only",
    "service",
    "--param",
    "DataStackName=",
    "--param",
    "AuthDisabled=true",
    "--param",
    f"{LOAD_BALANCER_DELETION_PROTECTION}=false",
)
