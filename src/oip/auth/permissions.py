"""Roles, their permissions, and data scopes — as data, checked by one shared dependency.

A *permission* says what a role may do; the *data scope* says which rows: a region (code
prefix of the organisation's region: the region sees all of Guangxi, a city its city, a county
its county), a platform (its own workers), an insurer (only what is assigned to it), or a worker
(only themselves). Every route names its permission (oip.auth.deps.Require) and every query that
returns rows applies the scope (oip.auth.scope)."""

from __future__ import annotations

from dataclasses import dataclass

# Permissions
PLATFORM_READ = "platform.read"
PLATFORM_WRITE = "platform.write"
CREDENTIALS_MANAGE = "credentials.manage"  # any platform's API credentials
CREDENTIALS_SELF = "credentials.self"  # a platform's own API credentials
ADMISSION_READ = "admission.read"
ADMISSION_DECIDE = "admission.decide"
WORKER_READ = "worker.read"
WORKER_READ_FULL = "worker.read_full"  # unmasked ID and phone numbers (audited)
WORKER_REGISTER = "worker.register"
AUDIT_READ = "audit.read"
USER_READ = "user.read"
PORTAL = "portal.use"  # the platform portal
SELF_READ = "self.read"  # a worker's own data and who viewed it
ORDER_READ = "order.read"  # order batches, rejects, insured counts (in scope)
ORDER_IMPORT = "order.import"  # deliver order data (a platform: its own)
COVERAGE_READ = "coverage.read"  # was this person covered at time T, by which order
PREMIUM_READ = "premium.read"  # monthly declarations and what platforms owe
PREMIUM_DECLARE = "premium.declare"  # compute declarations, send them to the tax bureau
FLOAT_DECIDE = "premium.float"  # propose and approve the yearly float k
RECONCILE = "premium.reconcile"  # import tax returns, reconcile, work the arrears list
RECONCILE_READ = "premium.reconcile_read"  # read the reconciliation worklist (differences, arrears) in scope
USER_MANAGE = "user.manage"  # create users, disable/enable, reset passwords, change role/organisation
APPRAISAL_READ = "appraisal.read"  # expert pools and labour-capacity appraisals (in scope)
APPRAISAL_MANAGE = "appraisal.manage"  # the committee's pool, appraisals: accept, draw, conclude
NOTIFICATION_READ = "notification.read"  # the text messages sent to people (masked phones), in scope
INSURER_CONTRACT_READ = "insurer.contract_read"  # the register of insurer contracts (in scope)
INSURER_CONTRACT_MANAGE = "insurer.contract_manage"  # register, amend and terminate insurer contracts
CASE_READ = "case.read"  # injury cases in scope (platforms and insurers: masked)
CASE_REPORT = "case.report"  # report an injury (platform API, worker portal, staff for phone/desk/paper)
CASE_APPLY = "case.apply"  # apply for confirmation, upload materials
CASE_HANDLE = "case.handle"  # accept or refuse, correction notices, suspensions, merges, investigation tasks
CASE_DECIDE = "case.decide"  # the confirmation decision, appeals
CASE_INVESTIGATE = "case.investigate"  # an insurer's investigation tasks
BENEFIT_QUOTE = "benefit.quote"  # trial calculation of benefits without a case (试算)
BENEFIT_READ = "benefit.read"  # determinations, claims, monthly benefits and payables in scope
BENEFIT_DETERMINE = (
    "benefit.determine"  # calculate and submit determinations, check claims, dependants, monthly benefits
)
BENEFIT_APPROVE = "benefit.approve"  # approve determinations (not one's own; within the role's limit)
PAYEE_MANAGE = "payee.manage"  # register and change payee bank accounts (with a reason, audited)
PAYMENT_READ = "payment.read"  # payment batches, lines and bank files in scope
PAYMENT_MANAGE = "payment.manage"  # make batches, send them to the bank, import results, record reversals
PAYMENT_APPROVE = "payment.approve"  # approve a payment batch (not one's own; within the role's limit)
FUND_READ = "fund.read"  # the fund's ledger, statements, budgets, cash plans and supervision (in scope)
FUND_POST = "fund.post"  # manual journal entries, interest vouchers, posting business events
FUND_CHECK = "fund.check"  # check (复核) manual entries and reversals: not one's own
FUND_CLOSE = "fund.close"  # close monthly periods, draw the final accounts (决算)
FUND_BUDGET = "fund.budget"  # draft and submit the yearly budget and its adjustments
FUND_FORECAST = "fund.forecast"  # the tax bureau's income forecast for the budget
FUND_BUDGET_REVIEW = "fund.budget_review"  # finance: review and approve budgets and final accounts
FUND_CASHPLAN = "fund.cashplan"  # a city's quarterly cash-use plan: fill in and submit
FUND_CASHPLAN_REVIEW = "fund.cashplan_review"  # the region: review and approve cash-use plans
FUND_ALLOCATE = "fund.allocate"  # finance: record the allocation to a city's expenditure account
FUND_SUPERVISE = "fund.supervise"  # supervision campaigns, verify rectification, receive major reports
FUND_RESPOND = "fund.respond"  # answer supervision tasks, rectify findings, submit major reports
FUND_DISCLOSE = "fund.disclose"  # publish the yearly public disclosure

