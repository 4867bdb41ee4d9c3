"""The outbox benchmark: the hub's email and chat deliveries, each beside a bare baseline
measured in the same run.

    python -m bench --only outbox [--outbox-emails 2000] [--quick]

Every hub is `python -m hub.cli serve` in a process of its own on a fresh database (SQLite,
or a PostgreSQL database made for the run and dropped after it), seeded with its audience
directly. Mail goes to the SMTP sink of `bench.sinks` (a minimal SMTP server: aiosmtpd's
own costs about 1 ms of CPU a mail and would cap every figure near 1,000 a second), chat to
its webhook, each a process of its own; the baselines (a bare aiosmtplib pool, a bare
aiohttp client, a bare aiohttp POST handler) run against the same receivers. What is measured:

1. email end to end: two alerts to N/2 contacts each, first publish POST to the sink
   holding all N mails, against 8 kept-open aiosmtplib connections sending N mails of the
   same size; and the publish POST's round trip to N/2 contacts with email on and off;
2. chat: two alerts to N/4 JSON webhook rooms each, against a bare aiohttp client with 16
   posts in flight;
3. SIGKILL with a quarter of N mails delivered, restart at once: time to the last mail,
   duplicates (by Message-ID) and missing mails;
4. a relay down for 60 s while 500 mails wait: the sink's start to the last mail;
5. 20 publishers back to back for 30 s, each alert to 50 email contacts while the outbox
   sends: the publish POST's latency and answers, against a bare aiohttp POST handler.
"""

from __future__ import annotations

import asyncio
import email.policy
import os
import statistics
import time
import traceback
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any

import aiohttp
import aiosmtplib

from bench.outbox_hub import BACKENDS, Answer, Audience, Publisher, hub_on
from bench.servers_run import free_port
from bench.sinks import Receiver

Result = dict[str, Any]
MAIL_FROM = "alerts@localhost"
PASSED_THROUGH = ("VIGIL_SMTP_CONNECTIONS", "VIGIL_DELIVERY_LEASE_S")  # recorded with results
WARM_UP = 2  # the first publishes of a new hub are slower (queries compiled, caches cold)


