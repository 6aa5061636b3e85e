"""The demo's expert pools: every city's committee and the regional one, across specialties, some
inactive, some tied to a pilot platform, registered on past days by the committee's officers."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from oip.appraisal.models import Expert, ExpertTie
from oip.core import clock
from oip.core.audit_models import AuditEvent


def test_demo_pools(db):
    demo = [e for e in db.scalars(select(Expert)) if not e.name.startswith("测")]  # tests name theirs 测…
    per = Counter(e.committee_code for e in demo)
    cities = [c for c in per if c != "450000"]
    assert len(cities) == 14 and all(12 <= per[c] <= 14 for c in cities)
    assert 15 <= per["450000"] <= 18
    for committee in per:
        codes = {e.specialty_code for e in demo if e.committee_code == committee}
        assert {"orthopaedics", "neurosurgery", "ophthalmology", "rehabilitation"} <= codes
    assert 3 <= sum(not e.active for e in demo) <= len(demo) // 5
    ties = list(db.scalars(select(ExpertTie).where(ExpertTie.expert_id.in_([e.id for e in demo]))))
    assert ties and all(t.kind == "platform" and t.platform is not None for t in ties)
    created = list(
        db.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "appraisal.expert.create", AuditEvent.entity_id.in_([str(e.id) for e in demo[:20]])
            )
        )
    )
    assert len(created) == 20 and all(ev.at.date() < clock.today() for ev in created)
    assert any(
        ev.actor.startswith("nn_hrss")
        for ev in db.scalars(select(AuditEvent).where(AuditEvent.action == "appraisal.expert.create"))
    )


def test_demo_appraisals_on_confirmed_cases(db):
    """Appraisals on some of the demo's confirmed cases, every step through the service: their state
    on the case matches, an accepted one has its due date, every stored draw re-runs to its panel."""
    from oip.appraisal import draw
    from oip.appraisal.models import Appraisal
    from oip.cases.models import Case
    from oip.demo.appraisal import DEMO_STATEMENT

    rows = list(
        db.execute(
            select(Appraisal, Case)
            .join(Case, Case.id == Appraisal.case_id)
            .where(Appraisal.statement == DEMO_STATEMENT)
        )
    )
    assert rows, "the demo made no appraisal"
    for a, c in rows:
        assert c.state in ("appraisal", "appraised", "closed"), (a.number, c.state)
        assert a.applied_on < clock.today() and a.treatment_ended_on <= a.applied_on
        if a.status == "accepted":
            assert a.due_on is not None and (a.draw is not None or a.kind == "reappraisal")
        d = a.draw
        if d is not None:
            stored = draw.Draw(
                tuple(d.panel),
                tuple(i for i, _ in d.candidates),
                tuple((i, r) for i, r in d.excluded),
                d.seed,
                tuple(d.needed_specialties),
                d.size,
            )
            assert draw.rerun(stored, [draw.Candidate(i, s) for i, s in d.candidates])[1]
