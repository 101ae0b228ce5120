"""The import stack (templates/import.yaml, AWS SAM) and the data stack's import bucket."""

import json

from template_builder import names
from template_builder.data.stack import build_data_template
from template_builder.imports import workload
from template_builder.imports.stack import build_import_template
from template_builder.service_stack import build_template


def _resources():
    return build_import_template().to_dict()["Resources"]


def test_the_stack_is_written_with_the_sam_transform():
    template = build_import_template().to_dict()
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert template["Resources"][names.IMPORT_FUNCTION]["Type"] == "AWS::Serverless::Function"


def test_the_queue_hides_a_message_six_function_timeouts_and_dead_letters_it_after_five():
    resources = _resources()
    function = resources[names.IMPORT_FUNCTION]["Properties"]
    queue = resources[names.IMPORT_QUEUE]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"]
    assert queue["RedrivePolicy"]["maxReceiveCount"] >= 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [names.IMPORT_DEAD_LETTER_QUEUE, "Arn"]
    }


def test_the_function_reports_batch_item_failures_under_a_concurrency_parameter():
    event = _resources()[names.IMPORT_FUNCTION]["Properties"]["Events"]["Queue"]
    assert event["Type"] == "SQS"
    assert event["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert event["Properties"]["ScalingConfig"] == {
        "MaximumConcurrency": {"Ref": names.MAXIMUM_CONCURRENCY}
    }


def test_the_rule_takes_csv_and_jsonl_under_imports_of_the_data_stacks_bucket():
    rule = _resources()[names.IMPORT_RULE]["Properties"]
    pattern = rule["EventPattern"]
    assert pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"]["key"] == [
        {"wildcard": "imports/*.csv"},
        {"wildcard": "imports/*.jsonl"},
    ]
    assert json.dumps(pattern["detail"]["bucket"]["name"]) == json.dumps(
        [{"Fn::ImportValue": {"Fn::Sub": "${DataStackName}-ImportBucket"}}]
    )


def test_only_the_rule_may_send_to_the_queue():
    policy = _resources()[names.IMPORT_QUEUE_POLICY]["Properties"]["PolicyDocument"]
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": ["events.amazonaws.com"]}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": [names.IMPORT_RULE, "Arn"]}}
    }


def test_the_functions_role_reads_imports_writes_reports_and_nothing_else_of_the_bucket():
    role = _resources()[names.IMPORT_ROLE]["Properties"]
    statements = role["Policies"][0]["PolicyDocument"]["Statement"]
    s3 = {
        tuple(s["Action"]): json.dumps(s["Resource"]) for s in statements if "s3:" in s["Action"][0]
    }
    assert set(s3) == {("s3:GetObject",), ("s3:GetObject", "s3:PutObject"), ("s3:ListBucket",)}
    assert "/imports/*" in s3[("s3:GetObject",)]
    assert "/reports/*" in s3[("s3:GetObject", "s3:PutObject")]
    assert not any(s["Resource"] == "*" or s["Resource"] == ["*"] for s in statements)


def test_the_service_never_needs_the_import_stack():
    assert "import" not in json.dumps(build_template().to_dict()).lower().replace("importvalue", "")


def test_the_import_bucket_is_encrypted_private_tls_only_expiring_and_tells_eventbridge():
    template = build_data_template().to_dict()
    bucket = template["Resources"][names.IMPORT_BUCKET]
    assert bucket["Condition"] == names.HAS_IMPORT_BUCKET
    props = bucket["Properties"]
    encryption = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms"}
    assert set(props["PublicAccessBlockConfiguration"].values()) == {True}
    assert props["NotificationConfiguration"] == {
        "EventBridgeConfiguration": {"EventBridgeEnabled": True}
    }
    prefixes = {rule["Prefix"] for rule in props["LifecycleConfiguration"]["Rules"]}
    assert prefixes == {"imports/", "reports/"}
    policy = template["Resources"][names.IMPORT_BUCKET_POLICY]["Properties"]["PolicyDocument"]
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert template["Parameters"][names.IMPORT_BUCKET_SWITCH]["Default"] == "false"


def test_the_function_code_is_the_handler_in_lambdas():
    code = _resources()[names.IMPORT_FUNCTION]["Properties"]["InlineCode"]
    assert "def handler(event, context=None, s3=None, api=None):" in code
    assert workload.MAX_FILE_BYTES == 2 * 1024**3


def test_the_bucket_is_exported_under_the_name_the_import_stack_imports(render):
    outputs = render.resolve(
        render.data(), stack_name="api-cars-data", **{names.IMPORT_BUCKET_SWITCH: "true"}
    )["Outputs"]
    assert outputs[names.OUTPUT_IMPORT_BUCKET]["Export"]["Name"] == "api-cars-data-ImportBucket"


BOUNDARY_ARN = "arn:aws:iam::123456789012:policy/api-cars-permissions-boundary"


def _import_role(render, **parameters):
    resolved = render.resolve(
        build_import_template().to_dict(),
        "api-cars-import",
        ApiUrl="https://cars.example.com",
        **parameters,
    )
    return resolved["Resources"][names.IMPORT_ROLE]["Properties"]


def test_with_the_boundary_set_the_functions_role_carries_it(render):
    role = _import_role(render, PermissionsBoundaryArn=BOUNDARY_ARN)
    assert role["PermissionsBoundary"] == BOUNDARY_ARN
    assert "PermissionsBoundary" not in _import_role(render)


def test_the_boundary_allows_every_action_the_functions_role_is_granted(render):
    boundary = render.oidc()["Resources"][names.PERMISSIONS_BOUNDARY]
    allowed = {
        action
        for s in boundary["Properties"]["PolicyDocument"]["Statement"]
        if s["Effect"] == "Allow"
        for action in s["Action"]
    }
    granted = {
        action
        for policy in _import_role(render)["Policies"]
        for s in policy["PolicyDocument"]["Statement"]
        for action in s["Action"]
    }
    assert "cognito-idp:DescribeUserPoolClient" in granted
    assert granted <= allowed, granted - allowed


def test_the_cloudformation_role_manages_the_queues_rule_and_mapping_of_the_import_stack(render):
    role = render.oidc()["Resources"][names.CLOUDFORMATION_ROLE]["Properties"]
    (policy,) = [p for p in role["Policies"] if p["PolicyName"] == "manage-import-stack"]
    actions = {a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"]}
    assert {
        "sqs:CreateQueue",
        "sqs:SetQueueAttributes",
        "events:PutRule",
        "events:PutTargets",
        "lambda:CreateEventSourceMapping",
        "lambda:DeleteEventSourceMapping",
    } <= actions
    (create,) = [
        s
        for s in policy["PolicyDocument"]["Statement"]
        if s["Action"] == ["lambda:CreateEventSourceMapping"]
    ]
    assert "function:${StackName}-import" in json.dumps(create["Condition"])


def test_the_function_may_send_only_to_its_own_queue_for_a_continuation():
    resources = _resources()
    function = resources[names.IMPORT_FUNCTION]["Properties"]
    assert function["Environment"]["Variables"]["QUEUE_URL"] == {"Ref": names.IMPORT_QUEUE}
    statements = resources[names.IMPORT_ROLE]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    (sending,) = [s for s in statements if "sqs:SendMessage" in s["Action"]]
    assert sending["Resource"] == [{"Fn::GetAtt": [names.IMPORT_QUEUE, "Arn"]}]
