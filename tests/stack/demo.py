"""What the stack tests (and the rehearsal) pass to deploy the service alone, as the embedded
demo with writes open (defined in rehearsal/moto.py, beside the demo's template): moto's
CloudFormation cannot build the data stack (Aurora, ElastiCache) nor a Cognito pool, so there is
neither to wire to (tests/stack/test_identity_stack.py wires an existing issuer).

And without the load balancer's deletion protection: turning it on is a second, parameter-only
update, and moto's CloudFormation has no update for an ELBv2 load balancer (it loses the records
of the stack's resources), which would blur every test after it. The protection's own path runs
in tests/stack/test_load_balancer_protection.py."""

from rehearsal.moto import DEMO_SERVICE

__all__ = ["DEMO_SERVICE"]
