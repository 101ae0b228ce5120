"""Names of the stacks' parameters, resources, conditions and outputs: each fact in one place.

Physical names derive from the stack name (``AWS::StackName``), so the default stack ``api-cars``
carries exactly ``api-cars-cluster`` and ``/ecs/api-cars`` while a second stack never collides.
The ``cars-stack`` command reads these constants too; it never spells a name on its own.
"""

# ruff: noqa: S105 (names of parameters that hold secret ARNs, not secrets)

DEFAULT_STACK_NAME = "api-cars"
SERVICE_TEMPLATE_FILE = "templates/api-cars.yaml"
REGISTRY_TEMPLATE_FILE = "templates/registry.yaml"
OIDC_TEMPLATE_FILE = "templates/github-oidc.yaml"
DATA_TEMPLATE_FILE = "templates/data.yaml"
NETWORK_TEMPLATE_FILE = "templates/network.yaml"
# The data stack's default name: the service stack's name plus this suffix (api-cars-data).
DATA_STACK_SUFFIX = "-data"
DEFAULT_DATA_STACK_NAME = DEFAULT_STACK_NAME + DATA_STACK_SUFFIX
IDENTITY_TEMPLATE_FILE = "templates/identity.yaml"
# The identity stack's default name, derived like the data stack's (api-cars-identity).
IDENTITY_STACK_SUFFIX = "-identity"
DEFAULT_IDENTITY_STACK_NAME = DEFAULT_STACK_NAME + IDENTITY_STACK_SUFFIX
# The network stack's (api-cars-network) and the registry stack's (api-cars-registry) likewise.
NETWORK_STACK_SUFFIX = "-network"
DEFAULT_NETWORK_STACK_NAME = DEFAULT_STACK_NAME + NETWORK_STACK_SUFFIX
REGISTRY_STACK_SUFFIX = "-registry"
DEFAULT_REGISTRY_STACK_NAME = DEFAULT_STACK_NAME + REGISTRY_STACK_SUFFIX

# Parameters
IMAGE_TAG = "ImageTag"
REPOSITORY_NAME = "RepositoryName"
DEFAULT_REPOSITORY = "api-cars"
DESIRED_COUNT = "DesiredCount"
TASK_CPU = "TaskCpu"
TASK_MEMORY = "TaskMemory"
CONTAINER_PORT = "ContainerPort"
HEALTH_CHECK_PATH = "HealthCheckPath"
HEALTH_CHECK_GRACE_PERIOD = "HealthCheckGracePeriodSeconds"
CERTIFICATE_ARN = "CertificateArn"
DOMAIN_NAME = "DomainName"
DATABASE_URL_SECRET_ARN = "DatabaseUrlSecretArn"
REDIS_URL_SECRET_ARN = "RedisUrlSecretArn"
LOG_RETENTION_DAYS = "LogRetentionDays"
AUTO_SCALING = "AutoScaling"
AUTO_SCALING_MIN = "AutoScalingMinCount"
AUTO_SCALING_MAX = "AutoScalingMaxCount"
CPU_TARGET_PERCENT = "CpuTargetPercent"
REQUESTS_PER_TARGET = "RequestsPerTargetPerMinute"
# Predictive scaling (off by default) and the business-hours floor (BusinessHours empty: none)
PREDICTIVE_SCALING = "PredictiveScaling"
PREDICTIVE_MODE = "PredictiveMode"
BUSINESS_HOURS = "BusinessHours"
BUSINESS_HOURS_MIN_COUNT = "BusinessHoursMinCount"
BUSINESS_HOURS_TIMEZONE = "BusinessHoursTimezone"
VPC_ID = "VpcId"
VPC_NAME = "VpcName"
PUBLIC_SUBNET_IDS = "PublicSubnetIds"
TASK_SUBNET_IDS = "TaskSubnetIds"
SECRETS_KMS_KEY_ARN = "SecretsKmsKeyArn"
# Every stack that creates IAM roles for the CloudFormation role takes this (optional) parameter.
PERMISSIONS_BOUNDARY_ARN = "PermissionsBoundaryArn"
# Fargate Spot (docs/architecture.md, "Fargate Spot"): on with SpotWeight above 0, off by default,
# since turning it on changes how the service is launched (LaunchType -> CapacityProviderStrategy).
ON_DEMAND_BASE = "OnDemandBase"
ON_DEMAND_WEIGHT = "OnDemandWeight"
SPOT_WEIGHT = "SpotWeight"

