"""Resource metadata that records deliberate exceptions to a scanner's rule, with the reason."""


def checkov_skips(**reasons: str) -> dict:
    """Metadata suppressing checkov checks: ``checkov_skips(CKV_AWS_117="why")``."""
    return {"checkov": {"skip": [{"id": check, "comment": why} for check, why in reasons.items()]}}
