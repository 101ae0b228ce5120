"""The data stack (templates/data.yaml): what it creates for each parameter combination, how it
protects the data, who may reach it, and what it exports for the service."""

import itertools
import json
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
from troposphere import rds

from template_builder import names
from template_builder.data.aurora import ServerlessV2Scaling, aurora_capacity
from template_builder.data.parameters import MAX_CAPACITIES, MIN_CAPACITIES
from template_builder.data.stack_policy import PROTECTED, stack_policy, stack_policy_text

ROOT = Path(__file__).resolve().parents[2]
# Typed as the template's Number parameters declare their AllowedValues.
READERS = [0, 1, 2]
MIN_CAPACITY = [0, 0.5]
CACHE = ["true", "false"]
COMBINATIONS = list(itertools.product(READERS, MIN_CAPACITY, CACHE))
LINT_CONFIG = ManualArgs(regions=["eu-west-1"], ignore_checks=["W2001"])
DATA_GROUPS = (names.DATABASE_SECURITY_GROUP, names.CACHE_SECURITY_GROUP)


def combination(readers: str, min_capacity: str, cache: str) -> dict:
    return {
        names.READER_COUNT: readers,
        names.MIN_CAPACITY: min_capacity,
        names.ENABLE_CACHE: cache,
    }


@pytest.fixture(scope="module")
def data_stack(render) -> dict:
    """The data stack as `aws cloudformation deploy` of templates/data.yaml makes it."""
    return render.resolve(render.data(), stack_name=names.DEFAULT_DATA_STACK_NAME)


def props(resolved: dict, logical_id: str) -> dict:
    return resolved["Resources"][logical_id]["Properties"]


@pytest.mark.parametrize(("readers", "min_capacity", "cache"), COMBINATIONS)
def test_every_combination_passes_cfn_lint(render, readers, min_capacity, cache):
    variant = render.variant(render.data(), **combination(readers, min_capacity, cache))
    assert "Conditions" not in variant
    assert lint(json.dumps(variant), config=LINT_CONFIG) == []


@pytest.mark.parametrize(("readers", "min_capacity", "cache"), COMBINATIONS)
def test_each_combination_creates_its_readers_and_cache_only(render, readers, min_capacity, cache):
    resources = render.resolve(render.data(), **combination(readers, min_capacity, cache))[
        "Resources"
    ]
    instances = sorted(k for k, r in resources.items() if r["Type"] == "AWS::RDS::DBInstance")
    expected = [names.DATABASE_READER.format(index=i) for i in range(1, readers + 1)]
    assert instances == sorted([names.DATABASE_WRITER, *expected])
    cache_parts = {
        names.CACHE,
        names.CACHE_SECRET,
        names.CACHE_USER,
        names.CACHE_DEFAULT_USER,
        names.CACHE_USER_GROUP,
        names.CACHE_SECURITY_GROUP,
        names.CACHE_INGRESS_FROM_CLIENTS,
        names.CLIENT_EGRESS_TO_CACHE,
    }
    assert (cache_parts & set(resources)) == (cache_parts if cache == "true" else set())
    scaling = props({"Resources": resources}, names.DATABASE_CLUSTER)[
        "ServerlessV2ScalingConfiguration"
    ]
    assert scaling["MinCapacity"] == str(min_capacity)


def test_the_cluster_is_serverless_v2_aurora_postgresql_encrypted_and_protected(data_stack):
    cluster = data_stack["Resources"][names.DATABASE_CLUSTER]
    p = cluster["Properties"]
    assert (p["Engine"], p["EngineVersion"].split(".")[0]) == ("aurora-postgresql", "17")
    assert p["StorageEncrypted"] is True
    assert p["DeletionProtection"] == "true"
    assert p["BackupRetentionPeriod"] == "7"
    assert p["CopyTagsToSnapshot"] is True
    assert (cluster["DeletionPolicy"], cluster["UpdateReplacePolicy"]) == ("Snapshot", "Snapshot")
    assert p["ServerlessV2ScalingConfiguration"] == {
        "MinCapacity": "0",
        "MaxCapacity": "4",
        "SecondsUntilAutoPause": 300,
    }


def test_deletion_protection_follows_its_parameter(render):
    resolved = render.resolve(render.data(), DeletionProtection="false")
    assert props(resolved, names.DATABASE_CLUSTER)["DeletionProtection"] == "false"


