"""Fuzzing the API from its own OpenAPI document: no input gets a 5xx or a non-JSON error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, GenerationMode, Response
from schemathesis.core import NotSet
from schemathesis.core.result import Ok

# The serializer of a tus PATCH's raw bytes (and the apprise-url format), as `st run` loads them.
import tests.hub.schemathesis_hooks  # noqa: F401
from tests.conftest import ADMIN_TOKEN, INSIDE, alert_body
from tests.hub.live_api import Server, ServerLog

# 25 per operation and role: about 375 requests a role, some 30 s for the three roles.
EXAMPLES = 25
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


@dataclass
class Seeded:
    """What the fuzzer needs from a hub with data in it: tokens and real ids."""

    tokens: dict[str, str]
    organisation_id: str
    alert_id: str


def seed(session: requests.Session, url: str) -> Seeded:
    """A partner with a site, a police publisher and one alert that reaches the partner."""
    def post(path: str, body: dict[str, Any], token: str = ADMIN_TOKEN) -> Any:
        response = session.post(url + path, json=body,
                                headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 201, (path, response.status_code, response.text)
        return response.json()

    partner = post("/api/v1/organisations",
                   {"name": "Bay St Tower", "kind": "corporate", "sites": [INSIDE]})["id"]
    post(f"/api/v1/organisations/{partner}/contacts",
         {"name": "Tower Desk", "chat_url": "json://127.0.0.1:9/hook"})
    police = post("/api/v1/organisations", {"name": "Toronto Police Service",
                                            "kind": "police"})["id"]
    tokens = {"admin": ADMIN_TOKEN}
    for role, organisation in (("publisher", police), ("partner", partner)):
        tokens[role] = post("/api/v1/tokens", {"organisation_id": organisation,
                                               "role": role})["token"]
    # The body's area covers INSIDE; it expires two hours after the fixed clock the hub runs on.
    alert = post("/api/v1/alerts", alert_body(), tokens["publisher"])["id"]
    return Seeded(tokens, partner, alert)


def operations_of(schema: BaseSchema) -> list[APIOperation]:
    """Every operation of the document; one that schemathesis cannot read fails the test."""
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    return operations


def strategy(operation: APIOperation, seeded: Seeded) -> st.SearchStrategy[Case]:
    """Valid and invalid requests; for `{id}` paths also ones naming a real resource."""
    modes = [operation.as_strategy(generation_mode=mode)
             for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)]
    if "{id}" in operation.path:
        real = seeded.organisation_id if "/organisations/" in operation.path else seeded.alert_id
        modes.append(operation.as_strategy(path_parameters={"id": real}))
    return st.one_of(modes)


def fuzz(operation: APIOperation, seeded: Seeded, exercise: Callable[[Case], None]) -> None:
    """Run `exercise` on this operation's generated cases."""
    @FUZZ
    @given(strategy(operation, seeded))
    def run(case: Case) -> None:
        exercise(case)

    run()


def judge(case: Case, response: Response, log: str) -> str | None:
    """What is wrong with the answer, if anything."""
    if response.status_code >= 500:
        return f"status {response.status_code}"
    if log:
        return "the server logged an error"
    # An answer to HEAD never has a body (RFC 9110 9.3.2): its status and headers say it.
    if response.status_code >= 400 and case.path.startswith("/api/v1") \
            and case.method != "HEAD":
        try:
            body = response.json()
        except ValueError:
            return f"a {response.status_code} whose body is not JSON"
        if not isinstance(body, dict) or "error" not in body:
            return f"a {response.status_code} JSON body without an `error` key"
    return None


def sent_body(case: Case) -> str:
    return "(none)" if isinstance(case.body, NotSet) else repr(case.body)


@dataclass
class Probe:
    """Sends each case as one role and keeps every distinct thing that went wrong."""

    server: Server
    log: ServerLog
    session: requests.Session
    token: str
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)
    calls: int = 0

    def __call__(self, case: Case) -> None:
        self.calls += 1
        headers = {"Authorization": f"Bearer {self.token}"}
        try:
            response = case.call(base_url=self.server.url, session=self.session,
                                 headers=headers, timeout=10)
        except requests.RequestException as error:
            self.fail(case, f"no answer: {error!r}", "", self.log.drain())
            return
        log = self.log.drain()
        problem = judge(case, response, log)
        if problem is not None:
            answer = f"answer: {response.status_code} {response.text_lossy()[:500]}\n"
            self.fail(case, problem, answer + case.as_curl_command(headers=headers), log)

    def fail(self, case: Case, problem: str, answer: str, log: str) -> None:
        self.failures.setdefault((case.method, case.path, problem.split(":")[0]), (
            f"{case.method} {case.formatted_path}: {problem}\n"
            f"query={case.query!r} body={sent_body(case)}\n{answer}\n{log}"))


# The hub serves from its own thread, where background mail (the standard library's
# make_msgid and MIME boundaries) draws from the global `random` while Hypothesis generates
# cases here; Hypothesis takes that for a strategy using `random`. Derandomised generation
# does not depend on that state.
@pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")
@pytest.mark.parametrize("role", ["admin", "publisher", "partner"])
def test_no_request_breaks_the_api(server: Server, server_log: ServerLog, role: str) -> None:
    with requests.Session() as session:
        seeded = seed(session, server.url)
        probe = Probe(server, server_log, session, seeded.tokens[role])
        schema = schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")
        operations = operations_of(schema)
        for operation in operations:
            fuzz(operation, seeded, probe)
        alive = session.get(f"{server.url}/healthz", timeout=10).status_code
    assert probe.calls >= len(operations) * 5, probe.calls
    if probe.failures:  # every distinct failure at once, so one run shows the owner all
        pytest.fail("\n\n".join(probe.failures.values()), pytrace=False)
    assert alive == 200
