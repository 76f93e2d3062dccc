"""/healthz, /readyz and /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from passport.app import create_app
from passport.config import Settings
from passport.services import Services
from passport.storage.migrate import head_revision

SQLITE = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def single_process_metrics(monkeypatch: pytest.MonkeyPatch) -> None:
    """Metrics of this process only, whatever another test left in the environment."""
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)


async def client_for(database_url: str, home: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(home=home, database_url=database_url, public_url="https://passport.test")
    app = create_app(settings)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as client:
        yield client
    app.state.services.database.dispose()


@SQLITE
async def test_healthz_answers_200(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["cache-control"] == "no-store"


@SQLITE
async def test_readyz_is_200_on_a_migrated_database(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


async def test_readyz_is_503_on_a_database_that_was_never_migrated(tmp_path: Path) -> None:
    async for client in client_for(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path):
        response = await client.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "unavailable"
        assert head_revision() in body["detail"]
        assert "passport db upgrade" in body["detail"]


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-folder/passport.db",
        "postgresql://postgres@127.0.0.1:1/passport",
        "mysql://root@127.0.0.1:1/passport?ssl_disabled=true",
    ],
)
async def test_readyz_is_503_when_the_database_is_unreachable(tmp_path: Path, url: str) -> None:
    async for client in client_for(url, tmp_path):
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "detail": "database unreachable"}
        assert (await client.get("/healthz")).status_code == 200


async def metric_samples(
    client: httpx.AsyncClient,
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


@SQLITE
async def test_metrics_count_requests_by_canonical_route_never_the_raw_path(
    client: httpx.AsyncClient,
) -> None:
    await client.get("/service/GETAPPLICATION", params={"name": "x"})
    await client.get("/SERVICE/getapplication", params={"name": "Passport"})
    await client.get("/Service/getApplication", params={"name": "Passport"})
    samples = await metric_samples(client)
    route = "Service/getApplication"
    total = "passport_http_requests_total"
    assert samples[(total, labels(route=route, method="GET", status="404"))] == 1
    assert samples[(total, labels(route=route, method="GET", status="200"))] == 2
    every_route = {dict(key)["route"] for _, key in samples if "route" in dict(key)}
    assert "service/GETAPPLICATION" not in every_route
    assert all("?" not in value and not value.startswith("/S") for value in every_route)


@SQLITE
async def test_unknown_paths_are_counted_as_unmatched(client: httpx.AsyncClient) -> None:
    for path in ("/Nope/x", "/a/b/c", "/Service/%00", "/favicon.ico"):
        await client.get(path)
    samples = await metric_samples(client)
    key = ("passport_http_requests_total", labels(route="unmatched", method="GET", status="404"))
    assert samples[key] == 4
    every_route = {dict(k)["route"] for _, k in samples if "route" in dict(k)}
    assert every_route.isdisjoint({"Nope/x", "/Nope/x", "a/b/c", "favicon.ico", "/favicon.ico"})


@SQLITE
async def test_metrics_count_by_status_and_method(client: httpx.AsyncClient) -> None:
    await client.post("/Service/getApplication", data={"name": "Passport"})
    await client.put("/Service/getApplication")
    samples = await metric_samples(client)
    route = "Service/getApplication"
    total = "passport_http_requests_total"
    assert samples[(total, labels(route=route, method="POST", status="200"))] == 1
    assert samples[(total, labels(route=route, method="PUT", status="405"))] == 1


@SQLITE
async def test_metrics_have_a_latency_histogram_per_route(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await client.get("/Service/getApplication", params={"name": "Passport"})
    samples = await metric_samples(client)
    name = "passport_http_request_duration_seconds"
    route = "Service/getApplication"
    assert samples[(f"{name}_count", labels(route=route))] == 3
    assert samples[(f"{name}_bucket", labels(route=route, le="+Inf"))] == 3
    assert samples[(f"{name}_sum", labels(route=route))] > 0
    buckets = [k for k in samples if k[0] == f"{name}_bucket" and dict(k[1])["route"] == route]
    assert len(buckets) > 5


@SQLITE
async def test_ops_endpoints_are_counted_under_their_own_names(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/readyz")
    samples = await metric_samples(client)
    total = "passport_http_requests_total"
    assert samples[(total, labels(route="/healthz", method="GET", status="200"))] == 1
    assert samples[(total, labels(route="/readyz", method="GET", status="200"))] == 1


@SQLITE
async def test_each_app_counts_its_own_requests(
    client: httpx.AsyncClient, settings: Settings, services: Services
) -> None:
    await client.get("/Service/Index")
    other = create_app(settings, services)
    transport = httpx.ASGITransport(app=other, client=("203.0.113.7", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="https://passport.test") as fresh:
        samples = await metric_samples(fresh)
    key = (
        "passport_http_requests_total",
        labels(route="Service/Index", method="GET", status="200"),
    )
    assert key not in samples


@SQLITE
async def test_unknown_http_methods_share_one_metrics_label(client: httpx.AsyncClient) -> None:
    for index in range(5):
        await client.request(f"BREW{index}", "/Service/getApplication")
    samples = await metric_samples(client)
    methods = {dict(key).get("method") for name, key in samples if name.startswith("passport_")}
    assert not any(method and method.startswith("BREW") for method in methods)
    key = (
        "passport_http_requests_total",
        labels(route="Service/getApplication", method="other", status="405"),
    )
    assert samples[key] == 5