# Parameters naming the longer-lived stacks a stack imports from (docs/architecture.md)
NETWORK_STACK_NAME = "NetworkStackName"
REGISTRY_STACK_NAME = "RegistryStackName"
SERVICE_STACK_NAME = "ServiceStackName"
ALARM_TOPIC_ARN = "AlarmTopicArn"
ERROR_RATE_ALARM_PERCENT = "ErrorRateAlarmPercent"
LATENCY_ALARM_P99_SECONDS = "LatencyAlarmP99Seconds"
# Production guard rails of the load balancer (docs/architecture.md, "Guard rails")
REQUIRE_HTTPS = "RequireHttps"
ACCESS_LOGS = "AccessLogs"
ACCESS_LOG_BUCKET_NAME = "AccessLogBucketName"
# Off on a first create (cars-stack), so a failed create can roll back; on after it succeeded.
LOAD_BALANCER_DELETION_PROTECTION = "LoadBalancerDeletionProtection"

# Service-stack parameters that wire it to the data stack (docs/architecture.md, "Stack layout")
DATA_STACK_NAME = "DataStackName"
DATA_STACK_HAS_CACHE = "DataStackHasCache"
DATA_STACK_HAS_READERS = "DataStackHasReaders"
EMBEDDED_DEMO_DATABASE = "EmbeddedDemoDatabase"
# ... and to its issuer (docs/architecture.md, "Who may write"): the identity stack's, or none with
# the explicit AuthDisabled=true.
IDENTITY_STACK_NAME = "IdentityStackName"
AUTH_READ_SCOPE = "AuthReadScope"
AUTH_DISABLED = "AuthDisabled"

# Conditions (deploy-time decisions), read as booleans
USE_HTTPS = "UseHttps"
HAS_DOMAIN_NAME = "HasDomainName"
ENABLE_AUTO_SCALING = "EnableAutoScaling"
ENABLE_PREDICTIVE_SCALING = "EnablePredictiveScaling"
PREDICTS_REQUESTS = "PredictsRequests"
HAS_BUSINESS_HOURS = "HasBusinessHours"
HAS_DATABASE_URL_SECRET = "HasDatabaseUrlSecret"
HAS_REDIS_URL_SECRET = "HasRedisUrlSecret"
HAS_ANY_SECRET = "HasAnySecret"
HAS_VPC_ID = "HasVpcId"
HAS_VPC_NAME = "HasVpcName"
HAS_PUBLIC_SUBNET_IDS = "HasPublicSubnetIds"
HAS_TASK_SUBNET_IDS = "HasTaskSubnetIds"
HAS_SECRETS_KMS_KEY = "HasSecretsKmsKey"
HAS_ALARM_TOPIC = "HasAlarmTopic"
HAS_PERMISSIONS_BOUNDARY = "HasPermissionsBoundary"
ENABLE_ACCESS_LOGS = "EnableAccessLogs"
HAS_ACCESS_LOG_BUCKET = "HasAccessLogBucket"
USE_SPOT = "UseSpot"
# ... and those the data-stack parameters drive
HAS_DATA_STACK = "HasDataStack"
HAS_DATA_STACK_CACHE = "HasDataStackCache"
HAS_DATA_STACK_READERS = "HasDataStackReaders"
# ... and those the auth parameters drive
HAS_IDENTITY_STACK = "HasIssuer"  # short names: the service template's byte budget
AUTH_PROTECTS_READS = "ReadsScoped"

# Fixed names inside the stack
CONTAINER_NAME = "api-cars-container"
SERVICE_NAME = "api"
TMP_VOLUME = "tmp"

# Physical names, `{stack}` standing for the stack name: the service stack names its resources
# with them and the GitHub OIDC stack scopes its CloudFormation role to them.
CLUSTER_NAME = "{stack}-cluster"
TASK_FAMILY = "{stack}-api"
API_LOG_GROUP_NAME = "/ecs/{stack}"
FUNCTION_LOG_GROUP_PREFIX = "/aws/lambda/{stack}/"
OWN_STACK_NAME = "${AWS::StackName}"  # `stack` in the service stack's own Fn::Sub texts