def test_every_instance_is_serverless_private_and_has_performance_insights(render):
    resolved = render.resolve(render.data(), ReaderCount=2)
    tiers = {}
    for logical_id, resource in render.of_type(resolved, "AWS::RDS::DBInstance").items():
        p = resource["Properties"]
        assert p["DBInstanceClass"] == "db.serverless"
        assert p["DBClusterIdentifier"] == names.DATABASE_CLUSTER
        assert p["PubliclyAccessible"] is False
        assert p["EnablePerformanceInsights"] is True
        tiers[logical_id] = p["PromotionTier"]
    # Tiers 0-1 scale with the writer, so a promoted reader has the writer's capacity.
    assert tiers == {names.DATABASE_WRITER: 0, "DatabaseReader1": 1, "DatabaseReader2": 1}


def test_the_database_lives_in_the_lookups_task_subnets_of_at_least_two_zones(render, data_stack):
    subnets = props(data_stack, names.DATABASE_SUBNET_GROUP)["SubnetIds"]
    assert subnets == render.vpc["TaskSubnetIds"].split(",")
    assert len(set(render.vpc["AvailabilityZones"].split(","))) >= 2
    assert props(data_stack, names.DATABASE_CLUSTER)["DBSubnetGroupName"] == (
        names.DATABASE_SUBNET_GROUP
    )


def test_the_master_credentials_come_from_the_generated_secret_never_the_template(render):
    template = render.data()
    cluster = template["Resources"][names.DATABASE_CLUSTER]["Properties"]
    for key, prop in (("username", "MasterUsername"), ("password", "MasterUserPassword")):
        assert cluster[prop] == {
            "Fn::Sub": [
                "{{resolve:secretsmanager:${Secret}:SecretString:" + key + "}}",
                {"Secret": {"Ref": names.DATABASE_SECRET}},
            ]
        }
    generated = template["Resources"][names.DATABASE_SECRET]["Properties"]["GenerateSecretString"]
    assert json.loads(generated["SecretStringTemplate"]) == {"username": names.DATABASE_MASTER_USER}
    assert generated["GenerateStringKey"] == "password"
    assert generated["PasswordLength"] >= 32
    assert "Parameters" not in json.dumps(generated)
    attachment = template["Resources"][names.DATABASE_SECRET_ATTACHMENT]["Properties"]
    assert attachment == {
        "SecretId": {"Ref": names.DATABASE_SECRET},
        "TargetId": {"Ref": names.DATABASE_CLUSTER},
        "TargetType": "AWS::RDS::DBCluster",
    }


def test_no_parameter_or_output_carries_a_credential(render):
    template = render.data()
    for name in [*template["Parameters"], *template["Outputs"]]:
        assert "password" not in name.lower(), name


def test_the_cache_is_valkey_serverless_behind_a_user_group_with_default_off(data_stack):
    cache = props(data_stack, names.CACHE)
    assert (cache["Engine"], cache["MajorEngineVersion"]) == ("valkey", "8")
    assert cache["UserGroupId"] == names.CACHE_USER_GROUP
    assert cache["SecurityGroupIds"] == [names.CACHE_SECURITY_GROUP]
    group = props(data_stack, names.CACHE_USER_GROUP)
    assert sorted(group["UserIds"]) == sorted([names.CACHE_USER, names.CACHE_DEFAULT_USER])
    default = props(data_stack, names.CACHE_DEFAULT_USER)
    assert default["UserName"] == "default"
    assert default["AccessString"].split()[0] == "off"
    user = props(data_stack, names.CACHE_USER)
    assert user["UserName"] == names.CACHE_USER_NAME
    assert user["AccessString"].startswith("on ")
    assert user["AuthenticationMode"] == {
        "Type": "password",
        "Passwords": [f"{names.CACHE_SECRET}-password-value"],
    }


def test_the_cache_usage_limits_are_parameters(render):
    resolved = render.resolve(render.data(), CacheMaxDataStorageGB=3, CacheMaxECPUPerSecond=2000)
    limits = props(resolved, names.CACHE)["CacheUsageLimits"]
    assert limits == {
        "DataStorage": {"Maximum": "3", "Unit": "GB"},
        "ECPUPerSecond": {"Maximum": "2000"},
    }


def _ingress(resources: dict, group: str) -> list[dict]:
    inline = resources[group]["Properties"].get("SecurityGroupIngress", [])
    standalone = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
        and r["Properties"]["GroupId"] == f"{group}.GroupId"
    ]
    return inline + standalone


