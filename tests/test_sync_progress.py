"""The sync's "about Ns left" covers the whole read: the reader knows the total of every
six-month window before it reads the first slice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from pagerduty_port.catalogue.mapping import parse_mapping
from pagerduty_port.catalogue.sync.counts import SyncCounts
from pagerduty_port.catalogue.sync.progress import Progress
from pagerduty_port.catalogue.sync.reader import PagerDutyReader
from pagerduty_port.clients.pagerduty import PagerDutyClient

MAPPING = """
resources:
  - kind: incidents
    selector: {query: "true"}
    port:
      entity:
        mappings: {identifier: .id, title: .title, blueprint: '"pagerdutyIncident"'}
"""


def test_time_left_covers_every_window_from_the_first_page(sandbox: Any) -> None:
    now = datetime.now(UTC)
    # 400 incidents over about 13 months: three six-month windows, 100 items a page.
    sandbox.pagerduty.seed_incidents(400, spacing=timedelta(hours=23))
    with requests.Session() as session:
        client = PagerDutyClient(session, sandbox.pagerduty_token, sandbox.pagerduty_url)
        reader = PagerDutyReader(
            client, incidents_since=now - timedelta(days=400), incidents_until=None
        )
        pages = reader.pages(parse_mapping(MAPPING).resources[0])
        first = next(pages)
        assert reader.stats.planned["incidents"] == 400

        counts = SyncCounts()
        counts.kind("incidents").read = len(first)
        said: list[str] = []
        ticks = iter([0.0, 10.0])
        progress = Progress(said.append, reader.stats, lambda: next(ticks))
        progress.tick("incidents", counts, force=True)
        rate = len(first) / 10.0
        assert said[-1].endswith(f"about {(400 - len(first)) / rate:,.0f}s left")
        assert sum(len(page) for page in pages) + len(first) == 400
    assert reader.stats.slices["incidents"] == 3
