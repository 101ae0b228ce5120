"""The data stack's stack policy: no update may replace or delete what holds data.

`cars-stack` applies it (SetStackPolicy) and overrides it, for one update, only when the operator
passes its explicitly named option; `make template` also writes it to
templates/data-stack-policy.json for `aws cloudformation set-stack-policy`. A stack policy guards
updates only: deleting the whole stack is guarded by termination protection, deletion protection
on the cluster, and its Snapshot deletion policy.
"""

import json

from template_builder import names

# The logical IDs that hold data or the credentials to it (readers only with ReaderCount >= n).
PROTECTED = [
    names.DATABASE_CLUSTER,
    names.DATABASE_WRITER,
    *(names.DATABASE_READER.format(index=i) for i in range(1, names.MAX_READERS + 1)),
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
