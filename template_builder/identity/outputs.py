"""Outputs of the identity stack, each exported as `${AWS::StackName}-<output>` (names.EXPORT):
what the service stack imports, and what a machine needs to get a token (README.md). Each is the
user pool's, or with AuthIssuer the existing issuer's as given."""

from troposphere import Export, If, Output, Ref, Sub, Template

from template_builder import names
from template_builder.identity.cognito import TOKEN_PATH, Identity, scope

ISSUER = "https://cognito-idp.${AWS::Region}.${AWS::URLSuffix}/${Pool}"
# Prefix domains are always under amazoncognito.com, in every partition Cognito offers them.
TOKEN_URL = "https://${Prefix}.auth.${AWS::Region}.amazoncognito.com" + TOKEN_PATH


def _exported(name: str, description: str, value, **extra) -> Output:
    export = names.EXPORT.format(stack=names.OWN_STACK_NAME, output=name)
    return Output(name, Description=description, Value=value, Export=Export(Sub(export)), **extra)


def _pool_or(pool_value, given) -> If:
    return If(names.CREATES_USER_POOL, pool_value, Ref(given))


def add_identity_outputs(template: Template, identity: Identity) -> None:
    params = identity.params
    template.add_output(
        [
            _exported(
                names.OUTPUT_ISSUER,
                "Issuer URL (AUTH_ISSUER; its discovery document is under /.well-known/)",
                _pool_or(Sub(ISSUER, Pool=Ref(identity.user_pool)), params.issuer),
            ),
            _exported(
                names.OUTPUT_AUDIENCE,
                "Audience (AUTH_AUDIENCE): aud, or the pool's machine client id (client_id)",
                _pool_or(Ref(identity.client), params.audience),
            ),
            _exported(
                names.OUTPUT_TOKEN_URL,
                "Token endpoint (grant_type=client_credentials)",
                _pool_or(Sub(TOKEN_URL, Prefix=identity.domain_prefix), params.token_url),
            ),
            _exported(
                names.OUTPUT_WRITE_SCOPE,
                "Scope writes need (AUTH_WRITE_SCOPE)",
                _pool_or(scope(names.WRITE_SCOPE), params.write_scope_name),
            ),
            _exported(
                names.OUTPUT_READ_SCOPE,
                "Scope reads need with AuthReadScope=true (AUTH_READ_SCOPE)",
                _pool_or(scope(names.READ_SCOPE), params.read_scope_name),
            ),
            _exported(
                names.OUTPUT_USER_POOL_ID,
                "User pool (aws cognito-idp describe-user-pool-client --user-pool-id)",
                Ref(identity.user_pool),
                Condition=names.CREATES_USER_POOL,
            ),
        ]
    )
