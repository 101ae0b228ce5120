"""ECS's part, emulated: tasks as API processes, the rolling deployment, stops and replacements.

Each task is ``python -m api`` with the task definition's environment (read from moto's ECS, as
the deployed stack holds it), on a port of its own (each Fargate task has an address of its own).
A task is registered with the load balancer when it starts and counts as healthy once HAProxy's
checks say UP. Stopping one is what ECS does: deregister (draining), wait the deregistration delay,
SIGTERM, then SIGKILL after the container's stopTimeout. The rolling deployment keeps between
MinimumHealthyPercent and MaximumPercent of the desired count, read from the generated template.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.procs import BenchError, Processes, free_port
from rehearsal.haproxy import HAProxy

START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class DeploymentSettings:
    desired: int
    minimum_healthy_percent: int
    maximum_percent: int
    stop_timeout_s: float

    @property
    def most_tasks(self) -> int:
        return math.floor(self.desired * self.maximum_percent / 100)

    @property
    def fewest_healthy(self) -> int:
        return math.ceil(self.desired * self.minimum_healthy_percent / 100)


@dataclass
class Task:
    name: str
    version: str
    port: int
    proc: subprocess.Popen
    started_at: float = field(default_factory=time.monotonic)


@dataclass
class Rollout:
    version: str
    seconds: float  # first new task started -> last old task drained and signalled
    started: int
    stopped: int


class Service:
    def __init__(
        self,
        procs: Processes,
        lb: HAProxy,
        settings: DeploymentSettings,
        say: Callable[[str], None],
    ):
        self.procs = procs
        self.lb = lb
        self.settings = settings
        self.say = say
        self.tasks: list[Task] = []
        self._numbers = itertools.count(1)
        self._stopping: list[threading.Thread] = []

    # --- one task ------------------------------------------------------------------------------
    def start_task(self, environment: dict[str, str]) -> Task:
        port = free_port()
        name = f"task-{next(self._numbers)}"
        env = {**environment, "PORT": str(port), "HOST": "127.0.0.1"}
        proc = self.procs.start([sys.executable, "-m", "api"], name=name, env=env)
        task = Task(name, env.get("APP_VERSION", "?"), port, proc)
        self.lb.register(name, port)
        self.tasks.append(task)
        return task

    def wait_healthy(self, tasks: list[Task]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        for task in tasks:
            while self.lb.states().get(task.name) != "UP":
                if task.proc.poll() is not None:
                    raise BenchError(
                        f"{task.name} exited with {task.proc.returncode} before it was healthy: "
                        f"{self.procs.log_tail(task.proc)}"
                    )
                if time.monotonic() > deadline:
                    raise BenchError(f"{task.name} not healthy within {START_TIMEOUT_S:.0f} s")
                time.sleep(0.05)

    def _terminate(self, task: Task) -> None:
        """SIGTERM, SIGKILL after stopTimeout, then out of the target group."""
        self.procs.stop(task.proc, timeout=self.settings.stop_timeout_s)
        # On an interrupted run HAProxy may already be gone, and its servers with it.
        with contextlib.suppress(OSError):
            self.lb.remove(task.name)

    def stop_tasks(self, tasks: list[Task]) -> None:
        """ECS's stop: deregister, wait the deregistration delay, then SIGTERM (the wait for the
        exit runs in the background, as ECS's deployment goes on meanwhile)."""
        for task in tasks:
            self.lb.deregister(task.name)
            self.tasks.remove(task)
        time.sleep(self.lb.settings.deregistration_delay_s)  # the delay itself is the behaviour
        for task in tasks:
            self._in_background(task)

    def _in_background(self, task: Task) -> None:
        thread = threading.Thread(target=self._terminate, args=(task,), daemon=True)
        thread.start()
        self._stopping.append(thread)

    def signal_while_registered(self, task: Task) -> None:
        """A Fargate Spot interruption: SIGTERM first, the load balancer finds out by its checks;
        once the task has exited ECS takes it out of the target group."""
        self.tasks.remove(task)
        task.proc.send_signal(signal.SIGTERM)
        self._in_background(task)

    def kill(self, task: Task) -> None:
        """SIGKILL: the task dies with its in-flight requests; ECS sees it stop and deregisters."""
        self.tasks.remove(task)
        task.proc.send_signal(signal.SIGKILL)
        task.proc.wait()
        self.lb.remove(task.name)
        self.procs.stop(task.proc)

    def wait_stopped(self) -> None:
        for thread in self._stopping:
            thread.join(self.settings.stop_timeout_s + 10)
        self._stopping.clear()

    # --- deployments ---------------------------------------------------------------------------
    def deploy_first(self, environment: dict[str, str]) -> None:
        tasks = [self.start_task(environment) for _ in range(self.settings.desired)]
        self.wait_healthy(tasks)

    def roll(self, environment: dict[str, str]) -> Rollout:
        """Replace every task by one of `environment`, within the minimum/maximum percent."""
        s = self.settings
        old = list(self.tasks)
        new: list[Task] = []
        started, stopped = time.monotonic(), 0
        while old or len(new) < s.desired:
            room = s.most_tasks - len(old) - len(new)
            batch = [self.start_task(environment) for _ in range(min(room, s.desired - len(new)))]
            new += batch
            self.wait_healthy(batch)
            removable = min(len(old), len(old) + len(new) - s.fewest_healthy)
            if not batch and removable <= 0:
                raise BenchError(
                    f"no progress possible with MinimumHealthyPercent {s.minimum_healthy_percent} "
                    f"and MaximumPercent {s.maximum_percent} for {s.desired} tasks"
                )
            if removable > 0:
                self.stop_tasks(old[:removable])
                stopped += removable
                old = old[removable:]
        return Rollout(environment.get("APP_VERSION", "?"), time.monotonic() - started, len(new),
                       stopped)  # fmt: skip

    def stop_all(self) -> None:
        if self.tasks:
            self.stop_tasks(list(self.tasks))
        self.wait_stopped()