# Logical IDs of the service stack (the cars-stack command inspects the first ones)
TASK_DEFINITION = "TaskDefinition"
SERVICE = "Service"
CLUSTER = "Cluster"
LOG_GROUP = "LogGroup"
IMAGE_CHECK = "ImageCheck"
VPC_LOOKUP = "VpcLookup"
LOAD_BALANCER = "LoadBalancer"
TARGET_GROUP = "TargetGroup"
HTTP_LISTENER = "HttpListener"
HTTPS_LISTENER = "HttpsListener"
LOAD_BALANCER_SECURITY_GROUP = "LoadBalancerSecurityGroup"
TASK_SECURITY_GROUP = "TaskSecurityGroup"
TASK_INGRESS_FROM_LOAD_BALANCER = "TaskIngressFromLoadBalancer"
EXECUTION_ROLE = "ExecutionRole"
TASK_ROLE = "TaskRole"
LOAD_BALANCER_5XX_ALARM = "LoadBalancer5xxAlarm"
TARGET_5XX_ALARM = "Target5xxAlarm"
UNHEALTHY_TARGETS_ALARM = "UnhealthyTargetsAlarm"
LATENCY_ALARM = "LatencyP99Alarm"
SCALABLE_TARGET = "ScalableTarget"
CPU_SCALING_POLICY = "CpuScalingPolicy"
REQUEST_SCALING_POLICY = "RequestCountScalingPolicy"
PREDICTIVE_SCALING_POLICY = "PredictiveScalingPolicy"
# The predictive policy's name: cars-stack status asks for its forecast by it.
PREDICTIVE_POLICY_NAME = "predictive"
PREDICTIVE_SCALING_OFF = "off"
PREDICTS_CPU = "cpu"
PREDICTS_REQUESTS_VALUE = "requests"
VPC_LOOKUP_FUNCTION = "VpcLookupFunction"
VPC_LOOKUP_ROLE = "VpcLookupRole"
VPC_LOOKUP_LOG_GROUP = "VpcLookupLogGroup"
IMAGE_CHECK_FUNCTION = "ImageCheckFunction"
IMAGE_CHECK_ROLE = "ImageCheckRole"
IMAGE_CHECK_LOG_GROUP = "ImageCheckLogGroup"

# Custom resource types and the attributes they return (contract with lambdas/)
VPC_LOOKUP_TYPE = "Custom::VpcLookup"
IMAGE_CHECK_TYPE = "Custom::ImageCheck"
# Custom::VpcLookup's attributes, which the network stack exports under the same names.
VPC_LOOKUP_ATTRIBUTES = (
    "VpcId",
    "VpcCidr",
    "PublicSubnetIds",
    "TaskSubnetIds",
    "AvailabilityZones",
    "TaskAssignPublicIp",
)

# Outputs
OUTPUT_SERVICE_URL = "ServiceUrl"
OUTPUT_IMAGE_TAG = "LiveImageTag"
OUTPUT_CLUSTER_NAME = "ClusterName"
OUTPUT_SERVICE_NAME = "ServiceName"
OUTPUT_LOAD_BALANCER_DNS = "LoadBalancerDnsName"
OUTPUT_LOG_GROUP = "LogGroupName"
OUTPUT_DATABASE_MODE = "DatabaseMode"
OUTPUT_WRITE_ACCESS = "WriteAccess"  # "protected by <issuer>" or "OPEN: ..." (cars-stack status)
WRITE_ACCESS_OPEN = "OPEN: anyone can write (AuthDisabled=true)"
OUTPUT_ALARM_TOPIC = "AlarmTopic"
# What the AlarmTopic output and `cars-stack status` say without AlarmTopicArn.
NO_ALARM_TOPIC = "none: alarms page nobody"
OUTPUT_TRANSPORT = "Transport"
# What the Transport output and cars-stack status say of a service without a certificate.
PLAIN_HTTP = "plain HTTP (no certificate): traffic is unencrypted"
# Rules of the service stack: no database only as the named demo, and the demo is one task.
DATABASE_REQUIRED_RULE = "DatabaseRequired"
EMBEDDED_DEMO_RULE = "EmbeddedDemoIsOneTask"
HTTPS_REQUIRED_RULE = "HttpsRequired"
ACCESS_LOG_BUCKET_RULE = "AccessLogsNeedABucket"
# Rules of the auth mode: an issuer or the explicit switch, never both, never neither.
AUTH_REQUIRED_RULE = "AuthRequired"
AUTH_DISABLED_RULE = "AuthOffAlone"

