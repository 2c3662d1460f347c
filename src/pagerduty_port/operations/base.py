"""What every operation receives: validated settings, one HTTP session, clients and a reporter."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from ..errors import InputError
from ..http import RetryPolicy
from ..incident_entity import incident_entity
from ..inputs import Inputs
from ..pagerduty import PagerDutyClient
from ..port import PortClient
from ..ratelimit import limiter_for
from ..report import Reporter
from ..settings import CommonSettings
from ..summary import incident_summary


@dataclass
class Runtime:
    common: CommonSettings
    session: requests.Session
    reporter: Reporter
    port: PortClient | None
    policy: RetryPolicy = field(default_factory=RetryPolicy)  # for every client built here
    sleep: Callable[[float], None] = time.sleep
    _pagerduty: PagerDutyClient | None = field(default=None, repr=False)

    def pagerduty(self) -> PagerDutyClient:
        """The REST client; operations that reach here have checked the token is present."""
        if self._pagerduty is None:
            token = self.common.pagerduty_token
            if not token:
                raise InputError("pagerduty_token", "is required for this operation.")
            limiter = limiter_for(token)
            self._pagerduty = PagerDutyClient(
                self.session,
                token,
                self.common.pagerduty_api_url,
                policy=self.policy,
                on_retry=self.reporter.progress,
                before_request=limiter.before_request,
                after_response=limiter.after_response,
            )
        return self._pagerduty

    def record_incident(
        self,
        incident: dict[str, Any],
        *,
        heading: str,
        outputs: dict[str, Any],
        status_label: str,
    ) -> dict[str, Any]:
        """Everything an incident operation reports once PagerDuty has answered: the step
        outputs, the Port run's link, the catalogue entity and the job summary."""
        entity = incident_entity(incident)
        url = incident.get("html_url")
        self.reporter.set_outputs(
            {
                **outputs,
                "incident_id": incident["id"],
                "incident_url": url,
                "entity_identifier": entity["identifier"],
            }
        )
        if url:
            self.reporter.link(url, status_label=status_label)
        self.upsert_incident(entity)
        self.reporter.summary(incident_summary(heading, incident, self))
        return entity

    def upsert_incident(self, entity: dict[str, Any]) -> None:
        """Write the incident entity to Port (when Port is configured) under the run id."""
        if self.port is None:
            self.reporter.progress("Skipping the catalogue update: no Port credentials.")
            return
        self.port.upsert_entity(self.common.blueprint, entity, run_id=self.reporter.write_run_id)
        self.reporter.progress(
            f"Updated the catalogue entity {self.common.blueprint}/{entity['identifier']}."
        )


class Operation(Protocol):
    name: str

    def parse(self, inputs: Inputs, common: CommonSettings) -> Any:
        """Validate every input of the operation; raise InputError before any request."""
        ...

    def run(self, settings: Any, runtime: Runtime) -> None: ...
