"""The architecture picture (template_builder.architecture, .picture): drawn from the generated
templates, its dot source committed and compared, options off by default drawn off."""

import json
import re
import struct
from pathlib import Path

import cfn_flip
import pytest

from template_builder import __main__ as cli
from template_builder import architecture, names, picture
from template_builder.render import BUILDERS, render_all

ROOT = Path(__file__).resolve().parents[2]


def templates() -> dict[str, dict]:
    return {path: build().to_dict() for path, build in BUILDERS.items()}


@pytest.fixture(scope="module")
def rendered() -> dict[str, str]:
    return render_all()


@pytest.fixture(scope="module")
def default() -> architecture.Architecture:
    return architecture.build(templates())


def edges(arch: architecture.Architecture) -> dict[tuple[str, str], str]:
    return {(e.source, e.target): e.style for e in arch.edges}


def nodes(arch: architecture.Architecture) -> dict[str, architecture.Node]:
    return {n.id: n for s in arch.stacks for n in s.nodes}


# A stack in the shape the parallel options take: a CDN in front of the load balancer behind a
# parameter, a WAF ACL on the load balancer, a predictive scaling policy behind another.
OPTIONS = {
    "Parameters": {
        "Cdn": {"Type": "String", "Default": "false"},
        "Predictive": {"Type": "String", "Default": "false"},
        "Subnets": {"Type": "CommaDelimitedList", "Default": ""},
    },
    "Conditions": {
        "EnableCdn": {"Fn::Equals": [{"Ref": "Cdn"}, "true"]},
        "EnablePredictiveScaling": {"Fn::Equals": [{"Ref": "Predictive"}, "true"]},
    },
    "Resources": {
        "LoadBalancer": {
            "Type": "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "Properties": {"Subnets": {"Ref": "Subnets"}},
        },
        "Distribution": {
            "Type": "AWS::CloudFront::Distribution",
            "Condition": "EnableCdn",
            "Properties": {
                "DistributionConfig": {
                    "Origins": [{"DomainName": {"Fn::GetAtt": ["LoadBalancer", "DNSName"]}}]
                }
            },
        },
        "WebAcl": {"Type": "AWS::WAFv2::WebACL", "Properties": {"Scope": "REGIONAL"}},
        "WebAclAssociation": {
            "Type": "AWS::WAFv2::WebACLAssociation",
            "Properties": {
                "ResourceArn": {"Ref": "LoadBalancer"},
                "WebACLArn": {"Fn::GetAtt": ["WebAcl", "Arn"]},
            },
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {"LoadBalancers": [{"TargetGroupArn": {"Ref": "TargetGroup"}}]},
        },
        "TargetGroup": {"Type": "AWS::ElasticLoadBalancingV2::TargetGroup", "Properties": {}},
        "Listener": {
            "Type": "AWS::ElasticLoadBalancingV2::Listener",
            "Properties": {
                "LoadBalancerArn": {"Ref": "LoadBalancer"},
                "DefaultActions": [{"TargetGroupArn": {"Ref": "TargetGroup"}}],
            },
        },
        "ScalableTarget": {
            "Type": "AWS::ApplicationAutoScaling::ScalableTarget",
            "Properties": {"ResourceId": {"Fn::GetAtt": ["Service", "Name"]}},
        },
        "PredictiveScalingPolicy": {
            "Type": "AWS::ApplicationAutoScaling::ScalingPolicy",
            "Condition": "EnablePredictiveScaling",
            "Properties": {"ScalingTargetId": {"Ref": "ScalableTarget"}},
        },
        "TaskRole": {"Type": "AWS::IAM::Role", "Properties": {}},
    },
}


def test_the_committed_dot_source_is_what_make_template_draws(rendered):
    assert (ROOT / picture.DOT_FILE).read_text() == rendered[picture.DOT_FILE], (
        f"{picture.DOT_FILE} is stale: run `make template`"
    )


