"""A channel that lives only in the tests: pagers, reached by number, each page a line in a
file in the hub's data folder. It is registered exactly as the built-in channels are, by
naming this module in VIGIL_CHANNELS, and nothing under hub/ knows it exists."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from channels.base import Message, Outcome, TargetError
from channels.registry import Plugin

NUMBER = re.compile(r"^\+[1-9][0-9]{6,14}$")  # E.164


def pages_file(data_dir: Path) -> Path:
    return data_dir / "pager.jsonl"


class PagerChannel:
    name = "pager"

    def __init__(self, data_dir: Path) -> None:
        self.file = pages_file(data_dir)
        self.max_in_flight = 2

    @staticmethod
    def check_target(target: str) -> None:
        if not NUMBER.fullmatch(target):
            raise TargetError("must be a phone number in E.164 form, such as +14165550100")

    @staticmethod
    def describe(target: str) -> str:
        return f"pager ***{target[-4:]}"

    def route(self, target: str) -> str:
        return "pager"

    async def probe(self, route: str) -> bool:
        return True

    async def send(self, message: Message, target: str,
                   headers: Mapping[str, str] | None = None) -> Outcome:
        line = json.dumps({"to": target, "subject": message.subject, "text": message.text})
        await asyncio.to_thread(self._append, line)
        return Outcome(ok=True)

    def _append(self, line: str) -> None:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        with self.file.open("a", encoding="utf-8") as out:
            out.write(line + "\n")


def _build(settings: Any) -> PagerChannel:
    return PagerChannel(Path(settings.data_dir))


PLUGIN = Plugin(
    name=PagerChannel.name, individual=True, contact_field="pager", label="Pager",
    hint="A pager's number, such as <code>+14165550100</code>.", input_type="tel",
    max_length=16, check=PagerChannel.check_target, describe=PagerChannel.describe,
    build=_build)
