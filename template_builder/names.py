"""Names of the stack's parameters, resources, conditions and outputs: each fact in one place.

Physical names derive from the stack name (``AWS::StackName``), so the default stack ``api-cars``
carries exactly ``api-cars-cluster`` and ``/ecs/api-cars`` while a second stack never collides.
The ``cars-stack`` command reads these constants too; it never spells a name on its own.
"""

DEFAULT_STACK_NAME = "api-cars"
SERVICE_TEMPLATE_FILE = "templates/api-cars.yaml"
REGISTRY_TEMPLATE_FILE = "templates/registry.yaml"
OIDC_TEMPLATE_FILE = "templates/github-oidc.yaml"

# Parameters
IMAGE_TAG = "ImageTag"
REPOSITORY_NAME = "RepositoryName"
DEFAULT_REPOSITORY = "api-cars"

# Fixed names inside the stack
CONTAINER_NAME = "api-cars-container"
SERVICE_NAME = "api"

# Logical IDs the cars-stack command inspects
TASK_DEFINITION = "TaskDefinition"
SERVICE = "Service"
CLUSTER = "Cluster"

# Outputs
OUTPUT_SERVICE_URL = "ServiceUrl"
OUTPUT_IMAGE_TAG = "LiveImageTag"
OUTPUT_CLUSTER_NAME = "ClusterName"
OUTPUT_SERVICE_NAME = "ServiceName"
OUTPUT_LOAD_BALANCER_DNS = "LoadBalancerDnsName"
OUTPUT_LOG_GROUP = "LogGroupName"
