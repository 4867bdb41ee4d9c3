"""The suite's table and chart: each figure beside the bare servers', as a ratio."""

from __future__ import annotations

from pathlib import Path
from typing import Any

Result = dict[str, Any]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def _row(name: str, cells: dict[str, str], ratio: str = "") -> str:
    return (f"| {name} | {cells.get('websockets', '')} | {cells.get('aiohttp', '')} | "
            f"{cells.get('hub', '')} | {ratio} |")


def _by(results: list[Result], desks: int) -> dict[str, Result]:
    return {r["server"]: r for r in results if r["desks"] == desks}


def _ratio(hub: Result | None, bare: Result | None, key: str) -> str:
    if not hub or not bare or not bare.get(key):
        return ""
    return f"{hub[key] / bare[key]:.2f}x"


def table(results: list[Result]) -> str:
    """A Markdown table: one block of rows per size, the hub's ratio to `websockets`."""
    lines = ["| measurement | websockets.broadcast() | aiohttp send_str loop | Vigil hub | "
             "hub / websockets |", "|---|---|---|---|---|"]
    for desks in sorted({r["desks"] for r in results}):
        by = _by(results, desks)
        hub, bare = by.get("hub"), by.get("websockets")
        for key, label in (("first_p50_s", "publish to first receipt, p50"),
                           ("first_p99_s", "publish to first receipt, p99"),
                           ("last_p50_s", "publish to last receipt, p50"),
                           ("last_p99_s", "publish to last receipt, p99")):
            lines.append(_row(f"{desks:,} desks: {label}",
                              {k: ms(v[key]) for k, v in by.items()}, _ratio(hub, bare, key)))
        lines.append(_row(f"{desks:,} desks: all connected and live",
                          {k: f"{v['connect_s']:.2f} s" for k, v in by.items()},
                          _ratio(hub, bare, "connect_s")))
        lines.append(_row(f"{desks:,} desks: memory per idle desk",
                          {k: f"{v['memory_per_desk_bytes'] / 1024:.1f} KiB"
                           for k, v in by.items()},
                          _ratio(hub, bare, "memory_per_desk_bytes")))
        lines.append(_row(f"{desks:,} desks: deliveries missing",
                          {k: str(v["missing"] + v["failed_connects"]) for k, v in by.items()}))
        if any("sustained" in v for v in by.values()):
            cells = {k: f"{v['sustained']['per_s']:,.0f}/s" for k, v in by.items()
                     if "sustained" in v}
            ratio = ""
            if hub and bare and "sustained" in hub and "sustained" in bare:
                ratio = f"{hub['sustained']['per_s'] / bare['sustained']['per_s']:.2f}x"
            lines.append(_row(f"{desks:,} desks: sustained deliveries, 4 publishers",
                              cells, ratio))
        if hub and "soak" in hub:
            soak = hub["soak"]
            lines.append(_row(
                f"{desks:,} desks x 10 alerts/s soak: publish to frame p50 / p99 / max",
                {"hub": f"{ms(soak['p50_s'])} / {ms(soak['p99_s'])} / {ms(soak['max_s'])}"}))
            lines.append(_row(f"{desks:,} desks x 10 alerts/s soak: publish POST p50 / p99",
                              {"hub": f"{ms(soak['post_p50_s'])} / {ms(soak['post_p99_s'])}"}))
            lines.append(_row(f"{desks:,} desks x 10 alerts/s soak: delivered",
                              {"hub": f"{soak['deliveries']:,} of {soak['expected']:,}"}))
        one = by.get("hub, 1 desk/org")
        if one:
            lines.append(_row(f"{desks:,} desks, one organisation each: publish to first / "
                              "last, p50", {"hub": f"{ms(one['first_p50_s'])} / "
                                                   f"{ms(one['last_p50_s'])}"},
                              _ratio(one, bare, "last_p50_s")))
            lines.append(_row(f"{desks:,} desks, one organisation each: publish POST p50",
                              {"hub": ms(one["post_p50_s"])}))
        two = by.get("hub x2")
        if two:
            lines.append(_row(f"{desks:,} desks, 2 hub processes + Redis: publish to last, "
                              "p50 / p99", {"hub": f"{ms(two['last_p50_s'])} / "
                                                   f"{ms(two['last_p99_s'])}"},
                              _ratio(two, bare, "last_p50_s")))
            lines.append(_row(f"{desks:,} desks, 2 hub processes: publish to first, p99",
                              {"hub": ms(two["first_p99_s"])}))
            lines.append(_row(f"{desks:,} desks, 2 hub processes: all connected and live",
                              {"hub": f"{two['connect_s']:.2f} s"},
                              _ratio(two, bare, "connect_s")))
            lines.append(_row(f"{desks:,} desks, 2 hub processes: memory per idle desk",
                              {"hub": f"{two['memory_per_desk_bytes'] / 1024:.1f} KiB"},
                              _ratio(two, bare, "memory_per_desk_bytes")))
    return "\n".join(lines)


