"""The sync's small rules: deletion decisions, time slicing and the per-token rate limiter."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta

import requests

from pagerduty_port.catalogue.sync.counts import SyncCounts
from pagerduty_port.catalogue.sync.queries import ReadStats, split_window
from pagerduty_port.catalogue.sync.run import incomplete_reads
from pagerduty_port.catalogue.sync.stale import decide
from pagerduty_port.clients.http import new_session
from pagerduty_port.clients.pagerduty import PagerDutyClient
from pagerduty_port.clients.ratelimit import RateLimiter, limiter_for
from pagerduty_port_sandbox import Sandbox


def test_deletion_needs_a_clean_run_and_stays_within_the_threshold():
    existing = [f"e{i}" for i in range(10)]
    produced = existing[:7]
    assert decide("bp", existing, produced, threshold=0.5).stale == ["e7", "e8", "e9"]
    refused = decide("bp", existing, produced, threshold=0.5, blockers=["a read failed"])
    assert refused.stale == []
    assert refused.refused is not None
    assert "a read failed" in refused.refused
    over = decide("bp", existing, produced[:4], threshold=0.5)
    assert over.stale == []
    assert over.refused is not None
    assert "more than deletion_threshold 0.5" in over.refused
    assert decide("bp", existing, [], threshold=1.0).stale == existing
    assert decide("bp", existing, produced, threshold=0.0).stale == []
    assert decide("bp", None, produced, threshold=1.0).refused
    assert decide("bp", existing, existing, threshold=0.5).refused is None


def test_split_window_covers_the_range_without_overlap():
    since = datetime(2024, 1, 1, tzinfo=UTC)
    until = since + timedelta(days=10, seconds=7)
    windows = split_window(since, until, 3)
    assert len(windows) == 3
    assert windows[0][0] == since
    assert windows[-1][1] == until
    for (_, end), (start, _) in itertools.pairwise(windows):
        assert end == start


def test_the_limiter_holds_requests_when_pagerduty_says_the_budget_is_spent():
    with Sandbox() as sb:
        sb.pagerduty.rate_limit = 4
        sb.pagerduty.rate_limit_reset = 7
        waits: list[float] = []
        limiter = RateLimiter(sleep=waits.append)
        client = PagerDutyClient(
            new_session(),
            sb.pagerduty_token,
            sb.pagerduty_url,
            before_request=limiter.before_request,
            after_response=limiter.after_response,
        )
        client.request("GET", "/services")  # remaining 3: go on
        client.request("GET", "/services")  # remaining 2: the reserve, hold the next one
        assert waits == []
        client.request("GET", "/services")
        assert len(waits) == 1
        assert 6 < waits[0] <= 7


def test_one_limiter_per_token():
    assert limiter_for("token-a-123") is limiter_for("token-a-123")
    assert limiter_for("token-a-123") is not limiter_for("token-b-123")


def test_list_reads_ask_for_the_total_on_the_first_page_only(sb):
    sb.pagerduty.seed_services(249)
    client = PagerDutyClient(new_session(), sb.pagerduty_token, sb.pagerduty_url)
    totals: list[int] = []
    pages = list(client.iter_pages("/services", "services", on_total=totals.append))
    assert [len(p) for p in pages] == [100, 100, 50]
    assert totals == [250]
    reads = sb.requests.filter(server="pagerduty", method="GET", path="/services")
    assert [r.query.get("total") for r in reads] == [["true"], None, None]


def test_a_kind_that_read_fewer_items_than_pagerduty_reported_is_incomplete():
    counts = SyncCounts()
    reads = ReadStats()
    counts.add("services", read=250)
    reads.expect("services", 250)
    counts.add("incidents", read=100)
    reads.expect("incidents", 200)
    reads.expect("incidents", 250)  # two time slices
    counts.add("users", read=3)  # PagerDuty gave no total: nothing to compare
    found = incomplete_reads(["services", "incidents", "users"], counts, reads)
    assert found == {"incidents": "read 100 of the 450 incidents PagerDuty reported"}
    counts.read_failed.add("incidents")  # already reported as a failed read
    assert incomplete_reads(["incidents"], counts, reads) == {}


def test_a_rate_limit_wait_holds_no_lock_another_thread_needs():
    released = threading.Event()
    clock = [0.0]

    def sleep(_seconds: float) -> None:
        released.wait(5)

    limiter = RateLimiter(sleep=sleep, clock=lambda: clock[0])
    spent = requests.Response()
    spent.status_code = 200
    spent.headers["ratelimit-remaining"] = "0"
    spent.headers["ratelimit-reset"] = "30"
    limiter.after_response(spent)
    waiting = threading.Thread(target=limiter.before_request)
    waiting.start()  # now asleep for the reset
    other = threading.Thread(target=limiter.after_response, args=(spent,))
    other.start()
    other.join(2)
    finished_while_the_first_waits = not other.is_alive()
    released.set()
    waiting.join(5)
    assert finished_while_the_first_waits
    assert limiter.waits == [30.0]
