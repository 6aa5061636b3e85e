"""Every table, imported once so that metadata (Alembic, tests) sees them all."""

from oip.auth.models import ApiCredential, ApiToken, InsurerAssignment, LoginAttempt, Organisation, StaffSession, User  # noqa: F401
from oip.core.audit_models import AuditEvent, AuditHead  # noqa: F401
from oip.core.db import Base  # noqa: F401
from oip.platforms.models import (Admission, AdmissionStep, Attachment, NoticeObjection, Platform, PlatformFloat,  # noqa: F401
                                  PlatformName, PlatformRate, PlatformRegion)
from oip.reference.models import CalendarDay, Industry, Region  # noqa: F401
from oip.workers.models import Person, PlatformAccount, RegistrationBatch  # noqa: F401
from oip.orders.models import OrderBatch, OrderFile, OrderSupersession, WorkerMonth  # noqa: F401
import oip.exchange.models, oip.premiums.models, oip.reference.parameters  # noqa: F401,E401  (premiums, tax exchange, parameters)
