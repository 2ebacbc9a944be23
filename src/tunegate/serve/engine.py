"""The batching loop: one worker thread owns the model and decodes whatever requests are waiting
together (dynamic batching).

HTTP handlers run on the event loop; they `submit` jobs into a bounded waiting list (full: 429
with Retry-After) and read the job's events from a `Sink` (an asyncio queue fed from the worker
thread). The worker takes up to `max_batch` waiting jobs, waits `batch_wait_s` for more to
arrive when the list is short, compiles each job's constraint (a bad schema fails that job
alone), and runs one `generate` call over them. Its `on_token` hook streams text, applies stop
strings, answers each request as soon as its own row ends (not when the batch does), and
returns False for a job whose client went away or whose time ran out, which ends that row at
once and frees its place in the batch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tunegate.errors import TunegateError
from tunegate.models.base import Generation, GenRequest
from tunegate.serve.errors import ApiError
from tunegate.serve.generator import ENDED, ServeGenerator, SplitGenerator
from tunegate.serve.metrics import Metrics
from tunegate.serve.text import TextTracker

__all__ = ["Delta", "Done", "Engine", "Failed", "Job", "Sink"]

log = logging.getLogger("tunegate.serve")

_FINISH = {"stop": "stop", "grammar": "stop", "length": "length"}


@dataclass(frozen=True)
class Delta:
    """New text of choice `index`, safe to stream."""

    index: int
    text: str


@dataclass(frozen=True)
class Done:
    """Choice `index` finished: its whole text, why it ended, and what it cost."""

    index: int
    text: str
    finish: str
    generation: Generation


@dataclass(frozen=True)
class Failed:
    """Choice `index` could not be answered."""

    index: int
    error: ApiError


class Sink:
    """Where a request's jobs report, from the worker thread to the handler's event loop."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Delta | Done | Failed] = asyncio.Queue()

    def put(self, item: Delta | Done | Failed) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop has closed (shutting down)
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)


@dataclass
class Job:
    """One choice of one HTTP request, as the worker sees it."""

    request: GenRequest
    sink: Sink
    model: str  # the name the client used (for metrics)
    deadline: float  # time.monotonic() after which it is cancelled
    index: int = 0
    stream: bool = False
    stop: tuple[str, ...] = ()
    cancelled: str | None = None  # "disconnect" or "timeout", set from either thread
    queued_at: float = field(default_factory=time.monotonic)
    tracker: TextTracker | None = None
    answered: bool = False  # its Done went out before the batch ended

    def cancel(self, reason: str) -> None:
        if self.cancelled is None:
            self.cancelled = reason