def test_the_picture_is_committed_beside_its_source():
    assert (ROOT / picture.IMAGE_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_dot_source_names_no_folder_of_this_machine(rendered):
    source = rendered[picture.DOT_FILE]
    icons = re.findall(r'image="([^"]+)"', source)
    assert icons
    assert str(picture.ICON_ROOT) not in source
    for icon in icons:
        assert icon.startswith("resources/aws/")
        assert (picture.ICON_ROOT / icon).is_file(), icon


def test_node_ids_are_the_stacks_logical_ids_not_random_ones(default):
    source = picture.dot_source(default)
    ids = set(re.findall(r"^\s*(\w+) \[", source, flags=re.MULTILINE)) - {"graph", "node", "edge"}
    assert "api_cars__LoadBalancer" in ids
    assert "data__DatabaseCluster" in ids
    assert not [i for i in ids if re.search(r"[0-9a-f]{32}", i)]


def test_every_kind_names_an_aws_icon_of_diagrams():
    kinds = [*architecture.KINDS.values(), architecture.CUSTOM_KIND, architecture.UNKNOWN_KIND]
    for kind in kinds:
        icon = picture._icon(kind.icon)
        assert (picture.ICON_ROOT / icon._icon_dir / icon._icon).is_file(), kind.icon


def test_drawing_twice_gives_the_same_text():
    assert picture.dot_source(architecture.build(templates())) == picture.dot_source(
        architecture.build(templates())
    )


def test_every_resource_is_drawn_folded_into_a_node_or_counted(default):
    for path, body in templates().items():
        stack = next(s for s in default.stacks if s.path == path)
        drawn = {n.logical_id for n in stack.nodes}
        folded = {m for n in stack.nodes for m, _ in n.folded}
        assert not drawn & folded
        counted = len(body["Resources"]) - len(drawn) - len(folded)
        assert counted == sum(stack.counted.values()), path


def test_the_picture_is_drawn_from_the_committed_templates_text(default):
    assert architecture.build(templates()) == default
    from template_builder.render import architecture_source

    committed = {path: cfn_flip.load((ROOT / path).read_text())[0] for path in BUILDERS}
    assert architecture_source(json.loads(json.dumps(committed))) == picture.dot_source(default)


@pytest.mark.parametrize(
    ("template", "parameters"),
    [
        (names.SERVICE_TEMPLATE_FILE, {}),
        (names.DATA_TEMPLATE_FILE, {}),
        (names.IDENTITY_TEMPLATE_FILE, {}),
        (names.NETWORK_TEMPLATE_FILE, {}),
        (names.OIDC_TEMPLATE_FILE, {"GitHubOrg": "octo", "GitHubRepo": "cars"}),
        (
            names.IDENTITY_TEMPLATE_FILE,
            {
                names.AUTH_ISSUER: "https://issuer.example/",
                names.AUTH_AUDIENCE: "cars",
                names.AUTH_TOKEN_URL: "https://issuer.example/token",
            },
        ),
        (names.DATA_TEMPLATE_FILE, {names.READER_COUNT: 2, names.ENABLE_CACHE: "false"}),
    ],
)
def test_conditions_are_decided_as_cloud_radar_decides_them(render, template, parameters):
    body = templates()[template]
    assert architecture.decide_conditions(body, parameters) == render.conditions_for(
        body, **parameters
    )


def test_requests_go_from_clients_through_the_load_balancer_to_the_tasks_and_the_data(default):
    assert ("api_cars__LoadBalancer", "flow") in default.entries
    flow = {pair for pair, style in edges(default).items() if style == "flow"}
    assert ("api_cars__LoadBalancer", "api_cars__Service") in flow
    assert ("api_cars__Service", "data__DatabaseCluster") in flow  # the data stack's exports
    assert ("api_cars__Service", "data__Cache") in flow
    assert ("api_cars__Service", "identity__UserPool") in flow  # the issuer's keys
    assert ("api_cars__Service", "registry__Repository") in flow  # the image, by RepositoryName
    assert ("api_cars__LoadBalancer", "data__AccessLogBucket") in flow


def test_custom_resources_are_deploy_time_edges_to_their_functions(default):
    assert edges(default)[("api_cars__ImageCheck", "registry__ImageCheckFunction")] == "deploy"
    assert edges(default)[("network__VpcLookup", "network__VpcLookupFunction")] == "deploy"


def test_resources_sit_in_the_subnets_their_template_places_them_in(default):
    drawn = nodes(default)
    assert drawn["api_cars__LoadBalancer"].subnets == "PublicSubnetIds"
    assert drawn["api_cars__Service"].subnets == "TaskSubnetIds"
    assert drawn["data__DatabaseCluster"].subnets == "TaskSubnetIds"
    assert drawn["registry__Repository"].subnets is None


def test_what_only_serves_a_resource_is_folded_into_it(default):
    drawn = nodes(default)
    assert ("TaskDefinition", None) in drawn["api_cars__Service"].folded
    assert ("HttpsListener", names.USE_HTTPS) in drawn["api_cars__LoadBalancer"].folded
    assert ("DatabaseSecret", None) in drawn["data__DatabaseCluster"].folded


def test_a_resource_off_by_default_is_drawn_off_and_on_when_its_parameter_says_so(default):
    assert nodes(default)["identity__ExistingIssuer"].off == "UsesExistingIssuer"
    source = picture.dot_source(default)
    cluster = re.search(r"subgraph cluster_identity__ExistingIssuer_off \{(.*?)\}", source, re.S)
    assert cluster
    assert 'label="option UsesExistingIssuer: off"' in cluster.group(1)
    assert 'style="dashed,rounded"' in cluster.group(1)
    assert "identity__ExistingIssuer [" in cluster.group(1)

    issuer = {names.IDENTITY_TEMPLATE_FILE: {names.AUTH_ISSUER: "https://issuer.example/"}}
    other = nodes(architecture.build(templates(), issuer))
    assert other["identity__ExistingIssuer"].off is None
    assert other["identity__UserPool"].off == "CreatesUserPool"


def test_the_stack_notes_count_the_noise_and_name_the_options_off(default):
    service = next(s for s in default.stacks if s.path == names.SERVICE_TEMPLATE_FILE)
    assert service.counted["IAM"] == 2
    assert service.counted["alarms"] == 4
    assert names.USE_HTTPS in service.options_off
    assert names.ENABLE_AUTO_SCALING not in service.options_off  # on by default
    data = next(s for s in default.stacks if s.path == names.DATA_TEMPLATE_FILE)
    assert not [c for c in data.options_off if c.startswith("ElbAccountIn")]  # Region facts


def test_an_option_off_by_default_is_drawn_off_with_its_edges():
    arch = architecture.build({"templates/options.yaml": OPTIONS})
    drawn, styles = nodes(arch), edges(arch)
    assert drawn["options__Distribution"].off == "EnableCdn"
    assert styles[("options__Distribution", "options__LoadBalancer")] == "off"
    assert ("options__Distribution", "off") in arch.entries
    assert ("options__LoadBalancer", "flow") in arch.entries
    assert styles[("options__WebAcl", "options__LoadBalancer")] == "flow"
    assert styles[("options__LoadBalancer", "options__Service")] == "flow"
    assert styles[("options__ScalableTarget", "options__Service")] == "control"
    assert ("PredictiveScalingPolicy", "EnablePredictiveScaling") in (
        drawn["options__ScalableTarget"].folded
    )
    assert drawn["options__LoadBalancer"].subnets == "Subnets"
    assert "options__TaskRole" not in drawn


def test_an_option_turned_on_is_drawn_in_use_and_clients_reach_it_first():
    arch = architecture.build(
        {"templates/options.yaml": OPTIONS},
        {"templates/options.yaml": {"Cdn": "true", "Predictive": "true"}},
    )
    assert nodes(arch)["options__Distribution"].off is None
    assert edges(arch)[("options__Distribution", "options__LoadBalancer")] == "flow"
    assert [entry for entry, _ in arch.entries] == ["options__Distribution"]
    assert nodes(arch)["options__ScalableTarget"].folded == [("PredictiveScalingPolicy", None)]


def test_an_fn_if_branch_not_taken_is_an_edge_off():
    body = {
        "Parameters": {"Queue": {"Type": "String", "Default": ""}},
        "Conditions": {"HasQueue": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Queue"}, ""]}]}},
        "Resources": {
            "Jobs": {"Type": "AWS::SQS::Queue", "Condition": "HasQueue", "Properties": {}},
            "Worker": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Environment": {
                        "Variables": {
                            "QUEUE": {
                                "Fn::If": ["HasQueue", {"Ref": "Jobs"}, {"Ref": "AWS::NoValue"}]
                            }
                        }
                    }
                },
            },
        },
    }
    assert edges(architecture.build({"templates/jobs.yaml": body})) == {
        ("jobs__Worker", "jobs__Jobs"): "off"
    }


