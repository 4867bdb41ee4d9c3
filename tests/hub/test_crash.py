"""A worker killed with SIGKILL in the middle of a fan-out: with default settings, the
rest goes out within seconds, none lost, none repeated beyond the sends in flight."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import pytest

from tests.hub.live_api import free_port
from tests.hub.outbox_processes import (
    EMAIL_SLOTS,
    CountingSink,
    enrol_and_publish,
    hub_env,
    start,
    until,
)
from tests.services import fresh_postgres_database, redis_url

EMAILS = 500
KILL_AT = 100
DELAY_S = 0.02  # per mail at the sink: 8 connections take about 1.3 s for 500


async def test_sigkill_of_serve_mid_fan_out_then_restart_delivers_all_within_15_s(
        tmp_path: Path) -> None:
    sink = CountingSink(free_port(), delay_s=DELAY_S, mark=KILL_AT)
    sink.start()
    port = free_port()
    env, base = hub_env(tmp_path, sink.port), f"http://127.0.0.1:{port}"
    serve = ["serve", "--port", str(port)]
    try:
        with (tmp_path / "hub.log").open("wb") as log:
            first = await start(serve, env, log, f"{base}/healthz")
            await enrol_and_publish(f"{base}/api/v1", EMAILS)
            assert await asyncio.to_thread(sink.reached.wait, 60), "the fan-out never started"
            first.send_signal(signal.SIGKILL)
            assert await asyncio.wait_for(first.wait(), 10) == -signal.SIGKILL
            before = sink.distinct()
            restarted = time.monotonic()
            second = await start(serve, env, log, f"{base}/healthz")
            try:
                await until(lambda: sink.distinct() == EMAILS, 30)
                took = time.monotonic() - restarted
                await asyncio.sleep(1.0)  # anything sent twice would arrive by now
            finally:
                second.send_signal(signal.SIGINT)
                await asyncio.wait_for(second.wait(), 15)
    finally:
        sink.stop()
    assert KILL_AT <= before < EMAILS  # it really died mid fan-out
    assert took < 15, f"the last mail came {took:.1f} s after the restart"
    assert sink.repeats() <= EMAIL_SLOTS


@pytest.mark.postgres
@pytest.mark.redis
async def test_two_workers_on_postgres_one_killed_the_other_finishes_within_15_s(
        tmp_path: Path) -> None:
    broker = await redis_url()
    sink = CountingSink(free_port(), delay_s=DELAY_S, mark=KILL_AT)
    sink.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    try:
        async for url in fresh_postgres_database():
            env = hub_env(tmp_path, sink.port, VIGIL_DATABASE_URL=url, VIGIL_BROKER_URL=broker)
            with (tmp_path / "hub.log").open("wb") as log:
                web = await start(["web", "--port", str(port)], env, log, f"{base}/healthz")
                workers = [await start(["worker"], env, log) for _ in range(2)]
                try:
                    await asyncio.sleep(1.0)  # both workers are up and listening
                    await enrol_and_publish(f"{base}/api/v1", EMAILS)
                    assert await asyncio.to_thread(sink.reached.wait, 60)
                    workers[0].send_signal(signal.SIGKILL)
                    died = time.monotonic()
                    assert await asyncio.wait_for(workers[0].wait(), 10) == -signal.SIGKILL
                    before = sink.distinct()
                    await until(lambda: sink.distinct() == EMAILS, 30)
                    took = time.monotonic() - died
                    await asyncio.sleep(1.0)
                finally:
                    for process in (workers[1], web):
                        process.send_signal(signal.SIGINT)
                        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        sink.stop()
    assert before < EMAILS
    assert took < 15, f"the last mail came {took:.1f} s after the worker died"
    assert sink.repeats() <= EMAIL_SLOTS


async def test_web_and_a_standalone_worker_deliver_together(tmp_path: Path) -> None:
    """The scale-out split: `vigil web` takes the publish, `vigil worker` sends the email."""
    sink = CountingSink(free_port())
    sink.start()
    port = free_port()
    env, base = hub_env(tmp_path, sink.port), f"http://127.0.0.1:{port}"
    try:
        with (tmp_path / "split.log").open("wb") as log:
            web = await start(["web", "--port", str(port)], env, log, f"{base}/healthz")
            worker = await start(["worker"], env, log)
            try:
                await enrol_and_publish(f"{base}/api/v1", 200)
                await until(lambda: sink.distinct() == 200, 30)
            finally:
                for process in (worker, web):
                    process.send_signal(signal.SIGINT)
                    assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        sink.stop()
    assert len(sink.ids) == 200 and sink.repeats() == 0
