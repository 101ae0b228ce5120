"""What the stack tests pass to deploy the service alone, as the embedded demo: moto's
CloudFormation cannot build the data stack (Aurora, ElastiCache), so there is none to wire to."""

DEMO_SERVICE = ("--only", "service", "--param", "DataStackName=")
