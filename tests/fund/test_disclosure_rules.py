"""The disclosure's suppression rules (oip.fund.disclosure_rules): worked examples."""

from oip.fund import disclosure_rules as R


def test_small_counts_are_suppressed_and_zero_is_not():
    p = R.protect({"南宁": 12, "柳州": 0, "桂林": 15}, 10)
    assert p.marks == {"南宁": R.SHOWN, "柳州": R.SHOWN, "桂林": R.SHOWN}
    p = R.protect({"南宁": 12, "柳州": 9, "桂林": 15, "梧州": 1}, 10)
    # Two small cells: neither can be recovered from the total alone, no complement needed.
    assert p.marks == {"南宁": R.SHOWN, "柳州": R.SMALL, "桂林": R.SHOWN, "梧州": R.SMALL}
    assert not p.hide_total


def test_one_small_cell_takes_the_smallest_other_non_zero_cell_with_it():
    # 40 in all: 柳州's 3 would be 40 − 12 − 15 − 10; 梧州 (10, the smallest other non-zero) goes too.
    p = R.protect({"南宁": 12, "柳州": 3, "桂林": 15, "梧州": 10, "北海": 0}, 10)
    assert p.marks == {"南宁": R.SHOWN, "柳州": R.SMALL, "桂林": R.SHOWN, "梧州": R.COMPLEMENT, "北海": R.SHOWN}
    assert p.hidden() == {"柳州", "梧州"}
    cells = R.line_cells({"南宁": 12, "柳州": 3, "桂林": 15, "梧州": 10, "北海": 0}, p)
    assert cells["柳州"] == {"value": None, "mark": R.SMALL}
    assert cells["梧州"] == {"value": None, "mark": R.COMPLEMENT}
    assert cells["北海"] == {"value": 0, "mark": R.SHOWN}
    assert [R.shown(cells[k], 10) for k in ("南宁", "柳州", "梧州", "北海")] == ["12", "<10", "—", "0"]


def test_no_complement_when_the_total_is_not_published():
    p = R.protect({"南宁": 12, "柳州": 3, "桂林": 15}, 10, total_shown=False)
    assert p.hidden() == {"柳州"}


def test_a_lone_small_cell_with_nothing_to_hide_beside_it_hides_the_total():
    p = R.protect({"南宁": 0, "柳州": 3}, 10)
    assert p.marks == {"南宁": R.SHOWN, "柳州": R.SMALL} and p.hide_total
    # …which is small itself here; a distinct-person total can still be larger than the cells' sum.
    assert R.total_cell(3, 10, hide=p.hide_total) == {"value": None, "mark": R.SMALL}
    assert R.total_cell(25, 10, hide=True) == {"value": None, "mark": R.COMPLEMENT}
    assert R.total_cell(25, 10) == {"value": 25, "mark": R.SHOWN}


def test_money_is_suppressed_by_the_people_it_was_paid_to():
    amounts = {"医疗费": 300_000, "丧葬补助金": 80_000, "一次性伤残补助金": 900_000}
    people = {"医疗费": 12, "丧葬补助金": 2, "一次性伤残补助金": 12}
    p = R.protect(amounts, 10, people)
    # The funeral grant went to 2 people: hidden; the smallest other amount (医疗费) goes with it.
    assert p.marks == {"医疗费": R.COMPLEMENT, "丧葬补助金": R.SMALL, "一次性伤残补助金": R.SHOWN}
    # A large amount paid to few people is hidden all the same.
    assert R.protect({"a": 10_000_000, "b": 5}, 10, {"a": 1, "b": 50}).marks == {"a": R.SMALL, "b": R.COMPLEMENT}


def test_ties_pick_the_complement_by_key_and_the_threshold_is_a_parameter():
    p = R.protect({"450300": 20, "450200": 20, "450100": 4}, 10)
    assert p.marks["450200"] == R.COMPLEMENT and p.marks["450300"] == R.SHOWN
    assert R.protect({"a": 4, "b": 20}, 5).hidden() == {"a", "b"}
    assert R.protect({"a": 5, "b": 20}, 5).hidden() == set()
