"""The identity stack (templates/identity.yaml): an Amazon Cognito user pool for machine clients.

`stack.build_identity_template()` is the table of contents. Its own stack for two reasons: its
lifecycle (the machine clients' credentials outlive a teardown and redeploy of the service, as the
data does) and the service template's byte budget.
"""
