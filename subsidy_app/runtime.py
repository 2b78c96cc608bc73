"""The runtime a process holds: settings, database, job dispatcher and personal-data cipher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from subsidy_app.audit.services import configure_sessions
from subsidy_app.config import Settings
from subsidy_app.core.db import build_engine, build_session_factory
from subsidy_app.core.job_runs import JobTiming
from subsidy_app.core.jobs import InProcessDispatcher
from subsidy_app.core.personal_data import PersonalDataCipher
from subsidy_app.core.uow import JobDispatcher, UnitOfWork
from subsidy_app.messaging.services import show_codes_in_local_outbox


@dataclass
class Runtime:
    """What a running web process or worker holds."""

    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    cipher: PersonalDataCipher
    dispatcher: JobDispatcher = field(init=False)

    @property
    def job_timing(self) -> JobTiming:
        """Return the heartbeat, stall and redelivery intervals of the settings."""
        s = self.settings
        return JobTiming.of_seconds(heartbeat=s.job_heartbeat_seconds, stall_after=s.job_stall_seconds,
                                    redeliver_after=s.outbox_redeliver_seconds)

    def unit_of_work(self) -> UnitOfWork:
        """Open a unit of work on this runtime."""
        return UnitOfWork(self.session_factory, self.dispatcher, self.cipher)


DispatcherFactory = Callable[[Runtime], JobDispatcher]


def build_runtime(
    settings: Settings,
    *,
    session_factory: sessionmaker[Session] | None = None,
    dispatcher_factory: DispatcherFactory | None = None,
) -> Runtime:
    """Build the runtime; jobs run in-process unless a dispatcher factory (Celery) is given."""
    if session_factory is None:
        engine = build_engine(settings.database_url)
        session_factory = build_session_factory(engine)
    else:
        bind = session_factory.kw["bind"]
        engine = bind if isinstance(bind, Engine) else bind.engine
    # Every session of this runtime seals and checks the audit chain under this configuration's AUDIT_KEY.
    configure_sessions(session_factory, key=settings.audit_key, checkpoint_file=settings.audit_checkpoint_file)
    runtime = Runtime(settings, engine, session_factory, PersonalDataCipher(settings.data_key))
    show_codes_in_local_outbox(settings.shows_sms_codes)
    if dispatcher_factory is None:
        runtime.dispatcher = InProcessDispatcher(session_factory, runtime.cipher, runtime.job_timing)
    else:
        runtime.dispatcher = dispatcher_factory(runtime)
    return runtime