@dataclass(frozen=True)
class Plan:
    """How big each measurement is."""

    emails: int  # the throughput and SIGKILL runs: two alerts to emails/2 contacts each
    publish_repeats: int  # timed publishes (after WARM_UP more) for the publish-path cost
    chat: int  # chat deliveries: two alerts to chat/2 rooms each
    outage_emails: int
    outage_s: float
    publishers: int
    publish_s: float
    latency_audience: int

    @classmethod
    def of(cls, emails: int | None, quick: bool) -> Plan:
        emails = emails or (300 if quick else 2000)
        return cls(emails=emails, publish_repeats=4 if quick else 8, chat=emails // 2,
                   outage_emails=max(20, emails // 4), outage_s=15 if quick else 60,
                   publishers=20, publish_s=10 if quick else 30, latency_audience=50)


def patience(messages: int) -> float:
    """How long to wait for `messages` deliveries: generous enough for a slow hub (60 a
    second), at most 600 s; a run past it is reported as a timeout."""
    return min(600.0, 60.0 + messages / 5)


def lease_s() -> float:
    return float(os.environ.get("VIGIL_DELIVERY_LEASE_S") or 10)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def check_published(answers: list[Answer]) -> None:
    refused = [a.status for a in answers if a.status != 201]
    if refused:
        raise RuntimeError(f"publish answered {refused}, not 201")


def arrived(counts: Result, started: float, expected: int) -> Result:
    """Deliveries counted by a receiver since `started`, as a rate."""
    last = counts["last_at"] or started
    span = max(last - started, 1e-9)
    return {"expected": expected, "received": counts["messages"],
            "unique": counts["unique"], "duplicates": counts["duplicates"],
            "seconds": span, "per_s": counts["messages"] / span,
            "mean_bytes": counts["bytes"] / max(1, counts["messages"]),
            "timed_out": counts["timed_out"]}


# 1. Email end to end ---------------------------------------------------------------------

async def email_throughput(sink: Receiver, backend: str, plan: Plan) -> Result:
    """Emails per second end to end on `backend`: two alerts to emails/2 contacts each, from
    the first publish POST until the sink holds every mail; beside it the bare pool sending
    as many mails of the size the hub's were to the same sink."""
    hub = await hub_emails(sink, backend, plan.emails)
    bare = await bare_smtp_pool(sink, plan.emails, round(hub["mean_bytes"]) or 3000)
    return {"hub": hub, "bare": bare}


async def hub_emails(sink: Receiver, backend: str, emails: int) -> Result:
    return await two_alerts(sink, backend, Audience(emails // 2), sink.smtp_url, emails)


async def two_alerts(receiver: Receiver, backend: str, audience: Audience,
                     smtp_url: str | None, deliveries: int) -> Result:
    """A hub on `backend` seeded with `audience` publishes two alerts; the rate from the
    first publish POST until `receiver` holds every delivery."""
    await receiver.reset()
    expected = 2 * audience.contacts
    async with hub_on(backend, audience, smtp_url) as hub:
        publisher = Publisher.to_hub(hub)
        try:
            started = time.monotonic()
            answers = [await publisher.publish() for _ in range(2)]
        finally:
            await publisher.close()
        check_published(answers)
        counts = await receiver.wait_for(expected, patience(deliveries))
    return {**arrived(counts, started, expected), "targets": answers[0].contacts}


def flattened_mail(size: int) -> tuple[bytes, bytes]:
    """A text and HTML multipart mail of about `size` bytes (whole body lines, then a
    padding header for the rest), flattened once, split where its Message-ID goes so each
    send can carry one of its own."""
    policy = email.policy.default.clone(max_line_length=998, linesep="\r\n")
    line = "Keep staff away from the north lobby of the tower now.\n"

    def build(lines: int, padding: int = 0) -> bytes:
        mail = EmailMessage(policy=policy)
        mail["From"], mail["To"] = MAIL_FROM, "bare@example.org"
        mail["Subject"] = "[TLP:GREEN] SEVERE: Suspicious package, King St W & Bay St"
        mail["Message-ID"] = "<MESSAGE-ID-HERE@bench>"
        if padding:
            mail["X-Padding"] = "x" * padding
        mail.set_content(line * lines)
        mail.add_alternative(f"<p>{line}</p>" * lines, subtype="html")
        return mail.as_bytes()

    lines = 1
    while len(build(lines + 1)) <= size:
        lines += 1
    padding = max(0, size - len(build(lines)) - len("X-Padding: \r\n"))
    head, _, tail = build(lines, padding).partition(b"MESSAGE-ID-HERE@bench")
    return head, tail


async def bare_smtp_pool(sink: Receiver, emails: int, size: int, connections: int = 8
                         ) -> Result:
    """The bare baseline: `connections` tasks, each with a kept-open aiosmtplib.SMTP of its
    own, sending pre-flattened mails of `size` bytes until `emails` are sent."""
    await sink.reset()
    head, tail = flattened_mail(size)
    numbers = iter(range(emails))

    async def sender() -> None:
        smtp = aiosmtplib.SMTP(hostname="127.0.0.1", port=sink.port, timeout=30)
        await smtp.connect()
        try:
            for n in numbers:
                await smtp.sendmail(MAIL_FROM, [f"bare{n}@example.org"],
                                    head + f"bare{n}@bench".encode() + tail)
        finally:
            await smtp.quit()

    started = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return arrived(await sink.wait_for(emails, patience(emails)), started, emails)


async def publish_cost(sink: Receiver, backend: str, plan: Plan) -> Result:
    """The publish path's cost of enqueueing email on `backend`: the publish POST's round
    trip to emails/2 contacts with VIGIL_SMTP_URL set (an email row per contact written in
    the publish) and unset (none), each the median of `publish_repeats` publishes after
    WARM_UP more, each made with the outbox idle, in ms per 100 recipients."""
    audience = Audience(plan.emails // 2)
    return {"with_email": await timed_publishes(backend, audience, sink, plan.publish_repeats),
            "without_email": await timed_publishes(backend, audience, None,
                                                   plan.publish_repeats)}


async def timed_publishes(backend: str, audience: Audience, sink: Receiver | None,
                          repeats: int) -> Result:
    if sink is not None:
        await sink.reset()
    idle = True
    async with hub_on(backend, audience, sink.smtp_url if sink else None) as hub:
        publisher = Publisher.to_hub(hub)
        try:
            answers = []
            for n in range(WARM_UP + repeats):
                answers.append(await publisher.publish())
                if sink is None:
                    await asyncio.sleep(0.5)  # as long as a fast outbox takes to drain
                    continue
                drained = await sink.wait_for((n + 1) * audience.contacts,
                                              patience(audience.contacts), settle_s=0)
                idle = idle and not drained["timed_out"]  # the next once this one's is out
        finally:
            await publisher.close()
    check_published(answers)
    took = [a.took_s for a in answers[WARM_UP:]]
    median = statistics.median(took)
    return {"recipients": audience.contacts, "targets": answers[-1].contacts,
            "publishes": len(took), "post_p50_s": median, "post_min_s": min(took),
            "post_max_s": max(took),
            "ms_per_100": median * 1000 / audience.contacts * 100, "outbox_idle": idle}


# 2. Chat ---------------------------------------------------------------------------------

async def chat(plan: Plan) -> Result:
    """Chat deliveries per second end to end: two alerts to chat/2 contacts each, every one
    a json:// room on a local aiohttp webhook (its own process) counting POSTs, from the
    first publish to the last POST; beside it a bare aiohttp ClientSession posting the
    JSON the hub posted, 16 in flight, as many times."""
    webhook = await Receiver("web", free_port()).ready()
    try:
        hub = await hub_chat(webhook, plan.chat)
        body = await webhook.sample() or b'{"title": "alert", "message": "alert"}'
        bare = await bare_webhook(webhook, plan.chat, body)
    finally:
        await webhook.stop()
    return {"hub": hub, "bare": bare}


async def hub_chat(webhook: Receiver, deliveries: int) -> Result:
    return await two_alerts(webhook, "sqlite", Audience(deliveries // 2,
                                                         chat_port=webhook.port),
                            None, deliveries)


async def bare_webhook(webhook: Receiver, deliveries: int, body: bytes,
                       in_flight: int = 16) -> Result:
    """The bare baseline: one aiohttp ClientSession, `in_flight` tasks posting `body`."""
    await webhook.reset()
    numbers = iter(range(deliveries))
    headers = {"Content-Type": "application/json"}
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=in_flight)) as http:
        async def poster() -> None:
            for n in numbers:
                async with http.post(f"http://127.0.0.1:{webhook.port}/hooks/room-{n}",
                                     data=body, headers=headers) as answer:
                    await answer.read()

        started = time.monotonic()
        await asyncio.gather(*(poster() for _ in range(in_flight)))
    return arrived(await webhook.wait_for(deliveries, patience(deliveries)), started,
                   deliveries)


# 3. SIGKILL ------------------------------------------------------------------------------

async def sigkill(sink: Receiver, plan: Plan) -> Result:
    """A hub on SQLite with default settings, `emails` mails in flight, killed with SIGKILL
    once the sink has a quarter of them and restarted at once on the same database: seconds
    from the restart command (and from the kill) to the last mail, and the mails duplicated
    (by Message-ID) and missing. Claims the dead hub held wait out their lease (120 s by
    default) before they are sent."""
    contacts = plan.emails // 2
    expected = 2 * contacts
    await sink.reset()
    async with hub_on("sqlite", Audience(contacts), sink.smtp_url) as hub:
        publisher = Publisher.to_hub(hub)
        try:
            answers = [await publisher.publish() for _ in range(2)]
        finally:
            await publisher.close()
        check_published(answers)
        quarter = await sink.wait_for(expected // 4, patience(expected), settle_s=0)
        if quarter["timed_out"]:
            raise RuntimeError(f"only {quarter['messages']} of {expected} mails before "
                               "the kill was due")
        await hub.kill()
        killed_at = time.monotonic()
        at_kill = (await sink.counts())["messages"]
        restarted_at = time.monotonic()
        await hub.start()
        ready_at = time.monotonic()
        counts = await sink.wait_for(expected, min(600.0, patience(expected) + lease_s()),
                                     key="unique", settle_s=2)
    last = counts["last_at"] or restarted_at
    return {"expected": expected, "at_kill": at_kill, "received": counts["messages"],
            "duplicates": counts["duplicates"], "missing": expected - counts["unique"],
            "restart_s": ready_at - restarted_at, "restart_to_last_s": last - restarted_at,
            "kill_to_last_s": last - killed_at, "timed_out": counts["timed_out"],
            "lease_s": lease_s()}


# 4. Relay outage -------------------------------------------------------------------------

async def outage(plan: Plan) -> Result:
    """Recovery after a relay outage: VIGIL_SMTP_URL names a port where nothing listens, one
    alert to `outage_emails` contacts is published, and after `outage_s` the sink starts on
    that port: seconds from the sink's start to the last mail (the retry backoff decides)."""
    port, stats_port, emails = free_port(), free_port(), plan.outage_emails
    async with hub_on("sqlite", Audience(emails), f"smtp://127.0.0.1:{port}") as hub:
        publisher = Publisher.to_hub(hub)
        try:
            answers = [await publisher.publish()]
        finally:
            await publisher.close()
        check_published(answers)
        published_at = time.monotonic()
        await asyncio.sleep(max(0.0, published_at + plan.outage_s - time.monotonic()))
        sink = await Receiver("smtp", port, stats_port).ready()
        try:
            counts = await sink.wait_for(emails, 600.0)
        finally:
            await sink.stop()
    started = counts["started_at"]
    last, first = counts["last_at"] or started, counts["first_at"] or started
    return {"emails": emails, "outage_s": plan.outage_s, "received": counts["messages"],
            "duplicates": counts["duplicates"], "missing": emails - counts["unique"],
            "sink_start_to_first_s": first - started, "sink_start_to_last_s": last - started,
            "publish_to_last_s": last - published_at, "timed_out": counts["timed_out"]}


# 5. Publish latency under load -----------------------------------------------------------

async def latency(sink: Receiver, backend: str, plan: Plan) -> Result:
    """The publish POST under `publishers` concurrent publishers, back to back for
    `publish_s`, each alert to `latency_audience` email contacts with the sink running (so
    the outbox sends meanwhile): p50/p99/max, answers other than 201 (5xx must be none),
    and whether the seqs handed out are contiguous; beside it a bare aiohttp server's
    trivial JSON POST handler (its own process) under the same publishers."""
    await sink.reset()
    async with hub_on(backend, Audience(plan.latency_audience), sink.smtp_url) as hub:
        hub_run = await publish_for(Publisher.to_hub(hub), plan)
        hub_run["emails_sent_meanwhile"] = (await sink.counts())["messages"]
    bare_server = await Receiver("web", free_port()).ready()
    try:
        bare_run = await publish_for(Publisher(f"{bare_server.base}/publish"), plan)
    finally:
        await bare_server.stop()
    return {"hub": hub_run, "bare": bare_run}


async def publish_for(publisher: Publisher, plan: Plan) -> Result:
    answers: list[Answer] = []
    stop = time.monotonic() + plan.publish_s

    async def one_publisher() -> None:
        while time.monotonic() < stop:
            answers.append(await publisher.publish())

    try:
        started = time.monotonic()
        await asyncio.gather(*(one_publisher() for _ in range(plan.publishers)))
        elapsed = time.monotonic() - started
    finally:
        await publisher.close()
    return answered(answers, elapsed)


def answered(answers: list[Answer], elapsed: float) -> Result:
    took = [a.took_s for a in answers]
    seqs = sorted(a.seq for a in answers if a.seq is not None)
    contiguous = bool(seqs) and seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    return {"publishes": len(answers), "per_s": len(answers) / elapsed,
            "p50_s": percentile(took, 50), "p99_s": percentile(took, 99),
            "max_s": max(took, default=float("nan")),
            "non_201": sum(1 for a in answers if a.status != 201),
            "server_errors": sum(1 for a in answers if a.status >= 500),
            "no_answer": sum(1 for a in answers if a.status == 0),
            "seq_contiguous": contiguous, "seq_first": seqs[0] if seqs else None,
            "seq_last": seqs[-1] if seqs else None}


# The suite -------------------------------------------------------------------------------

async def attempt(name: str, measurement: Awaitable[Result]) -> Result:
    """Run one measurement; a failure becomes its figure ({"error": ...}), never the end
    of the suite."""
    started = time.monotonic()
    try:
        result = await measurement
    except Exception as error:
        traceback.print_exc()
        result = {"error": f"{type(error).__name__}: {error}"}
    print(f"  done: outbox {name} ({time.monotonic() - started:.0f} s)", flush=True)
    return result


async def suite(plan: Plan) -> Result:
    """Every outbox measurement, one SMTP sink process shared by those that need it."""
    results: Result = {"plan": asdict(plan),
                       "settings": {k: os.environ.get(k) for k in PASSED_THROUGH},
                       "email": {}, "publish_cost": {}, "latency": {}}
    sink = await Receiver("smtp", free_port(), free_port()).ready()
    try:
        for backend in BACKENDS:
            results["email"][backend] = await attempt(
                f"email, {backend}", email_throughput(sink, backend, plan))
        for backend in BACKENDS:
            results["publish_cost"][backend] = await attempt(
                f"publish cost, {backend}", publish_cost(sink, backend, plan))
        results["chat"] = await attempt("chat", chat(plan))
        results["sigkill"] = await attempt("SIGKILL", sigkill(sink, plan))
        results["outage"] = await attempt("relay outage", outage(plan))
        for backend in BACKENDS:
            results["latency"][backend] = await attempt(
                f"publish latency, {backend}", latency(sink, backend, plan))
    finally:
        await sink.stop()
    return results


def run(emails: int | None, quick: bool) -> Result:
    """The suite on uvloop where installed (as the hub runs), else asyncio's loop."""
    plan = Plan.of(emails, quick)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(suite(plan))
    return uvloop.run(suite(plan))
