"""create-service: create a PagerDuty service from a Port run (or adopt the one a previous
attempt made), write it to the catalogue and optionally link the run's entity to it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..clients.pagerduty import PagerDutyClient
from ..errors import ActionError, InputError, PagerDutyError, PortError
from ..markdown import md_cell, table
from .common import CommonSettings
from .durations import parse_duration
from .lookup import resolve_policy
from .protocols import InputSource
from .runtime import Runtime
from .write_once import create_once

NAME_MAX_LENGTH = 255
URGENCIES = ("high", "low", "severity_based")


@dataclass(frozen=True)
class CreateServiceSettings:
    name: str
    description: str | None
    escalation_policy: str
    urgency: str | None
    auto_resolve_timeout: int | None  # seconds; 0 turns the feature off; None: PagerDuty's default
    acknowledgement_timeout: int | None
    relation: str | None
    entity_blueprint: str | None
    entity: str | None


def timeout_seconds(inputs: InputSource, name: str) -> int | None:
    """A duration in seconds, or 0 for `off`: the spec types these as integers, and PagerDuty
    reads 0 as 'disabled', so `off` is never sent as null."""
    value = inputs.text(name)
    if value is None:
        return None
    if value.lower() == "off":
        return 0
    seconds = int(parse_duration(name, value).total_seconds())
    if seconds <= 0:
        raise InputError(name, f"got {value!r}; give a positive duration, or off.")
    return seconds


class CreateService:
    name = "create-service"

    def parse(self, inputs: InputSource, common: CommonSettings) -> CreateServiceSettings:
        common.mapping.resources_for("services")  # the entity this action writes
        name = inputs.required("name", max_length=NAME_MAX_LENGTH)
        policy = inputs.required("escalation_policy", max_length=NAME_MAX_LENGTH)
        relation = inputs.text("relation")
        context = common.context
        services = common.mapping.blueprints_of("services")
        if relation is not None and (not context.entity or not context.blueprint):
            raise InputError(
                "relation",
                "links the run's entity to the new service, but this run has no entity: run "
                "from an entity page, or leave relation empty.",
            )
        if relation is not None and context.blueprint in services:
            raise InputError(
                "relation",
                f"names a relation on the run's entity, but the run's entity is itself a "
                f"{context.blueprint}; leave relation empty.",
            )
        inputs.email("from")  # accepted so one Port form fits every action; POST takes none
        settings = CreateServiceSettings(
            name=name,
            description=inputs.text("description", strip=False, max_length=1024),
            escalation_policy=policy,
            urgency=inputs.choice("urgency", URGENCIES),
            auto_resolve_timeout=timeout_seconds(inputs, "auto_resolve_timeout"),
            acknowledgement_timeout=timeout_seconds(inputs, "acknowledgement_timeout"),
            relation=relation,
            entity_blueprint=context.blueprint,
            entity=context.entity,
        )
        if not common.pagerduty_token:
            raise InputError("pagerduty_token", "is required: a PagerDuty REST API key.")
        return settings

    @staticmethod
    def body(settings: CreateServiceSettings, policy_id: str) -> dict[str, Any]:
        service: dict[str, Any] = {
            "type": "service",
            "name": settings.name,
            "escalation_policy": {"id": policy_id, "type": "escalation_policy_reference"},
        }
        if settings.description:
            service["description"] = settings.description
        if settings.urgency:
            service["incident_urgency_rule"] = {"type": "constant", "urgency": settings.urgency}
        for field in ("auto_resolve_timeout", "acknowledgement_timeout"):
            value = getattr(settings, field)
            if value is not None:
                service[field] = value
        return {"service": service}

    @staticmethod
    def find_by_name(client: PagerDutyClient, name: str) -> dict[str, Any] | None:
        wanted = name.casefold()
        for page in client.iter_pages("/services", "services", [("query", name)]):
            for service in page:
                if str(service.get("name", "")).casefold() == wanted:
                    return service
        return None

    def run(self, settings: CreateServiceSettings, runtime: Runtime) -> None:
        reporter = runtime.reporter
        client = runtime.pagerduty()
        reporter.start(f"Creating the PagerDuty service {settings.name!r}.")
        many = self._check_relation(runtime, settings)
        policy = resolve_policy(client, settings.escalation_policy, "escalation_policy")
        policy_id = str(policy["id"])

        def find() -> dict[str, Any] | None:
            service = self.find_by_name(client, settings.name)
            if service is None:
                return None
            theirs = service.get("escalation_policy") or {}
            if theirs.get("id") != policy_id:
                raise ActionError(
                    f"Input 'name': a PagerDuty service named {service.get('name')!r} "
                    f"({service.get('id')}) already exists on escalation policy "
                    f"{theirs.get('summary') or ''} ({theirs.get('id')}), not on "
                    f"{policy.get('name')} ({policy_id}) given in 'escalation_policy'. Choose "
                    "another name, or give that service's policy to adopt it."
                )
            return service

        def create(once: PagerDutyClient) -> dict[str, Any]:
            try:
                created: dict[str, Any] = once.request(
                    "POST", "/services", body=self.body(settings, policy_id)
                )["service"]
                return created
            except PagerDutyError as exc:
                # Created meanwhile (by a concurrent run): adopt it rather than fail.
                if exc.status == 400 and (found := find()) is not None:
                    return found
                raise

        service, adopted = create_once(runtime, "PagerDuty POST /services", find, create)
        reporter.progress(
            f"{'Adopted the existing' if adopted else 'Created the'} PagerDuty service "
            f"{service.get('name')} ({service['id']})."
        )
        full = client.request(
            "GET",
            f"/services/{service['id']}",
            params=[("include[]", i) for i in runtime.common.mapping.includes("services")],
        )["service"]
        entities = runtime.map_object("services", full)
        identifier = entities[0][1]["identifier"] if entities else ""
        url = full.get("html_url")
        reporter.set_outputs(
            {"service_id": full["id"], "service_url": url, "entity_identifier": identifier}
        )
        if url:
            reporter.link(url, status_label=f"Service {full.get('name')}")
        runtime.write_mapped(entities)
        linked = self._link(runtime, settings, identifier, many=many)
        rows: list[tuple[str, Any]] = [
            ("Service", full["id"]),
            ("Escalation policy", f"{policy.get('name')} ({policy_id})"),
            ("Urgency", (full.get("incident_urgency_rule") or {}).get("urgency")),
            ("Auto-resolve after (s)", full.get("auto_resolve_timeout") or "off"),
            ("Acknowledgement timeout (s)", full.get("acknowledgement_timeout") or "off"),
            ("Catalogue entity", ", ".join(f"{b}/{e['identifier']}" for b, e in entities)),
        ]
        if linked:
            rows.append(("Linked", linked))
        title = md_cell(full.get("name"))
        link = f"[{title}]({url})" if url else title
        heading = "Adopted existing PagerDuty service" if adopted else "Created PagerDuty service"
        reporter.summary(f"### {heading} {link}\n\n{table(rows)}\n")
        reporter.progress("Done.")
        reporter.succeed(f"Service {full.get('name')} ready")

    @staticmethod
    def _check_relation(runtime: Runtime, settings: CreateServiceSettings) -> bool:
        """Before PagerDuty is touched: `relation` exists on the run's entity's blueprint and
        points at the blueprint the mapping writes services to. Returns its `many`."""
        if not settings.relation or not settings.entity_blueprint or runtime.port is None:
            return False
        blueprint = runtime.port.get_blueprint(settings.entity_blueprint)
        relations: dict[str, Any] = (blueprint or {}).get("relations") or {}
        spec = relations.get(settings.relation)
        if spec is None:
            raise ActionError(
                f"Input 'relation': blueprint {settings.entity_blueprint} has no relation "
                f"{settings.relation!r} (it has: {', '.join(sorted(relations)) or 'none'}). "
                "Nothing was created."
            )
        services = runtime.common.mapping.blueprints_of("services")
        target = spec.get("target")
        if None not in services and target not in services:
            raise ActionError(
                f"Input 'relation': {settings.entity_blueprint}.{settings.relation} points at "
                f"{target}, not at {', '.join(sorted(b for b in services if b))}, the blueprint "
                "the mapping writes PagerDuty services to. Nothing was created."
            )
        return bool(spec.get("many"))

    @staticmethod
    def _link(
        runtime: Runtime, settings: CreateServiceSettings, identifier: str, *, many: bool
    ) -> str | None:
        """Point the run's entity at the new service through `relation` (merge: only that;
        a many-relation keeps the services it already lists)."""
        if not settings.relation or not settings.entity or not settings.entity_blueprint:
            return None
        if runtime.port is None:
            runtime.reporter.progress("Skipping the relation: no Port credentials.")
            return None
        where = f"{settings.entity_blueprint}/{settings.entity}"
        value: str | list[str] = identifier
        if many:
            held = runtime.port.get_entity(settings.entity_blueprint, settings.entity) or {}
            current = (held.get("relations") or {}).get(settings.relation) or []
            current = current if isinstance(current, list) else [current]
            value = [*(str(v) for v in current if v != identifier), identifier]
        try:
            runtime.port.upsert_entity(
                settings.entity_blueprint,
                {"identifier": settings.entity, "relations": {settings.relation: value}},
                run_id=runtime.reporter.write_run_id,
                create_missing_related=False,
            )
        except PortError as exc:
            raise ActionError(
                f"Input 'relation': Port refused to link {where} to the service by "
                f"{settings.relation!r} ({exc}); check that the blueprint "
                f"{settings.entity_blueprint} has that relation. The PagerDuty service exists."
            ) from exc
        runtime.reporter.progress(f"Linked {where} to the service by '{settings.relation}'.")
        return f"{where} → {settings.relation}"


OPERATION = CreateService()
