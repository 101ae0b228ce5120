"""An outage of a backing service, logged as an operator wants to read it: once when it starts
(with the cause), a summary now and then while it lasts, once when it ends. Not one line per
failed request: a database down under load wrote 27,649 warnings in 17 seconds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

# While failures go on, one summary line this often.
SUMMARY_SECONDS = 10.0


class Outage:
    """Whether ``service`` is down, from what its callers saw: ``failed`` after each failure,
    ``ended`` after a success while ``down`` (callers check ``down`` first: it is the hot path)."""

    def __init__(
        self,
        log: logging.Logger,
        service: str,
        *,
        summary_seconds: float = SUMMARY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = log
        self._service = service
        self._summary_seconds = summary_seconds
        self._clock = clock
        self.down = False
        self._started = 0.0
        self._failures = 0
        self._failures_summarised = 0
        self._next_summary = 0.0

    def failed(self, error: BaseException) -> None:
        now = self._clock()
        cause = str(error)
        if not self.down:
            self.down = True
            self._started = now
            self._failures = 1
            self._failures_summarised = 1  # the start line reports the first
            self._next_summary = now + self._summary_seconds
            self._log.warning(
                "%s unavailable: requests that need it get 503 until it is back",
                self._service,
                extra={"error": cause},
            )
            return
        self._failures += 1
        if now >= self._next_summary:
            self._next_summary = now + self._summary_seconds
            self._log.warning(
                "%s still unavailable",
                self._service,
                extra={
                    "error": cause,
                    "outage_seconds": round(now - self._started, 1),
                    "failures": self._failures,
                    "failures_since_last_summary": self._failures - self._failures_summarised,
                },
            )
            self._failures_summarised = self._failures

    def ended(self) -> None:
        if not self.down:
            return
        self.down = False
        self._log.info(
            "%s available again",
            self._service,
            extra={
                "outage_seconds": round(self._clock() - self._started, 1),
                "failures": self._failures,
            },
        )
