"""The data stack's stack policy: no update may replace or delete what holds data.

`cars-stack` applies it (SetStackPolicy) and overrides it, for one update, only when the operator
passes its explicitly named option; `make template` also writes it to
templates/data-stack-policy.json for `aws cloudformation set-stack-policy`. A stack policy guards
updates only: deleting the whole stack is guarded by termination protection, deletion protection
on the cluster, and its Snapshot deletion policy.
"""

import json

from template_builder import names

# The logical IDs that hold data or the credentials to it: the cluster (its volume is the data),
# the writer (without it the cluster serves nothing), the cache, and the two secrets (replacing one
# changes the password under every running task). Readers are left out on purpose: an Aurora
# reader holds no data of its own, so lowering ReaderCount loses nothing, and guarding it would
# teach people to pass cars-stack's loud option routinely. cars-stack's change-set guard refuses
# exactly these too (cars_stack/protection.py).
PROTECTED = [
    names.DATABASE_CLUSTER,
    names.DATABASE_WRITER,
    names.CACHE,
    names.DATABASE_SECRET,
    names.CACHE_SECRET,
]


def stack_policy() -> dict:
    protected = [f"LogicalResourceId/{logical_id}" for logical_id in PROTECTED]
    return {
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["Update:Replace", "Update:Delete"],
                "Resource": protected,
            },
            {"Effect": "Allow", "Principal": "*", "Action": "Update:*", "Resource": "*"},
        ]
    }


def stack_policy_text() -> str:
    return json.dumps(stack_policy(), indent=2) + "\n"