# Registry stack (templates/registry.yaml)
KEEP_PRE_RELEASES = "KeepPreReleases"
REPOSITORY = "Repository"
OUTPUT_REPOSITORY_NAME = "RepositoryName"
OUTPUT_REPOSITORY_URI = "RepositoryUri"
OUTPUT_REPOSITORY_ARN = "RepositoryArn"
# The image check's function, which the service stacks' Custom::ImageCheck resources call.
OUTPUT_IMAGE_CHECK_SERVICE_TOKEN = "ImageCheckServiceToken"

# GitHub OIDC stack (templates/github-oidc.yaml)
GITHUB_ORG = "GitHubOrg"
GITHUB_REPO = "GitHubRepo"
TARGET_STACK_NAME = "StackName"
CREATE_OIDC_PROVIDER = "CreateOidcProvider"
OIDC_PROVIDER = "GitHubOidcProvider"
PUBLISH_ROLE = "PublishRole"
DEPLOY_ROLE = "DeployRole"
CLOUDFORMATION_ROLE = "CloudFormationRole"
PRODUCTION_ENVIRONMENT = "production"
OUTPUT_PUBLISH_ROLE_ARN = "PublishRoleArn"
OUTPUT_DEPLOY_ROLE_ARN = "DeployRoleArn"
OUTPUT_CLOUDFORMATION_ROLE_ARN = "CloudFormationRoleArn"
# The permissions boundary every role the CloudFormation role creates must carry; cars-stack
# derives its ARN from the --cfn-role-arn's account and the stack name.
PERMISSIONS_BOUNDARY = "PermissionsBoundary"
PERMISSIONS_BOUNDARY_POLICY_NAME = "{stack}-permissions-boundary"
OUTPUT_PERMISSIONS_BOUNDARY_ARN = "PermissionsBoundaryArn"
RELEASE_ROLES_GUARD = "ReleaseRolesGuard"

# Every exported output is "${AWS::StackName}-<output name>": a stack imports another's with
# EXPORT.format(stack=<that stack's name>, output=<name>) (the network, data and registry stacks).
EXPORT = "{stack}-{output}"
DATA_EXPORT = EXPORT