ALL_PERMISSIONS = [
    PLATFORM_READ,
    PLATFORM_WRITE,
    CREDENTIALS_MANAGE,
    CREDENTIALS_SELF,
    ADMISSION_READ,
    ADMISSION_DECIDE,
    WORKER_READ,
    WORKER_READ_FULL,
    WORKER_REGISTER,
    AUDIT_READ,
    USER_READ,
    PORTAL,
    SELF_READ,
    ORDER_READ,
    ORDER_IMPORT,
    COVERAGE_READ,
    PREMIUM_READ,
    PREMIUM_DECLARE,
    FLOAT_DECIDE,
    RECONCILE,
    RECONCILE_READ,
    USER_MANAGE,
    APPRAISAL_READ,
    APPRAISAL_MANAGE,
    NOTIFICATION_READ,
    INSURER_CONTRACT_READ,
    INSURER_CONTRACT_MANAGE,
    CASE_READ,
    CASE_REPORT,
    CASE_APPLY,
    CASE_HANDLE,
    CASE_DECIDE,
    CASE_INVESTIGATE,
    BENEFIT_QUOTE,
    BENEFIT_READ,
    BENEFIT_DETERMINE,
    BENEFIT_APPROVE,
    PAYEE_MANAGE,
    PAYMENT_READ,
    PAYMENT_MANAGE,
    PAYMENT_APPROVE,
    FUND_READ,
    FUND_POST,
    FUND_CHECK,
    FUND_CLOSE,
    FUND_BUDGET,
    FUND_FORECAST,
    FUND_BUDGET_REVIEW,
    FUND_CASHPLAN,
    FUND_CASHPLAN_REVIEW,
    FUND_ALLOCATE,
    FUND_SUPERVISE,
    FUND_RESPOND,
    FUND_DISCLOSE,
]

PERMISSION_NAMES = {
    PLATFORM_READ: "查看平台企业名录",
    PLATFORM_WRITE: "维护平台企业名录",
    CREDENTIALS_MANAGE: "管理平台接口凭证",
    CREDENTIALS_SELF: "管理本企业接口凭证",
    ADMISSION_READ: "查看试点纳入申请",
    ADMISSION_DECIDE: "办理试点纳入申请",
    WORKER_READ: "查询从业人员（脱敏）",
    WORKER_READ_FULL: "查看完整证件号码和手机号（留痕）",
    WORKER_REGISTER: "报送从业人员信息",
    AUDIT_READ: "查看审计日志",
    USER_READ: "查看用户",
    PORTAL: "使用平台企业门户",
    SELF_READ: "查看本人信息",
    ORDER_READ: "查看订单数据与参保人数",
    ORDER_IMPORT: "报送订单数据",
    COVERAGE_READ: "查询保障状态（某时点是否在保）",
    PREMIUM_READ: "查看保障费申报与欠费",
    PREMIUM_DECLARE: "核定保障费并推送税务",
    FLOAT_DECIDE: "核定年度费率浮动档次",
    RECONCILE: "导入税务回执、对账与欠费管理",
    RECONCILE_READ: "查看对账差异与欠费清单",
    USER_MANAGE: "管理本辖区用户（新建、停用、重置密码、调整角色）",
    APPRAISAL_READ: "查看劳动能力鉴定",
    APPRAISAL_MANAGE: "管理劳动能力鉴定",
    NOTIFICATION_READ: "查看短信通知发送记录",
    INSURER_CONTRACT_READ: "查看受托保险机构协议",
    INSURER_CONTRACT_MANAGE: "管理受托保险机构协议",
    CASE_READ: "查看职业伤害案件",
    CASE_REPORT: "报案（含登记电话、窗口、书面报案）",
    CASE_APPLY: "提出职业伤害确认申请、提交材料",
    CASE_HANDLE: "受理、补正告知、中止、并案、委托调查",
    CASE_DECIDE: "作出职业伤害确认结论、登记复议诉讼",
    CASE_INVESTIGATE: "办理受托调查核实任务",
    BENEFIT_QUOTE: "待遇试算",
    BENEFIT_READ: "查看待遇核定、费用申报与定期待遇",
    BENEFIT_DETERMINE: "待遇核定（计算、调整、提交）、费用审核、定期待遇管理",
    BENEFIT_APPROVE: "待遇核定复核审批（不得审批本人经办的核定）",
    PAYEE_MANAGE: "登记和变更收款账户",
    PAYMENT_READ: "查看待遇支付批次与银行回盘",
    PAYMENT_MANAGE: "生成支付批次、报送银行、导入回盘、登记退汇",
    PAYMENT_APPROVE: "支付批次复核审批（不得审批本人生成的批次）",
    FUND_READ: "查看基金账务、报表、预算、用款计划与监督检查",
    FUND_POST: "编制手工记账凭证、登记利息、业务事件入账",
    FUND_CHECK: "复核记账凭证（不得复核本人编制的凭证）",
    FUND_CLOSE: "会计期间结账、编制决算",
    FUND_BUDGET: "编制和报送年度收支预算及调整",
    FUND_FORECAST: "提出职业伤害保障费收入预测",
    FUND_BUDGET_REVIEW: "审核批复预算与决算",
    FUND_CASHPLAN: "编制和报送季度用款计划",
    FUND_CASHPLAN_REVIEW: "审核季度用款计划",
    FUND_ALLOCATE: "登记资金拨付",
    FUND_SUPERVISE: "组织基金监督检查、销号整改、接收要情报告",
    FUND_RESPOND: "办理检查任务、整改问题、报送要情",
    FUND_DISCLOSE: "发布年度信息公开",
}