def chart(results: list[Result], path: Path) -> None:
    """Publish to last receipt (p50, with p99 whiskers) by size, for every server."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = sorted({r["desks"] for r in results})
    servers = [s for s in ("websockets", "aiohttp", "hub", "hub x2", "hub, 1 desk/org")
               if any(r["server"] == s for r in results)]
    figure, (latency, connect) = plt.subplots(1, 2, figsize=(12, 4.5))
    width = 0.8 / len(servers)
    for n, server in enumerate(servers):
        xs, p50, p99, connects = [], [], [], []
        for i, desks in enumerate(sizes):
            found = _by(results, desks).get(server)
            if found:
                xs.append(i + n * width)
                p50.append(found["last_p50_s"] * 1000)
                p99.append(max(0.0, (found["last_p99_s"] - found["last_p50_s"]) * 1000))
                connects.append(found["connect_s"])
        latency.bar(xs, p50, width, yerr=[[0] * len(p99), p99], capsize=3, label=server)
        connect.bar(xs, connects, width, label=server)
    for axes, title, unit in ((latency, "publish to last receipt (p50, whisker p99)", "ms"),
                              (connect, "all desks connected and live", "s")):
        axes.set_xticks([i + 0.4 - width / 2 for i in range(len(sizes))],
                        [f"{d:,} desks" for d in sizes])
        axes.set_title(title)
        axes.set_ylabel(unit)
        axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)


# The outbox table -------------------------------------------------------------------------

def _outbox_row(name: str, bare: str = "", hub: str = "", ratio: str = "") -> str:
    return f"| {name} | {bare} | {hub} | {ratio} |"


def _times(hub: float, bare: float) -> str:
    return f"{hub / bare:.2f}x" if bare and hub == hub and bare == bare else ""


def _rate(run: Result, unit: str) -> str:
    """A delivery rate, or what arrived by the deadline."""
    if "error" in run:
        return "error"
    rate = f"{run['per_s']:,.0f} {unit}/s"
    if run.get("timed_out"):
        return f"timeout: {run['received']:,} of {run['expected']:,} ({rate})"
    return rate


def _pair(found: Result | None, name: str, unit: str) -> str:
    """A row of a hub run and its bare baseline, both rates."""
    if not found:
        return _outbox_row(name, "not run", "not run")
    if "error" in found:
        return _outbox_row(name, "error", "error")
    hub, bare = found["hub"], found["bare"]
    ratio = "" if hub.get("timed_out") or bare.get("timed_out") else \
        _times(hub["per_s"], bare["per_s"])
    return _outbox_row(name, _rate(bare, unit), _rate(hub, unit), ratio)


def _email_rows(outbox: Result) -> list[str]:
    plan = outbox["plan"]
    contacts = plan["emails"] // 2
    rows = []
    for backend, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        rows.append(_pair(outbox["email"].get(backend),
                          f"email end to end, {label}: 2 alerts x {contacts:,} contacts "
                          "(bare: aiosmtplib, 8 connections)", "emails"))
    for backend, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        name = (f"publish POST to {contacts:,} contacts, {label}: ms per 100 recipients "
                "(bare: email off)")
        cost = outbox["publish_cost"].get(backend)
        if not cost or "error" in cost:
            rows.append(_outbox_row(name, "error" if cost else "not run"))
            continue
        on, off = cost["with_email"]["ms_per_100"], cost["without_email"]["ms_per_100"]
        rows.append(_outbox_row(name, f"{off:.2f} ms", f"{on:.2f} ms", _times(on, off)))
    return rows


def _recovery_rows(outbox: Result) -> list[str]:
    plan, rows = outbox["plan"], []
    kill = outbox.get("sigkill") or {"error": "not run"}
    about = f"SIGKILL at 25% of {plan['emails']:,} emails, SQLite, restart at once"
    if "error" in kill:
        rows.append(_outbox_row(about, "", "error"))
    else:
        late = " (timeout)" if kill["timed_out"] else ""
        rows.append(_outbox_row(f"{about}: restart to last mail", "",
                                f"{kill['restart_to_last_s']:.1f} s{late}"))
        rows.append(_outbox_row(f"{about}: kill to last mail", "",
                                f"{kill['kill_to_last_s']:.1f} s{late}"))
        rows.append(_outbox_row(f"{about}: duplicates / missing", "",
                                f"{kill['duplicates']} / {kill['missing']} "
                                f"({kill['at_kill']:,} delivered before the kill)"))
    down = outbox.get("outage") or {"error": "not run"}
    about = f"relay down {plan['outage_s']:g} s with {plan['outage_emails']:,} emails waiting"
    if "error" in down:
        rows.append(_outbox_row(about, "", "error"))
    else:
        late = " (timeout)" if down["timed_out"] else ""
        rows.append(_outbox_row(f"{about}: sink start to last mail", "",
                                f"{down['sink_start_to_last_s']:.1f} s{late}"))
        rows.append(_outbox_row(f"{about}: duplicates / missing", "",
                                f"{down['duplicates']} / {down['missing']}"))
    return rows


def _latency_rows(outbox: Result) -> list[str]:
    plan, rows = outbox["plan"], []
    for backend, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        about = (f"{plan['publishers']} publishers x {plan['publish_s']:g} s, "
                 f"{plan['latency_audience']} email contacts each, {label}")
        found = outbox["latency"].get(backend)
        if not found or "error" in found:
            rows.append(_outbox_row(about, "error" if found else "not run"))
            continue
        hub, bare = found["hub"], found["bare"]
        for key, label_ in (("p50_s", "publish POST p50"), ("p99_s", "publish POST p99"),
                            ("max_s", "publish POST max")):
            rows.append(_outbox_row(f"{about}: {label_}", ms(bare[key]), ms(hub[key]),
                                    _times(hub[key], bare[key])))
        rows.append(_outbox_row(f"{about}: publishes/s", f"{bare['per_s']:,.0f}",
                                f"{hub['per_s']:,.0f}", _times(hub["per_s"], bare["per_s"])))
        rows.append(_outbox_row(f"{about}: answers not 201 (5xx)",
                                f"{bare['non_201']} ({bare['server_errors']})",
                                f"{hub['non_201']} ({hub['server_errors']})"))
        rows.append(_outbox_row(f"{about}: seqs contiguous", "",
                                "yes" if hub["seq_contiguous"] else "NO"))
        queued = hub["publishes"] * plan["latency_audience"]
        rows.append(_outbox_row(f"{about}: emails the outbox sent meanwhile", "",
                                f"{hub['emails_sent_meanwhile']:,} of {queued:,}"))
    return rows


def _errors(outbox: Result, path: str = "") -> list[str]:
    found = []
    for key, value in outbox.items():
        if isinstance(value, dict):
            if "error" in value:
                found.append(f"- {path}{key}: {value['error']}")
            else:
                found += _errors(value, f"{path}{key}, ")
    return found


def outbox_table(outbox: Result) -> str:
    """A Markdown table of the outbox measurements, the hub's ratio to its bare baseline;
    the errors of measurements that failed after it."""
    plan = outbox["plan"]
    lines = ["| measurement | bare baseline | Vigil hub | hub / bare |", "|---|---|---|---|",
             *_email_rows(outbox),
             _pair(outbox.get("chat"), f"chat to a local webhook: 2 alerts x "
                   f"{plan['chat'] // 2:,} rooms (bare: aiohttp, 16 in flight)",
                   "deliveries"),
             *_recovery_rows(outbox), *_latency_rows(outbox)]
    return "\n".join([*lines, *_errors(outbox)])