# Data stack (templates/data.yaml)
READER_COUNT = "ReaderCount"
MIN_CAPACITY = "MinCapacity"
MAX_CAPACITY = "MaxCapacity"
DATABASE_NAME = "DatabaseName"
BACKUP_RETENTION_DAYS = "BackupRetentionDays"
DELETION_PROTECTION = "DeletionProtection"
ENABLE_CACHE = "EnableCache"
CACHE_MAX_DATA_STORAGE_GB = "CacheMaxDataStorageGB"
CACHE_MAX_ECPU_PER_SECOND = "CacheMaxECPUPerSecond"
# Conditions of the data stack
HAS_CACHE = "HasCache"
HAS_READER = "HasReader{index}"  # HasReader1, HasReader2, ...: ReaderCount >= index
MAX_READERS = 2
OUTPUT_WRITER_ENDPOINT = "WriterEndpoint"
# The cluster's reader endpoint, which Aurora points at the writer while there are no readers: one
# value whatever ReaderCount is (an imported export cannot change).
OUTPUT_READER_ENDPOINT = "ReaderEndpoint"
OUTPUT_DATABASE_PORT = "DatabasePort"
OUTPUT_DATABASE_NAME = "DatabaseName"
OUTPUT_DATABASE_SECRET_ARN = "DatabaseSecretArn"
OUTPUT_CACHE_ENDPOINT = "CacheEndpoint"
OUTPUT_CACHE_PORT = "CachePort"
OUTPUT_CACHE_SECRET_ARN = "CacheSecretArn"
OUTPUT_CLIENT_SECURITY_GROUP = "ClientSecurityGroupId"
OUTPUT_DATA_VPC_ID = "VpcId"
# Logical IDs of the data stack that hold data (cars-stack refuses to replace or delete them)
DATABASE_CLUSTER = "DatabaseCluster"
DATABASE_WRITER = "DatabaseWriter"
DATABASE_READER = "DatabaseReader{index}"  # DatabaseReader1, DatabaseReader2, ...
CACHE = "Cache"
DATABASE_SECRET = "DatabaseSecret"
CACHE_SECRET = "CacheSecret"
CLIENT_SECURITY_GROUP = "DataClientSecurityGroup"
# The other resources of the data stack
DATABASE_SECRET_ATTACHMENT = "DatabaseSecretAttachment"
DATABASE_SUBNET_GROUP = "DatabaseSubnetGroup"
DATABASE_SECURITY_GROUP = "DatabaseSecurityGroup"
DATABASE_INGRESS_FROM_CLIENTS = "DatabaseIngressFromClients"
CLIENT_EGRESS_TO_DATABASE = "ClientEgressToDatabase"
CACHE_SECURITY_GROUP = "CacheSecurityGroup"
CACHE_INGRESS_FROM_CLIENTS = "CacheIngressFromClients"
CLIENT_EGRESS_TO_CACHE = "ClientEgressToCache"
CACHE_USER = "CacheUser"
CACHE_DEFAULT_USER = "CacheDefaultUser"
CACHE_USER_GROUP = "CacheUserGroup"
# Inside the data stack: the database's master user and the cache's application user
DATABASE_MASTER_USER = "cars_admin"
CACHE_USER_NAME = "cars-api"
DATA_STACK_POLICY_FILE = "templates/data-stack-policy.json"
# Physical names in the data stack, `{stack}` standing for its name (the GitHub OIDC stack scopes
# the CloudFormation role to them). ElastiCache IDs must be lower case: so must the stack name.
DATA_SECRET_NAME = "{stack}/{name}"  # {name}: database, cache
CACHE_NAME = "{stack}"  # the serverless cache and its user group
CACHE_USER_ID = "{stack}-{user}"  # {user}: api, default
# The access-log bucket of the data stack, kept when the stack is deleted (DeletionPolicy Retain).
# Bucket names are global: account, Region and the stack ID's first eight characters make it
# unique, so a data stack created again after --delete-data gets a bucket of its own.
ACCESS_LOG_BUCKET_NAME_PATTERN = "{stack}-alb-{account}-{region}-{id}"
ACCESS_LOG_DAYS = "AccessLogRetentionDays"
ACCESS_LOG_BUCKET = "AccessLogBucket"
ACCESS_LOG_BUCKET_POLICY = "AccessLogBucketPolicy"
ELB_ACCOUNT_REGION = "ElbAccountRegion"  # a Region whose log delivery is an ELB account
ELB_ACCOUNT_IN_REGION = "ElbAccountIn{region}"  # ElbAccountInEuWest1: the stack is in eu-west-1
OUTPUT_ACCESS_LOG_BUCKET = "AccessLogBucket"

# Identity stack (templates/identity.yaml): the issuer the service trusts, a Cognito user pool for
# machine clients or an existing issuer. Its outputs are exported like the data stack's
# (EXPORT); the service stack imports them by IdentityStackName.
DOMAIN_PREFIX = "DomainPrefix"
ACCESS_TOKEN_MINUTES = "AccessTokenValidityMinutes"
AUTH_ISSUER = "AuthIssuer"
AUTH_AUDIENCE = "AuthAudience"
AUTH_TOKEN_URL = "AuthTokenUrl"
WRITE_SCOPE_NAME = "WriteScopeName"
READ_SCOPE_NAME = "ReadScopeName"
HAS_DOMAIN_PREFIX = "HasDomainPrefix"
CREATES_USER_POOL = "CreatesUserPool"  # AuthIssuer empty
USES_EXISTING_ISSUER = "UsesExistingIssuer"
# Its rules: an existing issuer comes with its audience and token URL; Cognito takes neither.
EXISTING_ISSUER_RULE = "ExistingIssuerIsComplete"
USER_POOL_RULE = "UserPoolTakesNoIssuerSettings"
EXISTING_ISSUER = "ExistingIssuer"  # the placeholder resource when no pool is created
USER_POOL = "UserPool"
USER_POOL_DOMAIN = "UserPoolDomain"
RESOURCE_SERVER = "ResourceServer"
MACHINE_CLIENT = "MachineClient"
# The resource server's identifier and the API's scopes; Cognito names one "<identifier>/<name>".
RESOURCE_SERVER_ID = "api-cars"
WRITE_SCOPE = "cars:write"
READ_SCOPE = "cars:read"
# Physical names, `{stack}` standing for the identity stack's name.
USER_POOL_NAME = "{stack}-machines"
OUTPUT_ISSUER = "Issuer"
OUTPUT_AUDIENCE = "Audience"
OUTPUT_TOKEN_URL = "TokenUrl"
OUTPUT_WRITE_SCOPE = "WriteScope"
OUTPUT_READ_SCOPE = "ReadScope"
OUTPUT_USER_POOL_ID = "UserPoolId"

