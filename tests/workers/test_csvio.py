"""Reading CSV uploads: encodings, headers, line numbers, and the file-level refusals."""

from __future__ import annotations

import pytest

from oip.core.errors import DomainError
from oip.workers import csvio
from tests.workers.conftest import csv_bytes, record

EN = "platform_account_id,name,id_number,phone,county_code,registered_on"
CN = "平台账号,姓名,身份证号码,手机号码,接单地区划代码,注册日期"


def _refused(data: bytes) -> str:
    with pytest.raises(DomainError) as e:
        csvio.parse(data)
    assert e.value.status_code == 400 and e.value.field == "file"
    return e.value.reason


def test_utf8_with_and_without_bom_and_gbk():
    rows = [record(name="韦小宝"), record(name="覃秀英")]
    for data, enc in [
        (csv_bytes(rows), "UTF-8"),
        (b"\xef\xbb\xbf" + csv_bytes(rows), "UTF-8"),
        (csv_bytes(rows, header="cn", encoding="gbk"), "GB18030"),
        (csv_bytes(rows, header="cn", encoding="gb18030"), "GB18030"),
    ]:
        parsed = csvio.parse(data)
        assert parsed.encoding == enc
        assert [r["name"] for r in parsed.records] == ["韦小宝", "覃秀英"]
        assert parsed.records[0]["id_number"] == rows[0]["id_number"]
        assert parsed.rows == [2, 3]


def test_chinese_headers_any_order_extra_columns_and_file_line_numbers():
    r = record(name="莫海燕")
    text = (
        "序号,注册日期,姓名,平台账号,手机号码,接单地区划代码,身份证号码,备注\r\n"
        "\r\n"  # a blank line still counts as a line
        f"1,{r['registered_on']},{r['name']},{r['platform_account_id']},{r['phone']},{r['county_code']},{r['id_number']},\r\n"
        ",,,,,,,\r\n"  # Excel's empty trailing rows are skipped
        f'2,2025-08-02,"黄,志强",A2,13800138000,450103,{r["id_number"]},"两行\n备注"\r\n'
        "3,2025-08-03,陆国庆,A3,13800138001,450103,450103199001011234\r\n"
    )
    parsed = csvio.parse(text.encode("utf-8"))
    assert parsed.columns["registered_on"] == "注册日期"
    assert parsed.ignored_columns == ["序号", "备注"]
    assert parsed.rows == [3, 5, 7]
    assert parsed.records[0] == {k: r[k] for k in r}
    assert parsed.records[1]["name"] == "黄,志强"
    assert not parsed.problems


def test_header_aliases_and_spaces():
    parsed = csvio.parse("平台账号, 姓名 ,身份证号,手机号,接单地区划代码,注册日期\nA1,韦小宝,1,2,3,4\n".encode())
    assert set(parsed.columns) == {"platform_account_id", "name", "id_number", "phone", "county_code", "registered_on"}


def test_missing_columns_are_named():
    reason = _refused("平台账号,姓名,手机号码,注册日期\nA1,韦小宝,13800138000,2025-08-01\n".encode())
    assert (
        "缺少必需的列" in reason and "身份证号码（id_number）" in reason and "接单地区划代码（county_code）" in reason
    )
    reason = _refused(b"foo,bar\n1,2\n")
    assert "表头" in reason and "platform_account_id" in reason


def test_duplicate_column_refused():
    assert "同一列" in _refused((CN + ",身份证号\n").encode())


def test_empty_header_only_and_not_csv():
    assert "为空" in _refused(b"")
    assert "为空" in _refused(b"\xef\xbb\xbf\r\n \r\n")
    assert "没有数据行" in _refused((EN + "\r\n,,,,,\r\n").encode())
    assert ".xlsx" in _refused(b"PK\x03\x04" + b"\x00" * 100)
    assert "UTF-16" in _refused("\ufeff平台账号".encode("utf-16-le"))


@pytest.mark.parametrize(
    "garbage",
    [
        bytes(range(256)) * 8,
        bytes(range(128, 256)) * 8,
        b"\x89PNG\r\n\x1a\n" + bytes(range(1, 32)) * 20,
        b"abc\x01\x02\x03def,ghi\n",
    ],
)
def test_binary_garbage_says_which_encodings_are_accepted(garbage):
    reason = _refused(garbage)
    assert "UTF-8" in reason and "GBK" in reason


def test_more_cells_than_header_is_a_row_problem():
    r = record()
    line = ",".join(r[k] for k in ("platform_account_id", "name", "id_number", "phone", "county_code", "registered_on"))
    parsed = csvio.parse(f"{EN}\n{line}\n{line},多余\n".encode())
    assert list(parsed.problems) == [1]
    assert "多于表头" in parsed.problems[1][0]["reason"]


def test_text_forcing_wrappers_are_removed():
    r = record()
    line = f'{r["platform_account_id"]},{r["name"]},="{r["id_number"]}",\'{r["phone"]},{r["county_code"]},{r["registered_on"]}'
    parsed = csvio.parse(f"{EN}\n{line}\n".encode())
    assert parsed.records[0]["id_number"] == r["id_number"] and parsed.records[0]["phone"] == r["phone"]


def test_tab_separated_is_accepted():
    r = record()
    parsed = csvio.parse(("\t".join(EN.split(",")) + "\n" + "\t".join(r.values()) + "\n").encode())
    assert parsed.records[0]["id_number"] == r["id_number"]


def test_template_and_rejects_csv_are_utf8_with_bom():
    t = csvio.template_csv()
    assert t.startswith(b"\xef\xbb\xbf") and t.decode("utf-8-sig").strip() == CN
    assert csvio.template_csv(chinese=False).decode("utf-8-sig").strip() == EN
    out = csvio.rejects_csv(
        [
            {
                "row": 2,
                "platform_account_id": "A1",
                "status": "rejected",
                "reasons": [
                    {"field": "id_number", "reason": "身份证号码校验位错误（应为 3）"},
                    {"field": "phone", "reason": "x"},
                ],
            },
            {
                "row": 3,
                "platform_account_id": "=HYPERLINK(1)",
                "status": "rejected",
                "reasons": [{"field": None, "reason": "y"}],
            },
            {"row": 4, "platform_account_id": "A4", "status": "created", "warnings": ["w"]},
        ]
    )
    assert out.startswith(b"\xef\xbb\xbf")
    lines = out.decode("utf-8-sig").splitlines()
    assert lines == [
        "row,platform_account_id,field,reason",
        "2,A1,id_number,身份证号码校验位错误（应为 3）",
        "2,A1,phone,x",
        "3,'=HYPERLINK(1),,y",
    ]
