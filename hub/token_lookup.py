"""Token look-ups batched: requests that present API tokens at the same moment share one
query. A reconnect storm of thousands of desks costs a few queries, not one each, and every
answer still comes from the database as it is now, so a revoked token is refused at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from sqlmodel import col, select

from hub.access import Principal, runs_hub
from hub.db import Sessions
from hub.errors import Unauthenticated
from partners.credentials import hash_token
from partners.models import ApiToken, Organisation

BATCH = 500  # hashes per query: well inside every database's limit on bound parameters


class TokenLookup:
    """Resolves presented tokens to principals, one query per batch of waiting requests."""

    def __init__(self, sessions: Sessions) -> None:
        self.sessions = sessions
        self.waiting: dict[str, list[asyncio.Future[Principal | None]]] = {}
        self.task: asyncio.Task[None] | None = None

    async def principal(self, secret: str) -> Principal:
        """The principal of a live API token; Unauthenticated otherwise."""
        future: asyncio.Future[Principal | None] = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(hash_token(secret), []).append(future)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(), name="token look-ups")
        principal = await future
        if principal is None:
            raise Unauthenticated("the token is not valid")
        return principal

    async def _run(self) -> None:
        await asyncio.sleep(0)  # let the requests that arrived together join the batch
        while self.waiting:
            batch = dict(list(self.waiting.items())[:BATCH])
            for digest in batch:
                del self.waiting[digest]
            try:
                found = await self._look_up(batch)
            except Exception as error:  # every waiting request fails as its own query would
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
                continue
            for digest, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(digest))

    async def _look_up(self, digests: Iterable[str]) -> dict[str, Principal]:
        async with self.sessions() as session:
            rows = (await session.exec(
                select(ApiToken, Organisation.kind)
                .join(Organisation, col(Organisation.id) == col(ApiToken.organisation_id),
                      isouter=True)
                .where(col(ApiToken.token_hash).in_(list(digests)),
                       col(ApiToken.revoked_at).is_(None)))).all()
        return {token.token_hash: Principal(
            f"token:{token.id}", token.role, token.organisation_id, token.contact_id,
            runs_hub(token.role, token.organisation_id, kind)) for token, kind in rows}
