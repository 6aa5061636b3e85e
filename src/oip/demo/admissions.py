"""Two fictional platforms part-way through admission, made through the workflow's own services:

- 桂捷出行 (guijie, ride-hailing): applied, assessed, reported to the national departments;
- 八桂快送 (bagui, instant delivery): consented and under public notice now (from three days ago
  to four days ahead), with one written objection waiting to be resolved.

Each step is taken on its own past day and hour (``demo.timeline``), in the order an officer would
have taken it, so the dossiers and the audit trail show a realistic history.
"""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy.orm import Session

from oip.auth.models import User
from oip.auth.service import principal_for
from oip.core import clock
from oip.demo.synthetic import synthetic_phone, synthetic_uscc
from oip.demo.timeline import at, moment
from oip.platforms import admission
from oip.platforms.admission import StepInput, Upload

_PDF = b"%PDF-1.4\n% demo document (synthetic)\n%%EOF\n"


def generate(session: Session, rng: random.Random, officer_user: User) -> int:
    officer = principal_for(session, officer_user, via="demo")
    today = clock.today()
    year = today.year

    def day(days_ago: int, hour: int, minute: int = 0):
        return at(moment(today - dt.timedelta(days=days_ago), hour, minute))

    with day(75, 9, 12):
        bagui = admission.apply(
            session,
            officer,
            code="bagui",
            name="八桂快送",
            uscc=synthetic_uscc(rng, "450202"),
            industry_code="instant_delivery",
            headquarters="柳州市城中区（演示地址）",
            headquarters_region="450202",
            contact_name="韦主管",
            contact_phone=synthetic_phone(rng),
            contact_email="contact@bagui.example.cn",
            applied_on=today - dt.timedelta(days=75),
            comment="书面申请材料齐全（演示）。",
            attachments=[Upload("八桂快送-参加试点申请书.pdf", _PDF)],
        )
    with day(64, 15, 40):
        admission.act(
            session, officer, bagui.id, "assess", StepInput(decision="pass", comment="具备试点条件（演示）。")
        )
    with day(50, 10, 5):
        admission.act(
            session,
            officer,
            bagui.id,
            "report",
            StepInput(comment=f"桂人社函〔{year}〕8号，{today - dt.timedelta(days=50)} 报国家有关部门（演示）。"),
        )
    with day(40, 10, 30):
        guijie = admission.apply(
            session,
            officer,
            code="guijie",
            name="桂捷出行",
            uscc=synthetic_uscc(rng, "450103"),
            industry_code="ride_hailing",
            headquarters="南宁市青秀区民族大道（演示地址）",
            headquarters_region="450103",
            contact_name="覃经理",
            contact_phone=synthetic_phone(rng),
            contact_email="hr@guijie.example.cn",
            applied_on=today - dt.timedelta(days=40),
            comment="书面申请及营业执照、在桂运营情况说明已收齐（演示）。",
            attachments=[Upload("桂捷出行-参加试点申请书.pdf", _PDF)],
        )
    with day(31, 16, 20):
        admission.act(
            session,
            officer,
            guijie.id,
            "assess",
            StepInput(
                decision="pass", comment="在桂注册运营满一年，订单和从业人员数据可按要求报送，具备试点条件（演示）。"
            ),
        )
    with day(20, 9, 45):
        admission.act(
            session,
            officer,
            guijie.id,
            "report",
            StepInput(
                comment=f"桂人社函〔{year}〕12号，{today - dt.timedelta(days=20)} 报人力资源社会保障部等国家有关部门（演示）。"
            ),
        )
    with day(9, 11, 0):
        admission.act(
            session,
            officer,
            bagui.id,
            "consent",
            StepInput(decision="consented", comment=f"人社厅函〔{year}〕31号复函同意（演示）。"),
        )
    with day(4, 14, 30):
        admission.act(
            session,
            officer,
            bagui.id,
            "publish",
            StepInput(
                notice_from=today - dt.timedelta(days=3),
                notice_to=today + dt.timedelta(days=4),
                comment="在自治区人力资源社会保障厅门户网站公示（演示）。",
            ),
        )
    with day(1, 16, 10):
        admission.record_objection(
            session,
            officer,
            bagui.id,
            received_on=today - dt.timedelta(days=1),
            objector="南宁市民李某（来信，演示）",
            content="反映该平台部分站点未按时结算配送员报酬，请核实其用工管理情况。",
        )
    return 2
