"""Every table and every parameter definition, imported once so that metadata (Alembic, tests) and
the parameter registry see them all. Imported by the entry points (oip.cli, oip.web.app, the
migrations, tests and benchmarks) — never by a domain or by core. It also imports the modules that
hook into the case's steps when imported: an accepted case goes to its insurer (investigation), acts
make their letters (letters) and text the worker (notifications)."""

import oip.appraisal.parameters  # noqa: F401
import oip.benefits.approval_parameters  # noqa: F401
import oip.benefits.claims  # noqa: F401  (fills oip.appraisal.service.ON_APPLY)
import oip.benefits.claims_parameters  # noqa: F401
import oip.benefits.determination  # noqa: F401  (determinations: timeline names, the letter)
import oip.benefits.experience  # noqa: F401  (the float's claims and injuries from cases and payments)
import oip.benefits.monthly  # noqa: F401  (monthly benefits: the pay-day parameter, the ON_APPROVED hook)
import oip.benefits.parameters  # noqa: F401
import oip.benefits.service  # noqa: F401  (the calculator's re-quote of monthly benefits: monthly.REQUOTE)
import oip.cases.investigation  # noqa: F401
import oip.cases.letters  # noqa: F401
import oip.cases.notifications  # noqa: F401
import oip.cases.parameters  # noqa: F401
import oip.exchange.parameters  # noqa: F401
import oip.fund.disclosure  # noqa: F401  (the disclosure's threshold parameter)
import oip.fund.supervision  # noqa: F401  (supervision: its parameters and audit names)
import oip.payments.parameters  # noqa: F401
import oip.payments.service  # noqa: F401
import oip.premiums.parameters  # noqa: F401
from oip.appraisal.models import Appraisal, AppraisalDraw, Expert, ExpertTie  # noqa: F401
from oip.auth.models import ApiCredential, ApiToken, InsurerAssignment, LoginAttempt, Organisation, StaffSession, User  # noqa: F401
from oip.benefits.models import (  # noqa: F401
    Bill,
    Claim,
    Dependant,
    Determination,
    DeterminationLine,
    EligibilityConfirmation,
    MonthlyBenefit,
    MonthlyRate,
    Payable,
)
from oip.cases.models import (  # noqa: F401
    Appeal,
    Case,
    CaseCode,
    CaseDocument,
    CaseEvent,
    CaseReport,
    CaseSuspension,
    CorrectionNotice,
    Decision,
    InvestigationTask,
    Letter,
)
from oip.core.audit_models import AuditEvent, AuditLink, AuditPending  # noqa: F401
from oip.core.db import Base  # noqa: F401
from oip.core.events import DomainEvent  # noqa: F401
from oip.exchange.models import ExchangeMessage, Notification, OutboxItem  # noqa: F401
from oip.fund.models import (  # noqa: F401
    Budget,
    BudgetLine,
    Campaign,
    CampaignTask,
    CashPlan,
    CashPlanLine,
    Disclosure,
    Entry,
    EntryLine,
    EventReceipt,
    FinalAccount,
    Finding,
    InterestVoucher,
    MajorReport,
    Period,
    Subject,
)
from oip.insurers.models import InsurerContract, InsurerContractCity  # noqa: F401
from oip.orders.models import OrderBatch, OrderFile, OrderSupersession, WorkerMonth  # noqa: F401
from oip.payments.models import BankFile, PayeeAccount, PaymentBatch, PaymentLine  # noqa: F401
from oip.platforms.models import (  # noqa: F401  # noqa: F401
    Admission,
    AdmissionStep,
    Attachment,
    NoticeObjection,
    Platform,
    PlatformFloat,
    PlatformName,
    PlatformRate,
    PlatformRegion,
)
from oip.premiums.models import Declaration  # noqa: F401
from oip.reference.models import CalendarDay, Industry, Region  # noqa: F401
from oip.reference.parameters import Parameter  # noqa: F401
from oip.workers.models import Person, PlatformAccount, RegistrationBatch  # noqa: F401