@dataclass(frozen=True)
class Role:
    code: str
    name: str
    org_kinds: tuple[str, ...]
    scope: str  # "region" | "platform" | "insurer" | "self"
    permissions: frozenset[str]


def _r(code, name, kinds, scope, *perms) -> Role:
    return Role(code, name, tuple(kinds), scope, frozenset(perms))


_OFFICER_COMMON = (
    PLATFORM_READ,
    ADMISSION_READ,
    WORKER_READ,
    ORDER_READ,
    COVERAGE_READ,
    PREMIUM_READ,
    INSURER_CONTRACT_READ,
)
# 人社 offices decide injury confirmations in their jurisdiction; social insurance agencies register
# reports and paper applications for people at their desks.
_CASE_HRSS = (CASE_READ, CASE_REPORT, CASE_APPLY, CASE_HANDLE, CASE_DECIDE)
_CASE_SI = (CASE_READ, CASE_REPORT, CASE_APPLY)
# Social insurance agencies determine and pay benefits (待遇核定与支付); 人社 offices read them.
_BENEFIT_SI = (BENEFIT_QUOTE, BENEFIT_READ, BENEFIT_DETERMINE, BENEFIT_APPROVE, PAYEE_MANAGE, PAYMENT_READ)
_PAYMENT_SI = (PAYMENT_MANAGE, PAYMENT_APPROVE)
_BENEFIT_HRSS = (BENEFIT_QUOTE, BENEFIT_READ)
# The fund (基金): the region's social insurance centre keeps the books, drafts the budget and final
# accounts (会同税务机关: it may record the tax bureau's forecast), reviews the cities' cash-use plans
# (and may fill one in for a city); cities keep their expenditure books and plan; finance
# reviews and allocates; 人社 supervises.
_FUND_SI_REGION = (
    FUND_READ,
    FUND_POST,
    FUND_CHECK,
    FUND_CLOSE,
    FUND_BUDGET,
    FUND_FORECAST,
    FUND_CASHPLAN,
    FUND_CASHPLAN_REVIEW,
    FUND_SUPERVISE,
    FUND_RESPOND,
    FUND_DISCLOSE,
)
_FUND_SI_CITY = (FUND_READ, FUND_POST, FUND_CHECK, FUND_CASHPLAN, FUND_RESPOND)

