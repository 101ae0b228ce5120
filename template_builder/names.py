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
VPC_ID = "VpcId"
VPC_NAME = "VpcName"

# Conditions (deploy-time decisions), read as booleans
USE_HTTPS = "UseHttps"
HAS_DOMAIN_NAME = "HasDomainName"
ENABLE_AUTO_SCALING = "EnableAutoScaling"
HAS_DATABASE_URL_SECRET = "HasDatabaseUrlSecret"
HAS_REDIS_URL_SECRET = "HasRedisUrlSecret"
HAS_ANY_SECRET = "HasAnySecret"
HAS_VPC_ID = "HasVpcId"
HAS_VPC_NAME = "HasVpcName"

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
SCALABLE_TARGET = "ScalableTarget"
CPU_SCALING_POLICY = "CpuScalingPolicy"
REQUEST_SCALING_POLICY = "RequestCountScalingPolicy"
VPC_LOOKUP_FUNCTION = "VpcLookupFunction"
VPC_LOOKUP_ROLE = "VpcLookupRole"
VPC_LOOKUP_LOG_GROUP = "VpcLookupLogGroup"
IMAGE_CHECK_FUNCTION = "ImageCheckFunction"
IMAGE_CHECK_ROLE = "ImageCheckRole"
IMAGE_CHECK_LOG_GROUP = "ImageCheckLogGroup"

# Custom resource types and the attributes they return (contract with lambdas/)
VPC_LOOKUP_TYPE = "Custom::VpcLookup"
IMAGE_CHECK_TYPE = "Custom::ImageCheck"

# Outputs
OUTPUT_SERVICE_URL = "ServiceUrl"
OUTPUT_IMAGE_TAG = "LiveImageTag"
OUTPUT_CLUSTER_NAME = "ClusterName"
OUTPUT_SERVICE_NAME = "ServiceName"
OUTPUT_LOAD_BALANCER_DNS = "LoadBalancerDnsName"
OUTPUT_LOG_GROUP = "LogGroupName"

# Registry stack (templates/registry.yaml)
KEEP_RELEASES = "KeepReleases"
REPOSITORY = "Repository"
OUTPUT_REPOSITORY_NAME = "RepositoryName"
OUTPUT_REPOSITORY_URI = "RepositoryUri"
OUTPUT_REPOSITORY_ARN = "RepositoryArn"

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
