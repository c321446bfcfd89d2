"""System tests for `mamori items` and `mamori receipt` (OPS-1, OPS-6, DEV-16).

Real CLI processes on a temp directory; bad input must give a clear message and
change nothing.
"""
import json
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "items.csv"


def test_ops1_items_import_show_count(mamori, tmp_path):
    db = tmp_path / "items.db"
    r = mamori("items", "import", SAMPLE, "--db", db)
    assert r.returncode == 0, r.stderr
    assert "imported 61 items" in r.stdout
    assert mamori("items", "count", "--db", db).stdout.strip() == "61"
    # a weighed item by its in-store key, as JSON
    r = mamori("items", "show", "0200101000002", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    item = json.loads(r.stdout)
    assert item["name"] == "国産豚ロース(100g)"
    assert item["weighed"] is True and item["price_per_100g"] == 258
    # a price-embedded label (DOMAIN.md §3.2 example) resolves to its item and price
    r = mamori("items", "show", "2112002515005", "--db", db, "--json")
    assert r.returncode == 0, r.stderr
    item = json.loads(r.stdout)
    assert item["embedded_price"] == 1500 and item["name"] == "刺身盛合せ"
    # PLU key
    r = mamori("items", "show", "1", "--db", db, "--json")
    assert json.loads(r.stdout)["name"] == "バナナ 1房"


def test_ops1_items_bad_csv_changes_nothing(mamori, tmp_path):
    db = tmp_path / "items.db"
    assert mamori("items", "import", SAMPLE, "--db", db).returncode == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("code,name,unit_price,tax_class\n"
                   "4901234567894,ok,100,reduced\n"
                   "4901234567895,bad check digit,100,reduced\n"
                   "4901234567894,dup,100,8\n"
                   "4901234567887,huge,100000000,8\n", encoding="utf-8")
    r = mamori("items", "import", bad, "--db", db)
    assert r.returncode == 1
    assert "bad.csv:3: code 4901234567895: wrong check digit" in r.stderr
    assert "bad.csv:4:" in r.stderr and "twice" in r.stderr
    assert "bad.csv:5: unit_price" in r.stderr
    assert "nothing imported" in r.stderr
    assert mamori("items", "count", "--db", db).stdout.strip() == "61"
    r = mamori("items", "show", "4901234567895", "--db", db)
    assert r.returncode == 1 and "check digit" in r.stderr


def test_ops6_receipt_sample_decodes(mamori, tmp_path):
    out = tmp_path / "r.bin"
    assert mamori("receipt", "sample", "--reprint", "--out", out).returncode == 0
    raw = out.read_bytes()
    assert b"\x1c\x43\x01" in raw          # FS C 1: Shift JIS
    assert "￥".encode("cp932") in raw      # full-width yen, not 0x5C
    r = mamori("receipt", "decode", out)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    for s in ["登録番号 T1234567890123", "【再発行】", "※印は軽減税率対象商品", "￥1,410",
              "8%対象※ 2点", "(内消費税等 8%)", "お釣", "[BARCODE CODE128 9100010001000000001", "[CUT]"]:
        assert s in text, s
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"\x1b\x99garbage")
    r = mamori("receipt", "decode", bad)
    assert r.returncode == 1 and "decode" in r.stderr