ROLES: dict[str, Role] = {
    r.code: r
    for r in [
        _r(
            "hrss_region",
            "自治区人力资源社会保障厅",
            ["hrss"],
            "region",
            *_OFFICER_COMMON,
            PLATFORM_WRITE,
            ADMISSION_DECIDE,
            AUDIT_READ,
            USER_READ,
            USER_MANAGE,
            APPRAISAL_READ,
            APPRAISAL_MANAGE,
            NOTIFICATION_READ,
            INSURER_CONTRACT_MANAGE,
            *_CASE_HRSS,
            *_BENEFIT_HRSS,
            FUND_READ,
            FUND_SUPERVISE,
            FUND_RESPOND,
        ),
        _r(
            "hrss_city",
            "市人力资源社会保障局",
            ["hrss"],
            "region",
            *_OFFICER_COMMON,
            *_CASE_HRSS,
            APPRAISAL_READ,
            APPRAISAL_MANAGE,
            *_BENEFIT_HRSS,
            FUND_READ,
            FUND_RESPOND,
        ),
        _r(
            "hrss_county",
            "县（市、区）人力资源社会保障局",
            ["hrss"],
            "region",
            *_OFFICER_COMMON,
            *_CASE_HRSS,
            APPRAISAL_READ,
            *_BENEFIT_HRSS,
        ),
        _r(
            "si_region",
            "自治区社会保险事业管理中心",
            ["si_agency"],
            "region",
            *_OFFICER_COMMON,
            PLATFORM_WRITE,
            CREDENTIALS_MANAGE,
            WORKER_READ_FULL,
            WORKER_REGISTER,
            AUDIT_READ,
            USER_READ,
            USER_MANAGE,
            ORDER_IMPORT,
            PREMIUM_DECLARE,
            FLOAT_DECIDE,
            RECONCILE,
            RECONCILE_READ,
            APPRAISAL_READ,
            NOTIFICATION_READ,
            INSURER_CONTRACT_MANAGE,
            *_CASE_SI,
            *_BENEFIT_SI,
            *_PAYMENT_SI,
            *_FUND_SI_REGION,
        ),
        _r(
            "si_city",
            "市社会保险经办机构",
            ["si_agency"],
            "region",
            *_OFFICER_COMMON,
            WORKER_READ_FULL,
            WORKER_REGISTER,
            APPRAISAL_READ,
            *_CASE_SI,
            *_BENEFIT_SI,
            *_PAYMENT_SI,
            *_FUND_SI_CITY,
        ),
        _r(
            "si_county",
            "县级社会保险经办机构",
            ["si_agency"],
            "region",
            *_OFFICER_COMMON,
            WORKER_READ_FULL,
            WORKER_REGISTER,
            APPRAISAL_READ,
            *_CASE_SI,
            *_BENEFIT_SI,
        ),
        _r(
            "finance",
            "财政部门",
            ["finance"],
            "region",
            PLATFORM_READ,
            PREMIUM_READ,
            INSURER_CONTRACT_READ,
            BENEFIT_READ,
            PAYMENT_READ,
            FUND_READ,
            FUND_BUDGET_REVIEW,
            FUND_ALLOCATE,
        ),
        _r("tax", "税务机关", ["tax"], "region", PLATFORM_READ, PREMIUM_READ, RECONCILE_READ, FUND_READ, FUND_FORECAST),
        _r("fin_regulator", "金融监管部门", ["fin_regulator"], "region", PLATFORM_READ),
        _r(
            "platform_regulator",
            "平台企业监管部门（交通运输、商务、市场监管）",
            ["transport", "commerce", "market"],
            "region",
            PLATFORM_READ,
            ADMISSION_READ,
        ),
        _r("union", "工会组织", ["union"], "region", PLATFORM_READ, ADMISSION_READ, BENEFIT_QUOTE),
        _r(
            "insurer",
            "受托商业保险机构",
            ["insurer"],
            "insurer",
            WORKER_READ,
            COVERAGE_READ,
            INSURER_CONTRACT_READ,
            CASE_READ,
            CASE_INVESTIGATE,
            BENEFIT_QUOTE,
        ),
        _r(
            "platform",
            "平台企业",
            ["platform"],
            "platform",
            PLATFORM_READ,
            WORKER_READ,
            WORKER_REGISTER,
            CREDENTIALS_SELF,
            PORTAL,
            ORDER_READ,
            ORDER_IMPORT,
            PREMIUM_READ,
            CASE_READ,
            CASE_REPORT,
            CASE_APPLY,
            BENEFIT_QUOTE,
        ),
        _r(
            "worker",
            "新就业形态人员",
            ["public"],
            "self",
            SELF_READ,
            CASE_READ,
            CASE_REPORT,
            CASE_APPLY,
            BENEFIT_QUOTE,
            BENEFIT_READ,
        ),
    ]
}

ORG_KIND_NAMES = {
    "hrss": "人力资源社会保障部门",
    "si_agency": "社会保险经办机构",
    "finance": "财政部门",
    "tax": "税务机关",
    "fin_regulator": "金融监管部门",
    "transport": "交通运输部门",
    "commerce": "商务部门",
    "market": "市场监管部门",
    "union": "工会",
    "insurer": "受托商业保险机构",
    "platform": "平台企业",
    "public": "社会公众",
}


def role(code: str) -> Role:
    try:
        return ROLES[code]
    except KeyError:
        raise ValueError(f"unknown role {code!r}") from None
