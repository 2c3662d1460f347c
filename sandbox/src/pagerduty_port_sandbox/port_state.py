"""The simulated Port organisation: credentials, blueprints, entities and action runs.

Entities are stored as the API returns them, keyed by `(blueprint, identifier)`; every schema
property and relation is present (null or `[]` when unset), as Port answers. Runs keep what an
action reported (`logs`, every `patches` body, the final `status`...) so a test can assert on it.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime
from importlib import resources
from typing import Any

from pagerduty_port_sandbox.common import iso_millis, utcnow
from pagerduty_port_sandbox.port_schema import PortError, normalize_entity, validate_blueprint
from pagerduty_port_sandbox.port_webhooks import PortWebhookStore

Key = tuple[str, str]
RUN_FIELDS = ("status", "statusLabel", "link", "summary", "externalRunId")
TERMINAL = ("SUCCESS", "FAILURE")


def not_found(message: str) -> PortError:
    return PortError(404, "not_found", message)


def default_blueprints() -> list[dict[str, Any]]:
    """The project's blueprint definitions (`pagerduty_port/blueprints/*.json`), targets first."""
    folder = resources.files("pagerduty_port").joinpath("blueprints")
    loaded = {
        bp["identifier"]: bp
        for bp in (
            json.loads(entry.read_text(encoding="utf-8"))
            for entry in folder.iterdir()
            if entry.name.endswith(".json")
        )
    }
    ordered: list[dict[str, Any]] = []

    def visit(identifier: str) -> None:
        blueprint = loaded.get(identifier)
        if blueprint is None or blueprint in ordered:
            return
        for relation in blueprint.get("relations", {}).values():
            visit(relation["target"])
        ordered.append(blueprint)

    for identifier in sorted(loaded):
        visit(identifier)
    return ordered