# The edge (docs/architecture.md, "Edge"): the service's CloudFrontOrigin says what stands in front
# of its load balancer; the edge stack (templates/edge.yaml, regional) holds the distribution or the
# regional WAF, the edge-global stack (templates/edge-global.yaml, us-east-1) the CLOUDFRONT-scope
# web ACL and the certificate.
CLOUDFRONT_ORIGIN = "CloudFrontOrigin"
ORIGIN_NONE = "none"  # no CloudFront: the public ALB as today
ORIGIN_PUBLIC_ALB = "public-alb"  # a public ALB that admits only CloudFront
ORIGIN_VPC = "vpc-origin"  # an internal ALB in the task subnets, a CloudFront VPC origin
CLOUDFRONT_ORIGINS = (ORIGIN_NONE, ORIGIN_PUBLIC_ALB, ORIGIN_VPC)
# Conditions of the service (short: its byte budget)
VPC_ORIGIN = "VpcOrigin"
CDN_ONLY = "CdnOnly"  # public-alb: public ingress dropped, listeners answer 403 by default
# The service's exports the edge stack imports (EXPORT: <service stack>-<output>)
OUTPUT_LOAD_BALANCER_ARN = "LoadBalancerArn"
OUTPUT_LISTENER_ARN = "ListenerArn"  # the forwarding listener: HTTPS with a certificate
OUTPUT_TARGET_GROUP_ARN = "TargetGroupArn"
OUTPUT_ALB_SECURITY_GROUP = "AlbSecurityGroup"

EDGE_TEMPLATE_FILE = "templates/edge.yaml"
EDGE_GLOBAL_TEMPLATE_FILE = "templates/edge-global.yaml"
EDGE_STACK_SUFFIX = "-edge"
EDGE_GLOBAL_STACK_SUFFIX = "-edge-global"
DEFAULT_EDGE_STACK_NAME = DEFAULT_STACK_NAME + EDGE_STACK_SUFFIX
# CloudFront's certificates and CLOUDFRONT-scope web ACLs live in this Region only.
EDGE_GLOBAL_REGION = "us-east-1"
# The CloudFront managed prefix list (55 rules' weight in a security group: one port only).
CLOUDFRONT_PREFIX_LIST_NAME = "com.amazonaws.global.cloudfront.origin-facing"
# The header CloudFront adds and the ALB's listener rule checks (public-alb).
ORIGIN_HEADER = "X-Origin-Verify"
# Edge stack parameters
ORIGIN_MODE = "OriginMode"  # = the service's CloudFrontOrigin (cars-stack checks they agree)
ORIGIN_DOMAIN_NAME = "OriginDomainName"
CLOUDFRONT_PREFIX_LIST_ID = "CloudFrontPrefixListId"
EDGE_ALIAS = "Alias"
EDGE_CERTIFICATE_ARN = "CloudFrontCertificateArn"
PRICE_CLASS = "PriceClass"
WEB_ACL_ARN = "WebAclArn"
REGIONAL_WAF = "RegionalWaf"
RATE_LIMIT = "RateLimitPer5Minutes"
# Edge-global stack parameters
CERTIFICATE_DOMAIN_NAME = "CertificateDomainName"
HOSTED_ZONE_ID = "HostedZoneId"
# Edge conditions
HAS_CDN = "HasCdn"
PUBLIC_ALB_ORIGIN = "PublicAlbOrigin"
HAS_ORIGIN_DOMAIN = "HasOriginDomain"
HAS_ALIAS = "HasAlias"
HAS_EDGE_CERTIFICATE = "HasCertificate"  # = HasAlias (a Rule): cfn-lint reads this one
HAS_WEB_ACL = "HasWebAcl"
USE_REGIONAL_WAF = "UseRegionalWaf"
HAS_CERTIFICATE_DOMAIN = "HasCertificateDomain"
HAS_HOSTED_ZONE = "HasHostedZone"
# Edge rules
EDGE_MODE_RULE = "NoneNeedsTheRegionalWaf"
EDGE_WAF_RULE = "RegionalWafWithoutCloudFront"
EDGE_ALIAS_RULE = "AliasNeedsACertificate"
EDGE_PREFIX_LIST_RULE = "PublicAlbNeedsThePrefixList"
# Logical IDs of the edge stacks
DISTRIBUTION = "Distribution"
VPC_ORIGIN_RESOURCE = "VpcOriginEndpoint"
CACHE_POLICY = "CachePolicy"
ORIGIN_REQUEST_POLICY = "OriginRequestPolicy"
ORIGIN_SECRET = "OriginSecret"
ORIGIN_INGRESS = "AlbIngressFromCloudFront"
ORIGIN_LISTENER_RULE = "ForwardFromCloudFront"
REGIONAL_WEB_ACL = "RegionalWebAcl"
WEB_ACL_ASSOCIATION = "RegionalWebAclAssociation"
GLOBAL_WEB_ACL = "CloudFrontWebAcl"
EDGE_CERTIFICATE = "Certificate"
# Physical names, `{stack}` standing for the edge stack's name
ORIGIN_SECRET_NAME = "{stack}/origin-header"
WEB_ACL_NAME = "{stack}-acl"
# Edge outputs
OUTPUT_DISTRIBUTION_ID = "DistributionId"
OUTPUT_DISTRIBUTION_DOMAIN = "DistributionDomainName"
OUTPUT_WEB_ACL_ARN = "WebAclArn"
OUTPUT_CERTIFICATE_ARN = "CertificateArn"
OUTPUT_EDGE_MODE = "OriginMode"

