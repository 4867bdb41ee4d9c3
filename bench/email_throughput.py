"""Benchmark: email throughput to a local SMTP sink, reused connection vs one per message.

Run:  python bench/email_throughput.py [--messages 1000] [--concurrency 50]

Starts an aiosmtpd sink on loopback (plain SMTP, and implicit TLS with a throwaway
self-signed certificate), sends the same alert to N recipients through the production
EmailChannel, once reusing its connection and once opening a new connection for every
message (max_per_connection=1), and prints messages per second for each.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import ipaddress
import socket
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from channels.base import Message
from channels.email import EmailChannel

ALERT = Message(subject="[TLP:GREEN] SEVERE: Suspicious package, King St W & Bay St",
                text="TLP:GREEN\n\nKeep staff away from the north lobby.\n" * 4,
                html="<p>TLP:GREEN</p><p>Keep staff away from the north lobby.</p>" * 4)


class Sink:
    def __init__(self) -> None:
        self.received = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def rate(url: str, messages: int, concurrency: int, per_connection: int,
               tls: ssl.SSLContext | None) -> float:
    channel = EmailChannel(url, "alerts@localhost", max_per_connection=per_connection,
                           tls_context=tls)
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            outcome = await channel.send(ALERT, f"desk{n}@example.org")
            assert outcome.ok, outcome.error

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(messages)))
    elapsed = time.perf_counter() - started
    await channel.close()
    return messages / elapsed


async def run(messages: int, concurrency: int) -> list[tuple[str, float, float]]:
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = self_signed(Path(tmp))
        server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_tls.load_cert_chain(cert, key)
        client_tls = ssl.create_default_context(cafile=str(cert))
        for label, scheme, server_side, tls in (
                ("smtp:// (plain)", "smtp", None, None),
                ("smtps:// (TLS)", "smtps", server_tls, client_tls)):
            port = free_port()
            controller = Controller(Sink(), hostname="127.0.0.1", port=port,
                                    ssl_context=server_side)
            controller.start()
            try:
                url = f"{scheme}://127.0.0.1:{port}"
                reused = await rate(url, messages, concurrency, 10_000, tls)
                fresh = await rate(url, messages, concurrency, 1, tls)
            finally:
                controller.stop()
            results.append((label, reused, fresh))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    args = parser.parse_args()
    print(f"email to a local aiosmtpd sink: {args.messages} messages, "
          f"{args.concurrency} sends in flight")
    print(f"  {'relay':18} {'reused connection':>20} {'new connection each':>22}")
    for label, reused, fresh in asyncio.run(run(args.messages, args.concurrency)):
        print(f"  {label:18} {reused:15.0f} msg/s {fresh:17.0f} msg/s   ({reused / fresh:.1f}x)")


if __name__ == "__main__":
    main()