def test_the_database_and_cache_admit_only_the_data_client_group(data_stack):
    resources = data_stack["Resources"]
    found = {
        group: [
            (r["FromPort"], r["ToPort"], r.get("SourceSecurityGroupId"), r.get("CidrIp"))
            for r in _ingress(resources, group)
        ]
        for group in DATA_GROUPS
    }
    client = f"{names.CLIENT_SECURITY_GROUP}.GroupId"
    assert found == {
        names.DATABASE_SECURITY_GROUP: [(5432, 5432, client, None)],
        names.CACHE_SECURITY_GROUP: [(6379, 6380, client, None)],
    }


def test_the_data_tier_sends_nothing_and_the_clients_only_reach_it(data_stack):
    resources = data_stack["Resources"]
    for group in DATA_GROUPS:
        (egress,) = resources[group]["Properties"]["SecurityGroupEgress"]
        assert egress["CidrIp"] == "127.0.0.1/32"
    client_egress = sorted(
        (r["Properties"]["FromPort"], r["Properties"]["DestinationSecurityGroupId"])
        for r in resources.values()
        if r["Type"] == "AWS::EC2::SecurityGroupEgress"
    )
    assert client_egress == [
        (5432, f"{names.DATABASE_SECURITY_GROUP}.GroupId"),
        (6379, f"{names.CACHE_SECURITY_GROUP}.GroupId"),
    ]
    (only,) = resources[names.CLIENT_SECURITY_GROUP]["Properties"]["SecurityGroupEgress"]
    assert only["CidrIp"] == "127.0.0.1/32"


@pytest.mark.parametrize("readers", READERS)
def test_the_exports_are_the_same_whatever_the_reader_count(render, readers):
    """An export another stack imports cannot change: adding a reader must not change any."""
    outputs = render.resolve(render.data(), ReaderCount=readers)["Outputs"]
    baseline = render.resolve(render.data(), ReaderCount=0)["Outputs"]
    assert outputs == baseline
    assert outputs[names.OUTPUT_READER_ENDPOINT]["Value"] == (
        f"{names.DATABASE_CLUSTER}.ReadEndpoint.Address"
    )


@pytest.mark.parametrize("cache", CACHE)
def test_every_output_is_exported_under_the_name_the_service_imports(render, cache):
    outputs = render.resolve(render.data(), stack_name="api-cars-data", EnableCache=cache)[
        "Outputs"
    ]
    cache_outputs = {
        names.OUTPUT_CACHE_ENDPOINT,
        names.OUTPUT_CACHE_PORT,
        names.OUTPUT_CACHE_SECRET_ARN,
    }
    # The import bucket is exported only with EnableImportBucket=true (test_import_stack.py).
    expected = set(render.data_outputs) - (set() if cache == "true" else cache_outputs)
    assert set(outputs) == expected - {names.OUTPUT_IMPORT_BUCKET}
    for name, output in outputs.items():
        assert output["Export"]["Name"] == f"api-cars-data-{name}"


# --- capacity: troposphere's validator is older than Aurora's range ------------------------------
def test_troposphere_alone_still_refuses_valid_capacities():
    """Why ServerlessV2Scaling exists: drop it once this fails (troposphere caught up)."""
    for valid in (0, 256):
        with pytest.raises(ValueError, match="capacity"):
            rds.ServerlessV2ScalingConfiguration(MinCapacity=valid, MaxCapacity=256)


@pytest.mark.parametrize("capacity", [0, 0.5, 1, 127.5, 128, 256])
def test_the_capacity_validator_accepts_aurora_s_range(capacity):
    scaling = ServerlessV2Scaling(MinCapacity=capacity, MaxCapacity=capacity)
    assert scaling.to_dict()["MinCapacity"] == capacity


@pytest.mark.parametrize("capacity", [-1, 0.25, 0.75, 256.5, 300])
def test_the_capacity_validator_refuses_what_aurora_refuses(capacity):
    with pytest.raises(ValueError, match=r"not 0 or 0\.5-256"):
        aurora_capacity(capacity)


def test_every_capacity_offered_is_one_aurora_accepts(render):
    parameters = render.data()["Parameters"]
    assert parameters[names.MIN_CAPACITY]["AllowedValues"] == MIN_CAPACITIES
    assert parameters[names.MAX_CAPACITY]["AllowedValues"] == MAX_CAPACITIES
    for value in MIN_CAPACITIES + MAX_CAPACITIES:
        assert aurora_capacity(value) == value
    assert 0 in MIN_CAPACITIES  # auto-pause is offered, and is the default
    assert parameters[names.MIN_CAPACITY]["Default"] == 0