def test_an_import_reaches_the_exporter_of_another_stack_even_under_another_name():
    exporter = {
        "Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {}}},
        "Outputs": {
            "BucketName": {
                "Value": {"Ref": "Bucket"},
                "Export": {"Name": {"Fn::Sub": "${AWS::StackName}-BucketName"}},
            }
        },
    }
    importer = {
        "Parameters": {"StoreStackName": {"Type": "String", "Default": "company-store"}},
        "Resources": {
            "Worker": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Environment": {
                        "Variables": {
                            "BUCKET": {
                                "Fn::ImportValue": {"Fn::Sub": "${StoreStackName}-BucketName"}
                            }
                        }
                    }
                },
            }
        },
    }
    arch = architecture.build({"templates/store.yaml": exporter, "templates/worker.yaml": importer})
    assert edges(arch) == {("worker__Worker", "store__Bucket"): "flow"}
    assert next(s for s in arch.stacks if s.path == "templates/store.yaml").name == "company-store"


def test_a_parameter_carrying_another_stacks_output_links_them():
    # Across Regions (a us-east-1 web ACL for CloudFront) an output travels as a parameter.
    global_stack = {
        "Resources": {"WebAcl": {"Type": "AWS::WAFv2::WebACL", "Properties": {}}},
        "Outputs": {"WebAclArn": {"Value": {"Fn::GetAtt": ["WebAcl", "Arn"]}}},
    }
    edge_stack = {
        "Parameters": {"WebAclArn": {"Type": "String", "Default": ""}},
        "Resources": {
            "Distribution": {
                "Type": "AWS::CloudFront::Distribution",
                "Properties": {"DistributionConfig": {"WebACLId": {"Ref": "WebAclArn"}}},
            }
        },
    }
    stacks = {"templates/edge-global.yaml": global_stack, "templates/edge.yaml": edge_stack}
    arch = architecture.build(stacks, on_request=frozenset())
    assert edges(arch) == {("edge__Distribution", "edge_global__WebAcl"): "flow"}


