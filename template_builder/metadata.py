"""Resource metadata that records deliberate exceptions to a scanner's rule, with the reason.

Each helper returns its own top-level key, so one resource can carry both:
``Metadata=checkov_skips(CKV_AWS_117="why") | guard_skips(lambda_inside_vpc_check="why")``.
"""


def checkov_skips(**reasons: str) -> dict:
    """Metadata suppressing checkov checks: ``checkov_skips(CKV_AWS_117="why")``."""
    return {"checkov": {"skip": [{"id": check, "comment": why} for check, why in reasons.items()]}}


def guard_skips(**reasons: str) -> dict:
    """Metadata suppressing CloudFormation Guard rules: ``guard_skips(rule_name="why")``.

    ``Metadata.guard.SuppressedRules`` is the cfn-guard community key; its items here are
    ``{id, reason}`` objects, like checkov's ``{id, comment}``, so that no rule is suppressed
    without its reason (template_builder.guard, the `make lint-cfn` gate, refuses one without).
    """
    if not reasons or not all(isinstance(why, str) and why.strip() for why in reasons.values()):
        raise ValueError(f"guard_skips: every suppressed rule needs a reason: {reasons!r}")
    return {"guard": {"SuppressedRules": [{"id": r, "reason": why} for r, why in reasons.items()]}}
