"""What the stack tests pass to deploy the service alone, as the embedded demo with writes open:
moto's CloudFormation cannot build the data stack (Aurora, ElastiCache) nor a Cognito pool, so
there is neither to wire to (tests/stack/test_identity_stack.py wires an existing issuer)."""

DEMO_SERVICE = ("--only", "service", "--param", "DataStackName=", "--param", "AuthDisabled=true")
