"""Pipelines started by EventBridge rules, as CodePipeline is a rule's target in AWS.

Every event a labcloud service publishes (platform/events.py) is handed to this module's subscriber, which
only queues it: the publisher is never blocked. One thread then reads the ENABLED rules of the default
bus through the server's own EventBridge API (ListRules, ListTargetsByRule), and for each rule with a
target whose Arn is one of this service's pipelines (arn:aws:codepipeline:<region>:<account>:<name>) and
whose EventPattern matches the event (platform/event_patterns.py), starts an execution of that pipeline
with trigger CloudWatchEvent, the rule's ARN as its triggerDetail.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable

from labcloud.core.errors import AWSError
from labcloud.platform.event_patterns import matches

log = logging.getLogger("labcloud.codepipeline")


class Triggers:
    def __init__(self, ctx, pipeline_arns: Callable[[], dict[str, str]], start: Callable[[str, dict], str]):
        self.ctx = ctx
        self.pipeline_arns = pipeline_arns  # () -> {pipeline ARN: name}
        self.start_execution = start  # (pipeline name, trigger) -> execution id
        self._queue: queue.Queue = queue.Queue()
        self._unsubscribe: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._unsubscribe = self.ctx.events.subscribe(self._queue.put)
        self._thread = threading.Thread(target=self._loop, name="codepipeline-triggers", daemon=True)
        self._thread.start()

    def shutdown(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(10)

    def _loop(self) -> None:
        while True:
            event = self._queue.get()
            if event is None or self.ctx.shutting_down.is_set():
                return
            try:
                self.handle(event)
            except Exception:  # noqa: BLE001 - one event's trouble does not end the triggers
                log.exception("could not match the event %s against the rules", event.get("detail-type"))

    def _rules(self) -> list[tuple[str, str, str]]:
        arns = self.pipeline_arns()
        if not arns:
            return []
        events = self.ctx.client("events")
        found = []
        for page in events.get_paginator("list_rules").paginate(EventBusName="default"):
            for rule in page.get("Rules", []):
                if rule.get("State") != "ENABLED" or not rule.get("EventPattern"):
                    continue
                targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName="default").get("Targets", [])
                for target in targets:
                    name = arns.get(target.get("Arn"))
                    if name is not None:
                        found.append((rule["Arn"], name, rule["EventPattern"]))
        return found

    def handle(self, event: dict) -> list[str]:
        """Start every pipeline a matching rule targets; returns the execution ids started."""
        started = []
        for rule_arn, name, pattern in self._rules():
            if not matches(pattern, event):
                continue
            try:
                started.append(self.start_execution(name, {"triggerType": "CloudWatchEvent",
                                                           "triggerDetail": rule_arn}))
            except AWSError as err:  # the pipeline went away meanwhile
                log.warning("rule %s matched, but pipeline %s did not start: %s", rule_arn, name, err.message)
        return started