class Engine:
    """The worker thread and its bounded waiting list around one `ServeGenerator` (torch) or
    `SplitGenerator` (llama.cpp, torch for the adapters llama.cpp cannot take)."""

    def __init__(
        self,
        generator: ServeGenerator | SplitGenerator,
        metrics: Metrics,
        *,
        max_batch: int = 32,
        queue_size: int = 256,
        batch_wait_s: float = 0.01,
    ) -> None:
        if max_batch < 1 or queue_size < 1:
            raise TunegateError("max_batch and queue must each be at least 1")
        self.generator = generator
        generator.batch_size = max_batch
        self.metrics = metrics
        self.max_batch = max_batch
        self.queue_size = queue_size
        self.batch_wait_s = batch_wait_s
        self._waiting: deque[Job] = deque()
        self._calls: deque[tuple[Callable[[], object], concurrent.futures.Future[object]]] = deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._running = 0
        self._stop_ids = frozenset(generator.stop_ids)
        self._batch_s = 1.0  # moving average of batch wall time, for Retry-After
        self._thread = threading.Thread(target=self._loop, name="tunegate-batcher", daemon=True)
        metrics.watch_queue(lambda: len(self._waiting), lambda: self._running)

    # ---- called from the event loop ---------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what waits, let the running batch end (its jobs are cancelled), join."""
        with self._cond:
            self._stopping = True
            waiting = list(self._waiting)
            self._waiting.clear()
            calls = list(self._calls)
            self._calls.clear()
            self._cond.notify_all()
        for _, fut in calls:
            fut.cancel()
        for job in waiting:
            job.sink.put(Failed(job.index, ApiError(503, "the server is shutting down")))
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def healthy(self) -> bool:
        return self._thread.is_alive() and not self._stopping

    @property
    def depth(self) -> int:
        return len(self._waiting)

    def call(self, fn: Callable[[], object]) -> concurrent.futures.Future[object]:
        """Run `fn` on the worker thread between batches (it owns the model: loading an adapter
        must not overlap a batch); its result or exception arrives in the future."""
        fut: concurrent.futures.Future[object] = concurrent.futures.Future()
        with self._cond:
            if self._stopping or not self._thread.is_alive():
                raise ApiError(503, "the server is not accepting requests")
            self._calls.append((fn, fut))
            self._cond.notify()
        return fut

    def submit(self, jobs: Sequence[Job]) -> None:
        """Queue all of `jobs` or none: ApiError 429 (with Retry-After) when they do not fit."""
        with self._cond:
            if self._stopping or not self._thread.is_alive():
                raise ApiError(503, "the server is not accepting requests")
            if len(self._waiting) + len(jobs) > self.queue_size:
                waits = 1 + len(self._waiting) / self.max_batch
                after = max(1, math.ceil(self._batch_s * waits))
                raise ApiError(
                    429,
                    f"the server is busy ({len(self._waiting)} requests waiting); retry later",
                    code="queue_full",
                    headers={"Retry-After": str(after)},
                )
            self._waiting.extend(jobs)
            self._cond.notify()

    # ---- the worker thread ------------------------------------------------------------------

    def _take(self) -> list[Job] | None:
        with self._cond:
            while not self._waiting and not self._stopping and not self._calls:
                self._cond.wait()
            if self._stopping:
                return None
            if self._calls:
                return []  # the calls run first (`_run_calls`)
            if len(self._waiting) < self.max_batch and self.batch_wait_s > 0:
                self._cond.wait_for(
                    lambda: len(self._waiting) >= self.max_batch or self._stopping,
                    timeout=self.batch_wait_s,
                )
            n = min(self.max_batch, len(self._waiting))
            jobs = [self._waiting.popleft() for _ in range(n)]
            self._running = len(jobs)
            return jobs

    def _loop(self) -> None:
        while True:
            jobs = self._take()
            if jobs is None:
                return
            self._run_calls()
            if not jobs:
                continue
            try:
                self._run(jobs)
            except Exception:  # a bug, not a bad request: fail these jobs, keep serving
                log.exception("batch failed")
                for job in jobs:
                    job.sink.put(Failed(job.index, ApiError(500, "internal error in generation")))
            finally:
                self._running = 0

    def _run_calls(self) -> None:
        while True:
            with self._cond:
                if not self._calls:
                    return
                fn, fut = self._calls.popleft()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # handed to the caller, who reports it
                fut.set_exception(exc)

    def _admit(self, job: Job) -> bool:
        """Check a job just before it runs; report and drop it when it cannot or need not run."""
        now = time.monotonic()
        if job.cancelled is None and now > job.deadline:
            job.cancel("timeout")
        if job.cancelled is not None:
            self.metrics.cancelled.labels(job.cancelled).inc()
            if job.cancelled == "timeout":
                job.sink.put(Failed(job.index, _timeout()))
            return False
        self.metrics.queue_wait.observe(now - job.queued_at)
        constraint = job.request.constraint
        if constraint is not None:
            try:
                self.generator.compile(constraint)
            except TunegateError as exc:
                job.sink.put(Failed(job.index, ApiError(400, exc.message, param="response_format")))
                return False
        if job.stream or job.stop:
            tok = self.generator.tokenizer
            job.tracker = TextTracker(
                lambda ids: tok.decode(ids, skip_special_tokens=True), job.stop
            )
        return True

    def _run(self, jobs: list[Job]) -> None:
        ready = [j for j in jobs if self._admit(j)]
        if not ready:
            return

        def on_token(i: int, token: int) -> bool:
            return self._on_token(ready, i, token)

        def progress(items: int, _tokens: int) -> None:
            self.metrics.batch_size.observe(items)

        t0 = time.perf_counter()
        gens: Sequence[Generation | None]
        try:
            gens = self.generator.generate([j.request for j in ready], progress, on_token)
        except Exception:  # one job's settings broke the batch: run each alone, fail only it
            log.exception("batch of %d failed; running its jobs one by one", len(ready))
            gens = [self._alone(j) for j in ready]
        self._batch_s = 0.7 * self._batch_s + 0.3 * (time.perf_counter() - t0)
        for job, gen in zip(ready, gens, strict=True):
            if gen is not None:
                self._finish(job, gen)

    def _alone(self, job: Job) -> Generation | None:
        """Run `job` in a batch of its own; on failure report it (500) and return None."""
        if job.answered:
            return None
        if job.tracker is not None:
            job.tracker.tokens.clear()  # its text so far was sent; the rerun only adds to it
            job.tracker.cut = None
        single = [job]

        def on_token(_: int, token: int) -> bool:
            return self._on_token(single, 0, token)

        try:
            return self.generator.generate([job.request], None, on_token)[0]
        except Exception as exc:
            log.exception("request failed alone")
            job.sink.put(
                Failed(job.index, ApiError(500, f"generation failed: {type(exc).__name__}"))
            )
            return None

    def _on_token(self, jobs: list[Job], i: int, token: int) -> bool:
        """Stream the token's text, apply stop strings, answer rows that ended; False stops job
        `i` (cancelled, timed out, or ended by a stop string)."""
        job = jobs[i]
        if job.cancelled is None and time.monotonic() > job.deadline:
            job.cancel("timeout")
        if job.cancelled is not None:
            return False
        tracker = job.tracker
        if tracker is not None and token not in self._stop_ids:
            new = tracker.push(token)
            if new and job.stream:
                job.sink.put(Delta(job.index, new))
            if tracker.cut is not None:
                self._answer_early(job, i, tracker.cut, "stop")
                return False
        for k, other in enumerate(jobs):  # this row, or rows the grammar ended last step
            if not other.answered and self.generator.finish(k) in ENDED:
                self._answer_early(other, k)
        return True

    def _answer_early(self, job: Job, k: int, text: str | None = None, finish: str = "") -> None:
        """Send job's Done now if its row has ended (or `text` is its final text)."""
        seen = self.generator.snapshot(k)
        if seen is None:
            return
        gen, ended = seen
        if text is None and ended not in ENDED:
            return
        job.answered = True
        final = text if text is not None else gen.text
        job.sink.put(Done(job.index, final, finish or _FINISH[str(ended)], gen))

    def _finish(self, job: Job, gen: Generation) -> None:
        model = job.model
        self.metrics.prompt_tokens.labels(model).inc(gen.input_tokens)
        self.metrics.completion_tokens.labels(model).inc(gen.output_tokens)
        if job.answered:
            return
        if gen.error is not None:
            code = "context_length_exceeded" if "context" in gen.error else None
            job.sink.put(Failed(job.index, ApiError(400, gen.error, param="messages", code=code)))
            return
        finish = str(gen.extra.get("finish", "stop"))
        if finish == "cancelled" or job.cancelled is not None:
            reason = job.cancelled or "disconnect"
            self.metrics.cancelled.labels(reason).inc()
            self.metrics.cancelled_tokens.inc(gen.output_tokens)
            if reason == "timeout":
                job.sink.put(Failed(job.index, _timeout()))
        else:
            job.sink.put(Done(job.index, gen.text, _FINISH.get(finish, "stop"), gen))


def _timeout() -> ApiError:
    return ApiError(408, "the request timed out on the server", code="timeout")
