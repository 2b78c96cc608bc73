"""Unit of work: owns the session, collects audit and outbox writes, dispatches jobs after commit."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Protocol

from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.core.outbox import OutboxMessage
from subsidy_app.core.personal_data import PersonalDataCipher


class JobDispatcher(Protocol):
    """Hands committed outbox messages to whatever runs them."""

    # True when no background worker exists: periodic upkeep (e.g. sealing audit events) then runs inline.
    runs_inline: bool

    def dispatch(self, message_ids: list[int]) -> None:
        """Send the messages; failures leave them pending for the relay."""


class NullDispatcher:
    """Dispatcher that sends nothing: messages wait for the relay (used by bulk loads and tests)."""

    runs_inline = False

    def dispatch(self, message_ids: list[int]) -> None:
        """Leave the messages pending."""


Hook = Callable[["UnitOfWork"], None]


class UnitOfWork:
    """One business transaction; services mutate through `session` and finish with `commit()`."""

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        dispatcher: JobDispatcher | None = None,
        cipher: PersonalDataCipher | None = None,
    ) -> None:
        self._session_factory = session_factory
        self._dispatcher: JobDispatcher = dispatcher or NullDispatcher()
        self._cipher = cipher
        self._session: Session | None = None
        self._open = False
        self._before_commit: dict[str, Hook] = {}
        self._last_before_commit: dict[str, Hook] = {}
        self._after_commit: dict[str, Hook] = {}
        self._pending_jobs: list[OutboxMessage] = []
        self.context: dict[str, Any] = {}
        # Facts true only inside the current transaction (e.g. "this pool row is locked by us"); cleared on end.
        self.tx_cache: dict[str, Any] = {}

    @property
    def session(self) -> Session:
        """Return the session, opening it on first use (a read served from caches never needs one)."""
        if not self._open:
            raise RuntimeError("unit of work is not open; use it as a context manager")
        if self._session is None:
            self._session = self._session_factory()
        return self._session

    @property
    def session_factory(self) -> sessionmaker[Session]:
        """Return the factory, for jobs that open their own units of work."""
        return self._session_factory

    @property
    def cipher(self) -> PersonalDataCipher:
        """Return the cipher for personal data."""
        if self._cipher is None:
            raise RuntimeError("this unit of work was built without a personal-data cipher")
        return self._cipher

    @property
    def dispatcher(self) -> JobDispatcher:
        """Return the dispatcher jobs go to after commit."""
        return self._dispatcher

    def __enter__(self) -> UnitOfWork:
        self._open = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self._discard_pending()
        finally:
            self._open = False
            if self._session is not None:
                # close() ends the transaction (nothing uncommitted survives) without expiring what was read, as
                # rollback() would: a view may serialise the rows it read once its unit of work is over.
                self._session.close()
                self._session = None

    def enqueue(self, job: str, **payload: Any) -> OutboxMessage:
        """Write a job to the outbox in this transaction; it is sent only if the transaction commits."""
        message = OutboxMessage(job=job, payload=payload)
        self.session.add(message)
        self._pending_jobs.append(message)
        return message

    def before_commit(self, key: str, hook: Hook) -> None:
        """Run `hook` once just before the next commit (e.g. to seal audit events)."""
        self._before_commit.setdefault(key, hook)

    def last_before_commit(self, key: str, hook: Hook) -> None:
        """Run `hook` once after every other write of the next commit, just before COMMIT itself.

        For statements that lock a row every transaction of its kind needs (a county's budget pool): taken
        last, the lock is held only for that statement and the commit, not for the transaction's other writes.
        """
        self._last_before_commit.setdefault(key, hook)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A savepoint that, if rolled back, also drops what this unit of work buffered inside it.

        Services buffer rows to write at commit (audit events, application events, texts to send) in
        `context` lists, and jobs in the outbox list; a row rolled back to its savepoint must take its own away.
        """
        marks = {key: len(value) for key, value in self.context.items() if isinstance(value, list)}
        jobs = len(self._pending_jobs)
        try:
            with self.session.begin_nested():
                yield
        except BaseException:
            for key, value in self.context.items():
                if isinstance(value, list):
                    del value[marks.get(key, 0):]
            del self._pending_jobs[jobs:]
            self.tx_cache.clear()  # e.g. a pool lock cached here may belong to the rolled-back part
            raise

    def after_commit(self, key: str, hook: Hook) -> None:
        """Run `hook` once right after the next commit succeeds (in its own transaction, if it writes)."""
        self._after_commit.setdefault(key, hook)

    def flush(self) -> None:
        """Flush pending writes so constraints are checked now."""
        self.session.flush()

    def commit(self) -> None:
        """Commit the transaction, then hand its outbox jobs to the dispatcher."""
        self._run_before_commit()
        while self._last_before_commit:
            self._last_before_commit.pop(next(iter(self._last_before_commit)))(self)
            self._run_before_commit()  # what a last hook recorded (e.g. an audit event) is written too
        jobs = [m.id for m in self._pending_jobs]
        self._pending_jobs.clear()
        self.session.commit()
        self.tx_cache.clear()
        after = list(self._after_commit.values())
        self._after_commit.clear()
        if jobs:
            self._dispatcher.dispatch(jobs)
        for hook in after:
            hook(self)

    def _run_before_commit(self) -> None:
        """Run the before-commit hooks in the order registered, including any a hook registers, then flush."""
        while self._before_commit:
            self._before_commit.pop(next(iter(self._before_commit)))(self)
        self.session.flush()

    def rollback(self) -> None:
        """Discard uncommitted work, its hooks and its jobs."""
        self._discard_pending()
        if self._session is not None:
            self._session.rollback()

    def _discard_pending(self) -> None:
        self._before_commit.clear()
        self._last_before_commit.clear()
        self._after_commit.clear()
        self._pending_jobs.clear()
        self.tx_cache.clear()


UnitOfWorkFactory = Callable[[], UnitOfWork]
