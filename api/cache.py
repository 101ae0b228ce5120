"""Redis read-through cache for single cars and list pages, failing open.

An entry holds the car's response exactly as sent (JSON bytes) and its ETag, so a hit costs one
Redis GET and no JSON work. Writes replace the entry (PUT, PATCH) or leave a tombstone (DELETE)
through a small Lua script that never lets an older version overwrite a newer one: a reader that
fetched a row just before a write cannot put the stale row back, and a client reading after its
write sees the write.

Redis down or slower than ``REDIS_TIMEOUT_SECONDS``: requests are served from the database, one
warning is logged, and the cache is tried again after ``REDIS_RETRY_SECONDS`` (one request tries;
the others keep using the database meanwhile). Writes made while Redis was unreachable are
remembered and their entries deleted before the cache is used again.

List pages are cached too, whole (the response body), each tagged with the list generation it was
read under: every write increments the generation after the database committed it and before the
client is answered; a reader reads the generation before it queries the database, tags its page
with it, and serves a cached page only if its tag is the generation it has just read. So a page
can only be served while no write has finished since it was read, and a client that wrote and then
lists sees its write. With a read replica (``DATABASE_READ_URL``) pages are not cached: a page read
from a lagging replica would outlive the lag.

Every command names one key, so the cache works on a Redis Cluster that keeps every slot on one
node (ElastiCache Serverless, which refuses cross-slot commands and scripts touching undeclared
keys) without putting the keys in one slot: a car's entry, a page and the generation each hash
where they like. A cluster of several shards would redirect commands (MOVED/ASK): the cache does
not route, it checks each connection (CLUSTER INFO) and turns itself off with one warning.

The cache speaks RESP itself (``_Connection``, below) rather than through redis-py: it needs a few
commands (GET, EVAL, INCR, DEL, PING, and AUTH/CLUSTER INFO/SELECT on connect) and four reply
types, and redis-py cost half the CPU of a cached GET (110 us per request against 54 us with the
Redis round trip replaced by a constant; 81 us with this protocol) and a tenth of a second of
start-up to import.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import ssl
import time

from api.config import Settings
from api.redis_address import RedisAddress

log = logging.getLogger("api.cache")

# Above any real version: a deleted car's entry can never be overwritten by a stale read.
TOMBSTONE_VERSION = 2**53 - 1
MAX_PENDING_INVALIDATIONS = 10_000
MAX_IDLE_CONNECTIONS = 64
DELETES_PER_ROUND_TRIP = 500

# KEYS[1] an entry: a car's, or a list page's; ARGV[1] its version: the car's row version, or the
# generation the page was read under; ARGV[2] the entry, "<that version>\n..."; ARGV[3] TTL
# seconds. It touches its one declared key only, so a cluster runs it whatever slot that is in.
_STORE_IF_NEWER = b"""
local current = redis.call('GET', KEYS[1])
if current then
  local stored = tonumber(string.match(current, '^(%d+)\\n'))
  if stored and stored >= tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