# --- the stack policy --------------------------------------------------------------------------
def test_the_stack_policy_denies_replacing_or_deleting_what_holds_data(render):
    (deny, allow) = stack_policy()["Statement"]
    assert (deny["Effect"], sorted(deny["Action"])) == ("Deny", ["Update:Delete", "Update:Replace"])
    assert deny["Resource"] == [f"LogicalResourceId/{logical_id}" for logical_id in PROTECTED]
    assert (allow["Effect"], allow["Action"], allow["Resource"]) == ("Allow", "Update:*", "*")


def test_the_stack_policy_names_resources_the_data_stack_has(render):
    assert set(PROTECTED) <= set(render.data()["Resources"])
    assert {names.DATABASE_CLUSTER, names.DATABASE_WRITER, names.CACHE} <= set(PROTECTED)


def test_the_stack_policy_file_is_the_builders(render):
    assert (ROOT / names.DATA_STACK_POLICY_FILE).read_text() == stack_policy_text()


@pytest.mark.parametrize("stack_name", ["api-cars-data", "api-cars-staging-data"])
def test_the_data_stacks_own_names_derive_from_its_stack_name(render, stack_name):
    resources = render.resolve(render.data(), stack_name=stack_name)["Resources"]
    named = {
        names.DATABASE_SECRET: ("Name", f"{stack_name}/database"),
        names.CACHE_SECRET: ("Name", f"{stack_name}/cache"),
        names.CACHE: ("ServerlessCacheName", stack_name),
        names.CACHE_USER_GROUP: ("UserGroupId", stack_name),
        names.CACHE_USER: ("UserId", f"{stack_name}-api"),
        names.CACHE_DEFAULT_USER: ("UserId", f"{stack_name}-default"),
    }
    for logical_id, (prop, value) in named.items():
        assert resources[logical_id]["Properties"][prop] == value, logical_id


# --- updates: what an operator changes never replaces the data ------------------------------------
def _changes(before: dict, after: dict) -> dict[str, set[str]]:
    """Properties that differ, per resource present in both."""
    changed = {}
    for logical_id, resource in before["Resources"].items():
        other = after["Resources"].get(logical_id)
        if other is None or other == resource:
            continue
        keys = set(resource["Properties"]) | set(other["Properties"])
        changed[logical_id] = {
            k for k in keys if resource["Properties"].get(k) != other["Properties"].get(k)
        }
    return changed


def _create_only(resource_type: str) -> set[str]:
    schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema("us-east-1", resource_type).schema
    return {p.split("/")[2] for p in schema.get("createOnlyProperties", [])}


def test_turning_deletion_protection_on_is_one_in_place_change(render):
    """Step 2 of the create order: it changes exactly the cluster's DeletionProtection, which
    CloudFormation updates in place (not a create-only property)."""
    before = render.resolve(render.data(), DeletionProtection="false")
    after = render.resolve(render.data(), DeletionProtection="true")
    assert _changes(before, after) == {names.DATABASE_CLUSTER: {"DeletionProtection"}}
    assert "DeletionProtection" not in _create_only("AWS::RDS::DBCluster")


@pytest.mark.parametrize(
    "change",
    [
        {names.MIN_CAPACITY: 0.5},
        {names.MAX_CAPACITY: 16},
        {names.READER_COUNT: 2},
        {names.BACKUP_RETENTION_DAYS: 14},
        {names.CACHE_MAX_DATA_STORAGE_GB: 5, names.CACHE_MAX_ECPU_PER_SECOND: 10000},
        {names.ENABLE_CACHE: "false"},
    ],
)
def test_changing_a_parameter_replaces_nothing_that_holds_data(render, change):
    before = render.resolve(render.data())
    after = render.resolve(render.data(), **change)
    for logical_id, keys in _changes(before, after).items():
        if logical_id in PROTECTED:
            resource_type = before["Resources"][logical_id]["Type"]
            assert not keys & _create_only(resource_type), (logical_id, keys)
    assert names.DATABASE_CLUSTER in after["Resources"]
    assert names.DATABASE_WRITER in after["Resources"]


@pytest.mark.parametrize(("low", "high"), list(itertools.product(MIN_CAPACITIES, MAX_CAPACITIES)))
def test_a_minimum_above_the_maximum_is_refused_before_anything_is_created(render, low, high):
    failures = render.rule_failures(render.data(), MinCapacity=low, MaxCapacity=high)
    assert bool(failures) == (low > high)