# The bulk-import bucket, an option of the data stack (its files outlive a service teardown as the
# database does), and the import stack (templates/import.yaml) that consumes its events.
IMPORT_BUCKET_SWITCH = "EnableImportBucket"  # data-stack parameter: "true" creates the bucket
HAS_IMPORT_BUCKET = "HasImportBucket"
IMPORT_RETENTION_DAYS = "ImportRetentionDays"
IMPORT_BUCKET = "ImportBucket"
IMPORT_BUCKET_POLICY = "ImportBucketPolicy"
OUTPUT_IMPORT_BUCKET = "ImportBucket"
# <data stack>-imports-<account>-<region>-<first 8 characters of the stack ID>, like the log bucket.
IMPORT_BUCKET_NAME_PATTERN = "{stack}-imports-{account}-{region}-{id}"
IMPORTS_PREFIX = "imports/"
REPORTS_PREFIX = "reports/"
IMPORT_TEMPLATE_FILE = "templates/import.yaml"
IMPORT_STACK_SUFFIX = "-import"
DEFAULT_IMPORT_STACK_NAME = DEFAULT_STACK_NAME + IMPORT_STACK_SUFFIX
# Stacks a default deploy does not create (cars-stack deploys them when asked, the import stack
# when the data stack has its bucket): the picture draws them as options that are off.
ON_REQUEST_TEMPLATE_FILES = frozenset(
    {EDGE_TEMPLATE_FILE, EDGE_GLOBAL_TEMPLATE_FILE, IMPORT_TEMPLATE_FILE}
)
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
# Import-stack parameters
API_URL = "ApiUrl"
MAXIMUM_CONCURRENCY = "MaximumConcurrency"
ROWS_PER_REQUEST = "RowsPerRequest"
HAS_ISSUER = "HasIssuer"
# Import-stack logical IDs and physical names ({stack}: the import stack's name)
IMPORT_QUEUE = "ImportQueue"
IMPORT_DEAD_LETTER_QUEUE = "ImportDeadLetterQueue"
IMPORT_QUEUE_POLICY = "ImportQueuePolicy"
IMPORT_RULE = "ImportRule"
IMPORT_FUNCTION = "ImportFunction"
IMPORT_ROLE = "ImportRole"
IMPORT_LOG_GROUP = "ImportLogGroup"
IMPORT_DLQ_ALARM = "ImportDeadLetterAlarm"
IMPORT_FUNCTION_NAME = "{stack}"
IMPORT_QUEUE_NAME = "{stack}-queue"
IMPORT_DLQ_NAME = "{stack}-dlq"
IMPORT_RULE_NAME = "{stack}-objects"
OUTPUT_IMPORT_QUEUE = "QueueUrl"
OUTPUT_IMPORT_DLQ = "DeadLetterQueueUrl"
OUTPUT_IMPORT_FUNCTION = "FunctionName"
OUTPUT_IMPORT_BUCKET_NAME = "BucketName"
