"""Detached signatures of exchanged files (oip.core.signing)."""

from oip.core import signing

KEY = b"k" * 32


def test_a_signature_verifies_in_any_case_and_with_blanks():
    sig = signing.sign(b"body", KEY)
    assert signing.verify(b"body", sig, KEY)
    assert signing.verify(b"body", f"  {sig.upper()}\n", KEY)
    assert not signing.verify(b"body!", sig, KEY)
    assert not signing.verify(b"body", sig, b"x" * 32)


def test_what_is_not_a_hex_signature_is_not_valid_rather_than_an_error():
    # hmac.compare_digest raises TypeError on non-ASCII str: an uploaded signature must not make a 500
    for given in ("", None, "签名", "é" * 64, signing.sign(b"body", KEY)[:-1] + "я"):
        assert signing.verify(b"body", given, KEY) is False


def test_safe_file_names():
    assert signing.SAFE_FILE_NAME.match("ZF202612-0001.json")
    for bad in ("../x.json", ".hidden", "a/b.json", "回盘.json", ""):
        assert not signing.SAFE_FILE_NAME.match(bad)
