"""What every operation receives: validated settings, one HTTP session, clients built from them,
a `Progress` to report to, and the catalogue writes every operation shares."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests

from ..catalogue.sync.reader import PagerDutyReader
from ..clients.http import RetryPolicy
from ..clients.pagerduty import PagerDutyClient
from ..clients.port import PortClient
from ..clients.ratelimit import limiter_for
from ..errors import ActionError, InputError
from .common import CommonSettings
from .protocols import InputSource, Progress

# Kinds the sync enriches beyond the listed item (catalogue/sync/enrich.py).
ENRICHED_KINDS = ("services", "escalation_policies", "schedules")


@dataclass
class Runtime:
    common: CommonSettings
    session: requests.Session
    reporter: Progress
    port: PortClient | None
    policy: RetryPolicy = field(default_factory=RetryPolicy)  # for every client built here
    sleep: Callable[[float], None] = time.sleep
    _pagerduty: PagerDutyClient | None = field(default=None, repr=False)
    _enricher: PagerDutyReader | None = field(default=None, repr=False)  # built when needed

    def pagerduty(self) -> PagerDutyClient:
        """The REST client; operations that reach here have checked the token is present."""
        if self._pagerduty is None:
            self._pagerduty = self.new_pagerduty(self.policy, on_retry=self.reporter.progress)
        return self._pagerduty

    def new_pagerduty(
        self,
        policy: RetryPolicy,
        *,
        on_retry: Callable[[str], None] | None = None,
        after_response: Callable[[requests.Response], None] | None = None,
    ) -> PagerDutyClient:
        """A REST client with the run's token, auth method and URL, paced by the token's
        rate limiter; `after_response` hears each response after the limiter does."""
        token = self.common.pagerduty_token
        if not token:
            raise InputError("pagerduty_token", "is required for this operation.")
        limiter = limiter_for(token)

        def after(response: requests.Response) -> None:
            limiter.after_response(response)
            if after_response is not None:
                after_response(response)

        return PagerDutyClient(
            self.session,
            token,
            self.common.pagerduty_api_url,
            auth=self.common.pagerduty_auth,
            policy=policy,
            on_retry=on_retry,
            before_request=limiter.before_request,
            after_response=after,
        )

    def map_object(self, kind: str, obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """(blueprint, entity) pairs the mapping makes of one PagerDuty `kind` object, built
        exactly as the sync builds them; empty when the mapping's selector leaves it out."""
        mapping = self.common.mapping
        entities: list[tuple[str, dict[str, Any]]] = []
        for resource in mapping.resources_for(kind):
            item = dict(obj)
            if kind in ENRICHED_KINDS:
                self._enricher_reader().enrich(resource, [item])
            result = resource.map_page([item])
            if result.errors:
                raise ActionError(
                    f"Input 'mapping' ({mapping.source}): {resource.where} cannot map "
                    f"{result.errors[0]}. PagerDuty is changed; the catalogue is not."
                )
            entities += result.entities
        if not entities:
            self.reporter.progress(
                f"The mapping's selector leaves {kind} {obj.get('id')} out of the catalogue."
            )
        return entities

    def _enricher_reader(self) -> PagerDutyReader:
        """The sync's reader, for its enrichments (on-call users, e-mails, analytics)."""
        if self._enricher is None:
            self._enricher = PagerDutyReader(
                self.pagerduty(),
                incidents_since=None,
                incidents_until=None,
                warn=self.reporter.warning,
            )
        return self._enricher

    def write_mapped(self, entities: list[tuple[str, dict[str, Any]]]) -> None:
        """Upsert mapped entities (when Port is configured) under the run id, with the
        mapping's createMissingRelatedEntities, as the sync writes them."""
        if not entities:
            return
        if self.port is None:
            self.reporter.progress("Skipping the catalogue update: no Port credentials.")
            return
        for blueprint, entity in entities:
            self.port.upsert_entity(
                blueprint,
                entity,
                run_id=self.reporter.write_run_id,
                create_missing_related=self.common.mapping.create_missing_related_entities,
            )
            self.reporter.progress(
                f"Updated the catalogue entity {blueprint}/{entity['identifier']}."
            )

    def upsert_mapped(self, kind: str, obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """Write one PagerDuty `kind` object to the catalogue through the mapping; returns the
        (blueprint, entity) pairs written (or, without Port, that would have been)."""
        entities = self.map_object(kind, obj)
        self.write_mapped(entities)
        return entities


class Operation(Protocol):
    name: str

    def parse(self, inputs: InputSource, common: CommonSettings) -> Any:
        """Validate every input of the operation; raise InputError before any request."""
        ...

    def run(self, settings: Any, runtime: Runtime) -> None: ...