"""


class RedisUnavailable(Exception):
    """Redis could not be reached, closed the connection or answered nonsense."""


class RedisReplyError(Exception):
    """Redis answered a command with an error reply."""


class RedisUnsupported(Exception):
    """Redis answers, but as a deployment the cache cannot use (a cluster of several shards)."""


CACHE_ERRORS = (RedisUnavailable, RedisReplyError, RedisUnsupported, OSError, asyncio.TimeoutError)


class CarCache:
    """Cached car responses keyed by id: ``<version>\\n<etag>\\n<json body>``; list pages keyed by
    their query: ``<generation>\\n<json body>``."""

    def __init__(self, settings: Settings) -> None:
        address = settings.redis_address
        if address is None:
            raise ValueError("no Redis configured (REDIS_URL or REDIS_HOST)")
        self._address = address
        self._ttl = settings.cache_ttl_seconds
        self._prefix = f"{settings.cache_key_prefix}car:".encode()
        self._generation_key = f"{settings.cache_key_prefix}lists:generation".encode()
        self._page_prefix = f"{settings.cache_key_prefix}list:".encode()
        # Packed once: they lead or end a pipeline on every list read and every update.
        self._get_generation = _pack(b"GET", self._generation_key)
        self._incr_generation = _pack(b"INCR", self._generation_key)
        # A page read from a lagging replica would outlive the lag.
        self.caches_lists = not settings.reads_from_replica
        self._lists_stale = False  # a write Redis did not hear about: new generation on recovery
        self._timeout = settings.redis_timeout_seconds
        self._retry_seconds = settings.redis_retry_seconds
        self._idle: list[_Connection] = []
        self._down = False
        self._disabled = False  # a Redis the cache cannot use: off for the life of the process
        self._retry_at = 0.0
        self._pending: set[int] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._bump_waiters: list[asyncio.Future] | None = None  # creations waiting for an INCR
        self._tasks: set[asyncio.Task] = set()
        self._start_check: asyncio.Task | None = None

    @property
    def available(self) -> bool:
        return not self._down

    async def open(self) -> None:
        """Connect in the background: a missing Redis never delays start, but an unusable one
        (a cluster of several shards, refused credentials) is reported at start-up."""
        self._start_check = asyncio.get_running_loop().create_task(self._connect_at_start())

    async def _connect_at_start(self) -> None:
        try:
            await self._call(b"PING")
        except CACHE_ERRORS as error:
            self._failed(error)

    async def close(self) -> None:
        if self._start_check is not None:
            self._start_check.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._start_check
        while self._idle:
            self._idle.pop().close()

    def key(self, car_id: int) -> bytes:
        return b"%s%d" % (self._prefix, car_id)

    def _idle_connection(self) -> _Connection | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    async def _new_connection(self) -> _Connection:
        async with asyncio.timeout(self._timeout):
            return await _Connection.open(self._address)

    def _release(self, conn: _Connection) -> None:
        if len(self._idle) < MAX_IDLE_CONNECTIONS:
            self._idle.append(conn)
        else:
            conn.close()

    async def _call(self, *parts: bytes):
        """One command on an idle (or new) connection; a failed connection is never reused."""
        conn = None
        try:
            conn = self._idle_connection() or await self._new_connection()
            # A timer on the reply rather than asyncio.timeout: a fifth of the CPU of a call.
            reply = await conn.command(*parts, timeout=self._timeout)
        except BaseException:
            if conn is not None:
                conn.close()  # a reply may still be on its way
            raise
        self._release(conn)
        return reply

    async def _call_all(self, packed: bytes, count: int) -> list:
        """``count`` commands, packed (``_pack``), in one round trip: a pipeline, not a transaction,
        so each command stands alone and may name a key in another slot than the others."""
        conn = None
        try:
            conn = self._idle_connection() or await self._new_connection()
            replies = await conn.pipeline(packed, count, timeout=self._timeout)
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        self._release(conn)
        return replies

    async def get(self, car_id: int) -> tuple[str, bytes] | None:
        """The cached (etag, body) of a car, or None on a miss or when Redis is unavailable."""
        if self._down and not await self._recover():
            return None
        try:
            entry = await self._call(b"GET", self.key(car_id))
        except CACHE_ERRORS as error:
            self._failed(error)
            return None
        if entry is None:
            return None
        _version, etag, body = entry.split(b"\n", 2)
        if not etag:  # tombstone
            return None
        return etag.decode(), body

    async def store(
        self, car_id: int, version: int, etag: str, body: bytes, *, written: bool = False
    ) -> None:
        """Cache a car's response unless a newer version (or its deletion) is already cached.

        ``written``: the car was just written, so cached list pages are out of date too.
        """
        entry = b"%d\n%s\n%s" % (version, etag.encode(), body)
        await self._store(car_id, version, entry, written)

    async def forget(self, car_id: int) -> None:
        """A car was deleted: leave a tombstone so no stale read brings it back."""
        await self._store(car_id, TOMBSTONE_VERSION, b"%d\n\n" % TOMBSTONE_VERSION, True)

    async def _store(self, car_id: int, version: int, entry: bytes, written: bool) -> None:
        if self._down and not await self._recover():
            self._remember(car_id, written)
            return
        store = _pack(
            b"EVAL", _STORE_IF_NEWER, b"1", self.key(car_id), b"%d" % version, entry,
            b"%d" % self._ttl,
        )  # fmt: skip
        try:
            if written and self.caches_lists:
                # The generation's INCR rides in the same round trip as the entry, as its own
                # command (the two keys hash to different slots). Its order against the entry's
                # script does not matter: list pages never read car entries and single-car reads
                # never read the generation. What matters is that it comes after the database
                # committed the write (our caller committed before calling) and before the client
                # is answered (the caller awaits this): from then on every reader reads a newer
                # generation than any page read before the commit is tagged with. If either
                # command fails, both count as lost: remembered, and made up for on recovery.
                await self._call_all(store + self._incr_generation, 2)
            else:
                await self._call_all(store, 1)
        except CACHE_ERRORS as error:
            self._failed(error)
            self._remember(car_id, written)

    async def lists_changed(self) -> None:
        """A car was created: cached list pages are out of date.

        Creations that reach this point together share one increment: the first starts a task
        that sends INCR when it first runs (the loop's next turn), and every creation arriving
        before then waits for that INCR. Each of them committed before it arrived, so the shared
        INCR still comes after its commit and before its response; a creation arriving after
        the INCR left waits for the next one.
        """
        if not self.caches_lists:
            return
        if self._down and not await self._recover():
            self._lists_stale = True
            return
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        waiters = self._bump_waiters
        if waiters is None:
            waiters = self._bump_waiters = []
            task = self._loop.create_task(self._bump_generation(waiters))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        done = self._loop.create_future()
        waiters.append(done)
        await done

    async def _bump_generation(self, waiters: list[asyncio.Future]) -> None:
        self._bump_waiters = None  # from here on, creations wait for the next increment
        try:
            await self._call(b"INCR", self._generation_key)
        except CACHE_ERRORS as error:
            self._failed(error)
            self._lists_stale = True
        finally:
            for done in waiters:
                if not done.done():
                    done.set_result(None)

    def page_key(self, query: bytes) -> bytes:
        return self._page_prefix + query

    async def get_page(self, query: bytes) -> tuple[bytes, bytes | None] | None:
        """(generation, cached page or None) for a list query; None when not caching pages.

        Pass the generation to ``store_page`` after reading the page from the database.
        """
        if not self.caches_lists or (self._down and not await self._recover()):
            return None
        try:
            # One round trip, two keys in their own slots. Redis runs a connection's commands in
            # order, so the page is read after the generation: a page tagged with the generation
            # just read was read from the database after every write that produced that
            # generation (or an older one) had committed.
            generation, entry = await self._call_all(
                self._get_generation + _pack(b"GET", self.page_key(query)), 2
            )
        except CACHE_ERRORS as error:
            self._failed(error)
            return None
        generation = generation or b"0"
        if entry is not None:
            tag, _, page = entry.partition(b"\n")
            if tag == generation:
                return generation, page
        return generation, None

    async def store_page(self, generation: bytes, query: bytes, page: bytes) -> bool:
        """Cache a page read from the database under ``generation``, the one read before the
        query, unless a page of that or a newer generation is already cached.

        A write that came in between has moved the generation on: the page is stored but never
        served (readers want the newer generation), and the next reader replaces it.
        """
        if self._down:
            return False
        try:
            stored = await self._call(
                b"EVAL", _STORE_IF_NEWER, b"1", self.page_key(query), generation,
                generation + b"\n" + page, b"%d" % self._ttl,
            )  # fmt: skip
        except CACHE_ERRORS as error:
            self._failed(error)
            return False
        return stored == 1

    def _remember(self, car_id: int, written: bool) -> None:
        if self._disabled:
            return  # nothing will be read from this Redis again
        if written:
            self._lists_stale = True
        if len(self._pending) < MAX_PENDING_INVALIDATIONS:
            self._pending.add(car_id)
        elif car_id not in self._pending:
            log.warning(
                "too many writes while Redis was unavailable; entries may be stale until their TTL",
                extra={"ttl_seconds": self._ttl},
            )

    def _failed(self, error: BaseException) -> None:
        if isinstance(error, RedisUnsupported):
            self._disable(error)
            return
        if not self._down:
            log.warning(
                "Redis unavailable: serving from the database, retrying every %.3gs",
                self._retry_seconds,
                extra={"error": f"{type(error).__name__}: {error}"},
            )
        self._down = True
        self._retry_at = time.monotonic() + self._retry_seconds

    def _disable(self, error: RedisUnsupported) -> None:
        """Off for good: no retries, since this Redis will not change into one the cache can use."""
        if not self._disabled:
            log.warning("cache off, serving from the database: %s", error)
        self._disabled = True
        self._down = True
        self._retry_at = math.inf
        self._pending.clear()
        while self._idle:
            self._idle.pop().close()

    async def _recover(self) -> bool:
        """After the cool-down one caller tries Redis again, dropping entries written meanwhile."""
        now = time.monotonic()
        if now < self._retry_at:
            return False
        self._retry_at = now + self._retry_seconds
        pending = list(self._pending)
        try:
            # One DEL per key (a cluster refuses a DEL whose keys hash to different slots),
            # pipelined so that many still take few round trips.
            for start in range(0, len(pending), DELETES_PER_ROUND_TRIP):
                chunk = pending[start : start + DELETES_PER_ROUND_TRIP]
                deletes = b"".join(_pack(b"DEL", self.key(car_id)) for car_id in chunk)
                await self._call_all(deletes, len(chunk))
            self._pending.clear()
            if self._lists_stale:
                await self._call(b"INCR", self._generation_key)
                self._lists_stale = False
            if not pending:
                await self._call(b"PING")
        except CACHE_ERRORS as error:
            if isinstance(error, RedisUnsupported):
                self._disable(error)
            return False
        self._down = False
        log.info("Redis available again: cache in use")
        return True


# --- RESP ---------------------------------------------------------------------------------------


_INCOMPLETE = object()


def _pack(*parts: bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(part), part))
    return b"".join(out)


def _take_reply(buffer: bytearray):
    """Remove one complete reply from ``buffer`` and return it (``_INCOMPLETE`` if not there yet).

    Simple strings, integers, bulk strings and errors: every reply the cache's commands give.
    A cluster's redirection (MOVED, ASK) raises RedisUnsupported: the cache does not route.
    """
    end = buffer.find(b"\r\n")
    if end < 0:
        return _INCOMPLETE
    kind, head = buffer[0:1], bytes(buffer[1:end])
    if kind == b"$":
        length = int(head)
        if length < 0:
            del buffer[: end + 2]
            return None
        if len(buffer) < end + 2 + length + 2:
            return _INCOMPLETE
        value = bytes(buffer[end + 2 : end + 2 + length])
        del buffer[: end + 2 + length + 2]
        return value
    del buffer[: end + 2]
    if kind == b"+":
        return head
    if kind == b":":
        return int(head)
    if kind == b"-":
        if head.startswith((b"MOVED ", b"ASK ")):
            raise RedisUnsupported(
                f"Redis redirected a command ({head.decode(errors='replace')}): "
                f"a cluster of several shards{_ONE_SHARD_HINT}"
            )
        raise RedisReplyError(head.decode(errors="replace"))
    raise RedisUnavailable(f"unexpected Redis reply type {kind!r}")


_ONE_SHARD_HINT = (
    "; the cache needs a single Redis, or a cluster keeping every slot on one node "
    "(ElastiCache Serverless, or one shard)"
)


async def _check_deployment(conn: _Connection, address: RedisAddress) -> None:
    """Refuse (RedisUnsupported) a cluster the cache cannot use: several shards, or a database
    number, which a cluster does not have. A single Redis says cluster support is disabled."""
    try:
        info = await conn.command(b"CLUSTER", b"INFO")
    except RedisReplyError as error:
        if "cluster support disabled" in str(error):
            return
        if not str(error).startswith(("NOPERM", "ERR unknown command")):
            raise  # NOAUTH, LOADING...: Redis is unavailable for now, tried again later
        # Unknown is not the same as fine: a sharded cluster would scatter the cache's keys.
        raise RedisUnsupported(
            f"CLUSTER INFO was refused ({error}), so the cache cannot tell whether Redis is a "
            "cluster of several shards; allow the command (ACL +cluster|info)"
        ) from None
    if not isinstance(info, bytes):
        raise RedisUnavailable(f"unexpected answer to CLUSTER INFO: {info!r}")
    fields = dict(
        line.split(":", 1) for line in info.decode(errors="replace").splitlines() if ":" in line
    )
    size = fields.get("cluster_size", "0").strip()
    if not size.isdigit():
        raise RedisUnavailable(f"unexpected cluster_size in CLUSTER INFO: {size!r}")
    shards = int(size)
    if shards > 1:
        raise RedisUnsupported(f"Redis is a cluster of {shards} shards{_ONE_SHARD_HINT}")
    if address.db:
        raise RedisUnsupported(
            f"Redis is a cluster, which has database 0 only, and REDIS_URL selects {address.db}"
        )


def _time_out(waiter: asyncio.Future) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("no reply from Redis in time"))


class _Connection(asyncio.Protocol):
    """One Redis connection, one command at a time (the cache keeps a free list of them)."""

    def __init__(self) -> None:
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._waiter: asyncio.Future | None = None
        self._replies: list | None = None  # a pipeline's replies so far
        self._wanted = 0  # how many the pipeline waits for
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False

    @classmethod
    async def open(cls, address: RedisAddress) -> _Connection:
        loop = asyncio.get_running_loop()
        if address.path:
            _, conn = await loop.create_unix_connection(cls, address.path)
        else:
            context = ssl.create_default_context() if address.tls else None
            _, conn = await loop.create_connection(cls, address.host, address.port, ssl=context)
        try:
            if address.password is not None:
                credentials = [address.password.encode()]
                if address.username:
                    credentials.insert(0, address.username.encode())
                await conn.command(b"AUTH", *credentials)
            await _check_deployment(conn, address)
            if address.db:
                await conn.command(b"SELECT", b"%d" % address.db)
        except BaseException:
            conn.close()
            raise
        return conn

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        # Kept: get_running_loop() costs a getpid system call on every call.
        self._loop = asyncio.get_running_loop()

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        try:
            reply = _take_reply(self._buffer)
            replies = self._replies
            if replies is not None:  # a pipeline: its replies may come in one chunk or several
                while reply is not _INCOMPLETE:
                    replies.append(reply)
                    if len(replies) == self._wanted:
                        break
                    reply = _take_reply(self._buffer)
                if len(replies) < self._wanted:
                    return
                self._replies = None
                reply = replies
        except (RedisReplyError, RedisUnavailable, RedisUnsupported, ValueError) as error:
            self._waiter = None
            self._replies = None  # the connection is closed after an error: later replies lost
            waiter.set_exception(error)
            return
        if reply is not _INCOMPLETE:
            self._waiter = None
            waiter.set_result(reply)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(RedisUnavailable(f"Redis closed the connection: {exc}"))

    async def command(self, *parts: bytes, timeout: float | None = None):  # noqa: ASYNC109 (see _call)
        if self.closed:
            raise RedisUnavailable("connection closed")
        loop = self._loop
        self._waiter = waiter = loop.create_future()
        self._transport.write(_pack(*parts))
        if timeout is None:
            return await waiter
        timer = loop.call_later(timeout, _time_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()

    async def pipeline(self, packed: bytes, count: int, timeout: float):  # noqa: ASYNC109
        """Send ``count`` packed commands at once; their replies in order (an error raises)."""
        if self.closed:
            raise RedisUnavailable("connection closed")
        loop = self._loop
        self._replies = []
        self._wanted = count
        self._waiter = waiter = loop.create_future()
        self._transport.write(packed)
        timer = loop.call_later(timeout, _time_out, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._replies = None

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.abort()
