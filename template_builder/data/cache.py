"""ElastiCache for Valkey Serverless, when `HasCache`: TLS only, access through a user group.

The group holds the application user (password from a generated secret) and a `default` user
that is switched off, so a connection that does not authenticate can do nothing. Serverless
always runs cluster mode and presents every slot on one endpoint; the API sends single-slot
commands only (api/cache.py). Usage limits bound the bill.
"""

from dataclasses import dataclass

from troposphere import Ref, Select, Sub, Template, elasticache, secretsmanager

from template_builder import names
from template_builder.data.aurora import generated_credentials, secret_value
from template_builder.data.network import DataNetwork
from template_builder.data.parameters import DataParameters

ENGINE = "valkey"
MAJOR_ENGINE_VERSION = "8"
# Everything but the commands Valkey marks dangerous (FLUSHALL, KEYS, CONFIG, DEBUG, ...).
APPLICATION_ACCESS = "on ~* +@all -@dangerous"
DISABLED_ACCESS = "off -@all"
SNAPSHOT_RETENTION_DAYS = 1


@dataclass(frozen=True)
class Cache:
    secret: secretsmanager.Secret
    cache: elasticache.ServerlessCache


def add_cache(template: Template, params: DataParameters, network: DataNetwork) -> Cache:
    secret = template.add_resource(
        generated_credentials(
            names.CACHE_SECRET,
            "cache",
            Sub("api-cars cache user of ${AWS::StackName}"),
            names.CACHE_USER_NAME,
            Condition=names.HAS_CACHE,
        )
    )
    password = secret_value(secret, "password")
    user = template.add_resource(
        elasticache.User(
            names.CACHE_USER,
            Condition=names.HAS_CACHE,
            Engine=ENGINE,
            UserId=Sub(names.CACHE_USER_ID.format(stack=names.OWN_STACK_NAME, user="api")),
            UserName=names.CACHE_USER_NAME,
            AccessString=APPLICATION_ACCESS,
            AuthenticationMode=elasticache.AuthenticationMode(
                Type="password", Passwords=[password]
            ),
        )
    )
    # A Valkey user group admits only users with a password; this one is off, so its password
    # (the application's) authenticates nobody.
    default_user = template.add_resource(
        elasticache.User(
            names.CACHE_DEFAULT_USER,
            Condition=names.HAS_CACHE,
            Engine=ENGINE,
            UserId=Sub(names.CACHE_USER_ID.format(stack=names.OWN_STACK_NAME, user="default")),
            UserName="default",
            AccessString=DISABLED_ACCESS,
            AuthenticationMode=elasticache.AuthenticationMode(
                Type="password", Passwords=[password]
            ),
        )
    )
    user_group = template.add_resource(
        elasticache.UserGroup(
            names.CACHE_USER_GROUP,
            Condition=names.HAS_CACHE,
            Engine=ENGINE,
            UserGroupId=Sub(names.CACHE_NAME.format(stack=names.OWN_STACK_NAME)),
            UserIds=[Ref(user), Ref(default_user)],
        )
    )
    subnets = params.network.list("TaskSubnetIds")
    cache = template.add_resource(
        elasticache.ServerlessCache(
            names.CACHE,
            Condition=names.HAS_CACHE,
            ServerlessCacheName=Sub(names.CACHE_NAME.format(stack=names.OWN_STACK_NAME)),
            Description=Sub("api-cars cache of ${AWS::StackName}"),
            Engine=ENGINE,
            MajorEngineVersion=MAJOR_ENGINE_VERSION,
            UserGroupId=Ref(user_group),
            SecurityGroupIds=[Ref(network.cache)],
            # Two zones: the first two of the lookup's subnets, one per zone.
            SubnetIds=[Select(0, subnets), Select(1, subnets)],
            CacheUsageLimits=elasticache.CacheUsageLimits(
                DataStorage=elasticache.DataStorage(
                    Maximum=Ref(params.cache_max_data_storage_gb), Unit="GB"
                ),
                ECPUPerSecond=elasticache.ECPUPerSecond(
                    Maximum=Ref(params.cache_max_ecpu_per_second)
                ),
            ),
            SnapshotRetentionLimit=SNAPSHOT_RETENTION_DAYS,
        )
    )
    return Cache(secret=secret, cache=cache)