def test_a_stack_deployed_only_on_request_is_drawn_off_with_its_links():
    stacks = {
        "templates/api-cars.yaml": {
            "Resources": {"LoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer"}},
            "Outputs": {"LoadBalancerArn": {"Value": {"Ref": "LoadBalancer"}}},
        },
        "templates/edge.yaml": {
            "Resources": {
                "Acl": {
                    "Type": "AWS::WAFv2::WebACL",
                    "Properties": {"Arn": {"Fn::ImportValue": "api-cars-LoadBalancerArn"}},
                }
            }
        },
    }
    arch = architecture.build(stacks, on_request=frozenset({"templates/edge.yaml"}))
    drawn = {n.id: n.off for s in arch.stacks for n in s.nodes}
    assert drawn == {"api_cars__LoadBalancer": None, "edge__Acl": architecture.ON_REQUEST}
    assert set(edges(arch).values()) <= {"off"}
    assert ("api_cars__LoadBalancer", "flow") in arch.entries


def test_dot_draws_the_png_from_the_source(rendered, tmp_path):
    # Needs graphviz's dot: `make test` and `make template` install Debian's graphviz.
    image = tmp_path / "architecture.png"
    picture.draw_image(rendered[picture.DOT_FILE], image)
    data = image.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 1000 and height > 1000  # the icons were found: a page, not a dot


def test_check_mode_names_a_stale_picture_source(rendered, monkeypatch, tmp_path, capsys):
    for path, text in rendered.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    (tmp_path / picture.IMAGE_FILE).write_bytes((ROOT / picture.IMAGE_FILE).read_bytes())
    (tmp_path / picture.DOT_FILE).write_text("digraph { edited_by_hand }\n")
    monkeypatch.setattr(cli, "ROOT", tmp_path)

    assert cli.main(["--check"]) == 1
    err = capsys.readouterr().err
    assert f"{picture.DOT_FILE} is stale" in err
    assert "templates/" not in err


def test_check_mode_names_a_missing_picture(rendered, monkeypatch, tmp_path, capsys):
    for path, text in rendered.items():
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(text)
    monkeypatch.setattr(cli, "ROOT", tmp_path)

    assert cli.main(["--check"]) == 1
    assert f"{picture.IMAGE_FILE} is stale" in capsys.readouterr().err


