"""The data stack (templates/data.yaml): Aurora PostgreSQL Serverless v2 and ElastiCache for Valkey.

`stack.build_data_template()` is the table of contents; `stack_policy.stack_policy()` is the stack
policy cars-stack applies (and `make template` writes for plain CLI users).
"""