class PortState:
    """Everything the Port simulator knows. Knobs (plain attributes):

    - `rate_limit` / `rate_limit_period`: requests per window reported in `x-ratelimit-*`;
      exceeding it answers 429; `reset_rate_limit()` opens a new window.
    - `reject_unknown_properties`: 422 for properties the blueprint does not define.
    - `auto_create_runs`: accept run ids nobody registered with `add_run` (a demo convenience).
    - `token_expires_in`: the `expiresIn` (seconds) of issued tokens; `expire_tokens()` makes
      every issued token invalid, as if that time had passed.
    """

    def __init__(self, client_id: str | None = None, client_secret: str | None = None) -> None:
        self.lock = threading.RLock()
        self.clock: Callable[[], datetime] = utcnow
        self.client_id = client_id or "sandbox-" + secrets.token_hex(8)
        self.client_secret = client_secret or secrets.token_urlsafe(32)
        self.credentials: dict[str, str] = {self.client_id: self.client_secret}
        self.tokens: dict[str, str] = {}  # access token -> client id
        self.blueprints: dict[str, dict[str, Any]] = {}
        self.entities: dict[Key, dict[str, Any]] = {}
        self.entity_runs: dict[Key, str] = {}  # last run_id an entity was written with
        self.runs: dict[str, dict[str, Any]] = {}

        self.rate_limit = 35_000
        self.rate_limit_period = 300
        self.reject_unknown_properties = True
        self.auto_create_runs = False
        self.token_expires_in = 3600
        self._used = 0
        self._window_start = time.time()
        self._log_ids = 0
        self.webhooks = PortWebhookStore(self)  # webhook data sources and their ingest log

    def now(self) -> str:
        return iso_millis(self.clock())

    # ------------------------------------------------------------------ credentials
    def issue_token(self, client_id: str) -> str:
        token = "sandbox." + secrets.token_urlsafe(32)
        self.tokens[token] = client_id
        return token

    def expire_tokens(self) -> None:
        """Invalidate every issued access token (clients must log in again)."""
        with self.lock:
            self.tokens.clear()

    # ------------------------------------------------------------------ rate limit
    def consume(self) -> tuple[bool, int]:
        if self._used >= self.rate_limit:
            return False, 0
        self._used += 1
        return True, self.rate_limit - self._used

    def rate_headers(self, remaining: int) -> dict[str, str]:
        return {
            "x-ratelimit-limit": str(self.rate_limit),
            "x-ratelimit-remaining": str(remaining),
            "x-ratelimit-reset": str(int(self._window_start + self.rate_limit_period)),
            "x-ratelimit-period": str(self.rate_limit_period),
        }

    def reset_rate_limit(self) -> None:
        with self.lock:
            self._used = 0
            self._window_start = time.time()

    # ------------------------------------------------------------------ blueprints
    def add_blueprint(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a blueprint (validated as `POST /v1/blueprints` does)."""
        blueprint = validate_blueprint(data)
        identifier = blueprint["identifier"]
        if identifier in self.blueprints:
            raise PortError(409, "identifier_taken", f'Blueprint "{identifier}" already exists')
        for name, relation in blueprint["relations"].items():
            if relation["target"] not in self.blueprints and relation["target"] != identifier:
                raise not_found(
                    f'Relation "{name}" targets blueprint "{relation["target"]}", '
                    "which was not found"
                )
        stamp = self.now()
        blueprint.update(
            {
                "createdAt": stamp,
                "createdBy": self.client_id,
                "updatedAt": stamp,
                "updatedBy": self.client_id,
            }
        )
        self.blueprints[identifier] = blueprint
        return blueprint

    def load_default_blueprints(self) -> list[str]:
        """Create the project's default PagerDuty blueprints; returns their identifiers."""
        created = []
        for blueprint in default_blueprints():
            if blueprint["identifier"] not in self.blueprints:
                self.add_blueprint(blueprint)
                created.append(blueprint["identifier"])
        return created

    def blueprint(self, identifier: str) -> dict[str, Any]:
        blueprint = self.blueprints.get(identifier)
        if blueprint is None:
            raise not_found(f'Blueprint with identifier "{identifier}" was not found')
        return blueprint

    # ------------------------------------------------------------------ runs
    def add_run(
        self,
        run_id: str | None = None,
        *,
        action: str = "pagerduty_action",
        blueprint: str | None = None,
        entity: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> str:
        """Register an action run in progress (Port creates one per self-service execution)."""
        run_id = run_id or "r_" + secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
        stamp = self.now()
        self.runs[run_id] = {
            "id": run_id,
            "status": "IN_PROGRESS",
            "statusLabel": None,
            "link": [],
            "summary": None,
            "externalRunId": None,
            "logs": [],
            "patches": [],
            "entities": [],
            "action": {"identifier": action, "title": action, "icon": None, "deleted": False},
            "blueprint": {
                "identifier": blueprint,
                "title": blueprint,
                "icon": None,
                "deleted": False,
            }
            if blueprint
            else None,
            "entity": {"identifier": entity, "title": entity, "icon": None, "deleted": False}
            if entity
            else None,
            "properties": properties or {},
            "rawProperties": properties or {},
            "source": "UI",
            "requiredApproval": False,
            "endedAt": None,
            "createdBy": "sandbox-user",
            "updatedBy": "sandbox-user",
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        return run_id

    def run(self, run_id: str) -> dict[str, Any]:
        run = self.runs.get(run_id)
        if run is None and self.auto_create_runs:
            self.add_run(run_id)
            run = self.runs[run_id]
        if run is None:
            raise not_found(f'Action run with id "{run_id}" was not found')
        return run

    def live_run(self, run_id: str) -> dict[str, Any]:
        """A run entities may still be tied to: known (404 otherwise) and not finished (400)."""
        run = self.run(run_id)
        if run["status"] in TERMINAL:
            raise PortError(400, "run_exhausted", f'The action run "{run_id}" has already finished')
        return run

    @staticmethod
    def run_view(run: dict[str, Any]) -> dict[str, Any]:
        """The run as `GET /v1/actions/runs/{id}` shows it (without the test bookkeeping)."""
        return {k: v for k, v in run.items() if k not in ("logs", "patches", "entities")}

    def add_log(
        self, run: dict[str, Any], message: str, termination: str | None, label: str | None
    ) -> dict[str, Any]:
        self._log_ids += 1
        entry = {
            "id": f"log_{self._log_ids}",
            "runId": run["id"],
            "message": message,
            "createdBy": self.client_id,
            "createdAt": self.now(),
        }
        run["logs"].append({**entry, "terminationStatus": termination, "statusLabel": label})
        if termination:
            self.finish(run, termination)
        if label is not None:
            run["statusLabel"] = label
        run["updatedAt"] = entry["createdAt"]
        return entry

    def finish(self, run: dict[str, Any], status: str) -> None:
        run["status"] = status
        run["endedAt"] = self.now()

    # ------------------------------------------------------------------ entities
    def _skeleton(self, blueprint: dict[str, Any], identifier: str) -> dict[str, Any]:
        stamp = self.now()
        return {
            "identifier": identifier,
            "title": None,
            "icon": None,
            "blueprint": blueprint["identifier"],
            "team": [],
            "properties": {name: None for name in blueprint["schema"]["properties"]},
            "relations": {
                name: [] if relation["many"] else None
                for name, relation in blueprint["relations"].items()
            },
            "createdAt": stamp,
            "createdBy": self.client_id,
            "updatedAt": stamp,
            "updatedBy": self.client_id,
        }

    def upsert_entity(
        self,
        blueprint_id: str,
        data: Any,
        *,
        upsert: bool,
        merge: bool,
        create_missing: bool,
        run_id: str | None = None,
        validation_only: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """Create or update one entity like `POST .../entities`; returns (status, entity)."""
        blueprint = self.blueprint(blueprint_id)
        run = self.live_run(run_id) if run_id is not None else None
        identifier = data.get("identifier") if isinstance(data, dict) else None
        existing = self.entities.get((blueprint_id, identifier)) if identifier else None
        partial = existing is not None and upsert and merge
        fields = normalize_entity(
            data, blueprint, reject_unknown=self.reject_unknown_properties, partial=partial
        )
        identifier = fields["identifier"] or "e_" + secrets.token_hex(8)
        if existing is not None and not upsert:
            raise PortError(
                409,
                "identifier_taken",
                f'Entity with identifier "{identifier}" of blueprint "{blueprint_id}" already '
                "exists (send upsert=true to update it)",
            )
        missing = self._missing_targets(blueprint, fields["relations"])
        if missing and not create_missing:
            target_bp, target_id = missing[0]
            raise not_found(
                f'Related entity with identifier "{target_id}" of blueprint "{target_bp}" was not '
                "found (send create_missing_related_entities=true to create it)"
            )
        entity = self._skeleton(blueprint, identifier)
        if existing is not None:
            entity["createdAt"] = existing["createdAt"]
            entity["createdBy"] = existing["createdBy"]
            if partial:
                entity.update({k: existing[k] for k in ("title", "icon", "team")})
                entity["properties"].update(existing["properties"])
                entity["relations"].update(existing["relations"])
        for key in ("title", "icon", "team"):
            if key in fields:
                entity[key] = fields[key]
        entity["properties"].update(fields["properties"])
        entity["relations"].update(fields["relations"])
        if partial:
            merged = {**data, "properties": entity["properties"], "relations": entity["relations"]}
            normalize_entity(merged, blueprint, reject_unknown=False)  # required fields, merged
        if validation_only:
            return 200, entity
        for target_bp, target_id in missing:
            self.entities[(target_bp, target_id)] = self._skeleton(
                self.blueprints[target_bp], target_id
            )
        self.entities[(blueprint_id, identifier)] = entity
        if run is not None:
            self.entity_runs[(blueprint_id, identifier)] = run["id"]
            if (blueprint_id, identifier) not in run["entities"]:
                run["entities"].append((blueprint_id, identifier))
        return (200 if existing is not None else 201), entity

    def _missing_targets(self, blueprint: dict[str, Any], relations: dict[str, Any]) -> list[Key]:
        missing: list[Key] = []
        for name, value in relations.items():
            target_bp = blueprint["relations"][name]["target"]
            values = value if isinstance(value, list) else [value]
            for target_id in values:
                if target_id is not None and (target_bp, target_id) not in self.entities:
                    missing.append((target_bp, target_id))
        return missing

    def dependents(self, keys: Iterable[Key]) -> list[Key]:
        """Entities whose relations point at any of `keys` (only blueprints that can)."""
        wanted = set(keys)
        target_blueprints = {bp for bp, _ in wanted}
        referencing = {
            bp_id: [
                name for name, rel in bp["relations"].items() if rel["target"] in target_blueprints
            ]
            for bp_id, bp in self.blueprints.items()
        }
        referencing = {bp_id: names for bp_id, names in referencing.items() if names}
        if not referencing:
            return []
        found = []
        for key, entity in self.entities.items():
            names = referencing.get(key[0])
            if not names or key in wanted:
                continue
            relation_targets = self.blueprints[key[0]]["relations"]
            for name in names:
                value = entity["relations"].get(name)
                values = value if isinstance(value, list) else [value]
                target_bp = relation_targets[name]["target"]
                if any((target_bp, v) in wanted for v in values if v is not None):
                    found.append(key)
                    break
        return found

    def delete_entities(
        self, blueprint_id: str, identifiers: list[str], *, delete_dependents: bool
    ) -> list[str]:
        """Delete entities (and, when asked, everything that depends on them); all or nothing."""
        self.blueprint(blueprint_id)
        keys = [(blueprint_id, i) for i in identifiers if (blueprint_id, i) in self.entities]
        to_delete = list(keys)
        frontier = keys
        while frontier:
            dependents = [d for d in self.dependents(frontier) if d not in to_delete]
            if dependents and not delete_dependents:
                bp, identifier = dependents[0]
                raise PortError(
                    422,
                    "has_dependents",
                    f'Entity "{identifier}" of blueprint "{bp}" depends on the entities being '
                    "deleted (send delete_dependents=true to delete it too)",
                )
            to_delete.extend(dependents)
            frontier = dependents
        for key in to_delete:
            self.entities.pop(key, None)
            self.entity_runs.pop(key, None)
        return [identifier for _, identifier in keys]
