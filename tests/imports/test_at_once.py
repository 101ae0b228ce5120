"""SQS delivers at least once: the same message may reach two invocations at the same moment."""

import secrets
import threading

from tests.imports.conftest import cars_csv, run


def test_the_same_message_processed_twice_at_once_creates_each_car_once(aws, api):
    """Two invocations on one message at the same moment (SQS's at-least-once delivery): rows
    the other holds answer idempotency-key-in-flight and are retried, never refused."""
    make = f"Twice{secrets.token_hex(4)}"
    aws.drop("imports/twice.csv", cars_csv(1000, make))
    records = aws.messages()
    answers = []
    start = threading.Barrier(2)

    def invocation():
        start.wait()
        answers.append(run(aws, api, records))

    threads = [threading.Thread(target=invocation) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    failed = [a for a in answers if a["batchItemFailures"]]
    if failed:  # one gave up waiting for the other's rows: SQS delivers it again
        answers.append(run(aws, api, records))
    report = aws.report("imports/twice.csv")
    assert answers[-1] == {"batchItemFailures": []}
    assert report["refused"] == 0, report["refused_rows"][:3]
    assert api.count(make) == 1000