def test_write_mode_draws_the_picture_when_its_source_changed(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(cli, "ROOT", tmp_path)
    assert cli.main([]) == 0
    assert (tmp_path / picture.IMAGE_FILE).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {picture.IMAGE_FILE}" in capsys.readouterr().out

    assert cli.main([]) == 0  # nothing changed: not drawn again
    assert "wrote" not in capsys.readouterr().out


def test_an_import_of_an_export_off_by_default_is_an_edge_off():
    exporter = {
        "Parameters": {"Cache": {"Type": "String", "Default": "false"}},
        "Conditions": {"HasCache": {"Fn::Equals": [{"Ref": "Cache"}, "true"]}},
        "Resources": {
            "Cache": {"Type": "AWS::ElastiCache::ServerlessCache", "Condition": "HasCache"}
        },
        "Outputs": {
            "CacheEndpoint": {
                "Condition": "HasCache",
                "Value": {"Fn::GetAtt": ["Cache", "Endpoint.Address"]},
                "Export": {
                    "Name": {"Fn::Join": ["-", [{"Ref": "AWS::StackName"}, "CacheEndpoint"]]}
                },
            }
        },
    }
    importer = {
        "Parameters": {"DataStackName": {"Type": "String", "Default": "api-cars-data"}},
        "Resources": {
            "Worker": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Environment": {
                        "Variables": {
                            "CACHE": {
                                "Fn::ImportValue": {
                                    "Fn::Join": ["-", [{"Ref": "DataStackName"}, "CacheEndpoint"]]
                                }
                            }
                        }
                    }
                },
            }
        },
    }
    arch = architecture.build({"templates/data.yaml": exporter, "templates/worker.yaml": importer})
    assert edges(arch) == {("worker__Worker", "data__Cache"): "off"}
    on = architecture.build(
        {"templates/data.yaml": exporter, "templates/worker.yaml": importer},
        {"templates/data.yaml": {"Cache": "true"}},
    )
    assert edges(on) == {("worker__Worker", "data__Cache"): "flow"}


def test_a_condition_on_a_list_parameter_is_decided_on_its_items():
    body = {
        "Parameters": {"Zones": {"Type": "CommaDelimitedList", "Default": "a,b"}},
        "Conditions": {"FirstIsA": {"Fn::Equals": [{"Fn::Select": [0, {"Ref": "Zones"}]}, "a"]}},
        "Resources": {},
    }
    assert architecture.decide_conditions(body) == {"FirstIsA": True}
    assert architecture.decide_conditions(body, {"Zones": "c,a"}) == {"FirstIsA": False}


def test_events_flow_from_their_source_and_a_caller_of_an_address_calls_it():
    # The bulk import's shape: a rule on a bucket's events feeds a queue, a function polls the
    # queue and calls the API through the load balancer's name.
    body = {
        "Resources": {
            "Uploads": {"Type": "AWS::S3::Bucket", "Properties": {}},
            "UploadRule": {
                "Type": "AWS::Events::Rule",
                "Properties": {
                    "EventPattern": {"detail": {"bucket": {"name": [{"Ref": "Uploads"}]}}},
                    "Targets": [{"Arn": {"Fn::GetAtt": ["Jobs", "Arn"]}, "Id": "jobs"}],
                },
            },
            "Jobs": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "Importer": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Events": {
                        "Jobs": {
                            "Type": "SQS",
                            "Properties": {"Queue": {"Fn::GetAtt": ["Jobs", "Arn"]}},
                        }
                    },
                    "Environment": {
                        "Variables": {
                            "API_URL": {"Fn::Sub": "https://${LoadBalancer.DNSName}/v1/cars:batch"}
                        }
                    },
                },
            },
            "LoadBalancer": {"Type": "AWS::ElasticLoadBalancingV2::LoadBalancer", "Properties": {}},
        }
    }
    assert edges(architecture.build({"templates/import.yaml": body}, on_request=frozenset())) == {
        ("import__Uploads", "import__UploadRule"): "flow",
        ("import__UploadRule", "import__Jobs"): "flow",
        ("import__Jobs", "import__Importer"): "flow",
        ("import__Importer", "import__LoadBalancer"): "flow",
    }


def test_make_template_and_make_test_install_graphviz_when_dot_is_missing():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^graphviz:.*\n\t\$\(call need-debian,dot,graphviz\)$", makefile, re.M)
    assert re.search(r"^template: .*\bgraphviz\b", makefile, re.M)
    assert re.search(r"^test: .*\bgraphviz\b", makefile, re.M)
    assert re.search(r"^test-%: .*\bgraphviz\b", makefile, re.M)


def test_the_readme_shows_the_picture_near_the_top():
    top = (ROOT / "README.md").read_text().splitlines()[:20]
    assert any(f"]({picture.IMAGE_FILE})" in line for line in top)
