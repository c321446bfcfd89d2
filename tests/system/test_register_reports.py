"""X and Z reports on the printer device (OPS-5, OPS-6) with a real
mamori-terminald and simulated devices on the secure bus: the report is
decoded from the ESC/POS bytes the printer device received; a Z whose
printer reply is lost prints exactly once (idempotency key, the printer
replays); without a printer the Z still closes the period and a later
reprint prints it marked 【再発行】."""
import json
import re

from regfix import MANAGER, Register, wait_for

TEA = "4901234001077"        # ¥160 reduced
GREEN = "4901234001145"      # ¥160 reduced
SASHIMI = "2112002515005"    # ¥1,500 price-embedded, reduced
BEER = "4901234002968"       # ¥218 standard, age-restricted


def yen(v):
    return ("-" if v < 0 else "") + "￥{:,}".format(abs(v))


def station(tmp_path, procs):
    r = Register(tmp_path, procs).start()
    r.signon("kenji")
    r.api.post("/v1/day/open", {"change_fund": 30000})
    return r


def day_of_sales(r):
    """Two sales (cash, gift), a line void, a cancel and a training sale."""
    r.api.post("/v1/scan", {"code": TEA})
    r.api.post("/v1/scan", {"code": GREEN})
    r.api.post("/v1/void", {"line": 2})
    r.api.post("/v1/tender/cash", {"amount": 1000})
    r.api.post("/v1/scan", {"code": SASHIMI})
    r.api.post("/v1/tender/gift", {"amount": 2000})
    r.api.post("/v1/scan", {"code": TEA})
    r.api.post("/v1/cancel", {"manager": MANAGER})
    r.api.post("/v1/training", {"on": True})
    r.api.post("/v1/scan", {"code": SASHIMI})
    r.api.post("/v1/tender/cash", {"amount": 5000})
    r.api.post("/v1/training", {"on": False})


def printed_since(r, offset):
    return r.decode_receipts(r.printer_out()[offset:])


def line_with(text, label):
    for line in text.splitlines():
        if label in line:
            return line
    raise AssertionError((label, text))


def test_ops5_z_report_printed_on_printer(tmp_path, procs):
    r = station(tmp_path, procs)
    day_of_sales(r)
    _, d = r.api.post("/v1/declare", {"counts": {"10000": 3, "1000": 1, "100": 2}})
    start = len(r.printer_out())
    _, j = r.api.post("/v1/report/z")
    z = j["report"]
    assert j["printed"] is True, j
    assert z["sales"] == 2 and z["sales_amount"] == 1660 and z["z_no"] == 1
    text = printed_since(r, start)
    assert text.count("【精算 Z】") == 1, text
    assert "【再発行】" not in text
    for want in ["まもりマート", "登録番号 T1234567890123", "Z No.000001", "担当 kenji",
                 "トレーニング取引は含みません", "現金照合 (ジャーナル/釣銭機/機器ログ)",
                 "照合済の入出金", "[CUT]"]:
        assert want in text, (want, text)
    # counts: 2 sales, no returns, 1 voided line, 1 cancel (training excluded)
    assert line_with(text, "売上 ").rstrip().endswith("2件")
    assert line_with(text, "明細取消").rstrip().endswith("1件")
    assert line_with(text, "取引中止").rstrip().endswith("1件")
    assert line_with(text, "返品 ").rstrip().endswith("0件")
    # by tax rate: taxable amount and tax per rate, as the API reports them
    assert line_with(text, "8%対象").rstrip().endswith(yen(z["base8"]))
    assert line_with(text, "(内消費税等 8%)").rstrip().endswith(yen(z["tax8"]))
    assert line_with(text, "10%対象").rstrip().endswith(yen(z["base10"]))
    assert line_with(text, "売上合計").rstrip().endswith(yen(1660))
    # by tender
    assert line_with(text, "現金 1件").rstrip().endswith(yen(z["tenders"]["cash"]["amount"]))
    assert line_with(text, "商品券 1件").rstrip().endswith(yen(1500))
    # cash: expected against declared, over/short, pieces by denomination
    assert line_with(text, "現金在高 (理論)").rstrip().endswith(yen(z["cash_expected"]))
    assert z["declared"] is True and z["declared_amount"] == 31200
    assert line_with(text, "現金申告").rstrip().endswith(yen(31200))
    assert line_with(text, "過不足").rstrip().endswith(yen(z["over_short"]))
    assert "10000円" in line_with(text, "10000円") and "3枚" in line_with(text, "10000円")
    assert "2枚" in line_with(text, "  100円")
    # the next Z counts on and prints its own number
    start = len(r.printer_out())
    _, j = r.api.post("/v1/report/z")
    assert j["printed"] is True and j["report"]["z_no"] == 2
    assert "Z No.000002" in printed_since(r, start)


def test_ops5_x_report_printed_not_reset(tmp_path, procs):
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA})
    r.api.post("/v1/tender/cash", {"amount": 1000})
    start = len(r.printer_out())
    _, j = r.api.post("/v1/report/x")
    assert j["printed"] is True
    text = printed_since(r, start)
    assert "【点検 X】" in text and "【精算 Z】" not in text
    assert "次回Z No.000001" in text
    assert line_with(text, "売上合計").rstrip().endswith(yen(160))
    assert "現金照合" not in text  # the reconciliation belongs to the Z
    # X resets nothing: a second X prints the same totals again
    start = len(r.printer_out())
    _, j = r.api.post("/v1/report/x")
    assert j["report"]["sales"] == 1 and j["report"]["z_no"] == 1
    text2 = printed_since(r, start)
    assert line_with(text2, "売上合計").rstrip().endswith(yen(160))
    # and the Z afterwards still has the sale
    _, j = r.api.post("/v1/report/z")
    assert j["report"]["sales"] == 1


def printer_jobs(r):
    return int(re.search(r"(\d+) jobs", r.ctl("printer", "status")).group(1))


def test_ops5_z_print_retry_prints_once(tmp_path, procs):
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA})
    r.api.post("/v1/tender/cash", {"amount": 1000})
    jobs = printer_jobs(r)
    start = len(r.printer_out())
    # The printer prints the Z but its reply is lost: the register retries
    # with the same key and the printer answers from its memory.
    assert "losing" in r.ctl("printer", "lose-replies", "1")
    _, j = r.api.post("/v1/report/z")
    assert j["printed"] is True, j
    assert "device.reply_lost" in r.ctl("printer", "log"), r.ctl("printer", "log")
    text = printed_since(r, start)
    assert text.count("【精算 Z】") == 1, text
    assert printer_jobs(r) == jobs + 1


def test_ops5_z_without_printer_completes_then_reprint(tmp_path, procs):
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": SASHIMI})
    r.api.post("/v1/tender/cash", {"amount": 2000})
    assert "unplugged" in r.ctl("printer", "unplug")
    assert wait_for(lambda: not r.devices().get("printer"), 10)
    start = len(r.printer_out())
    st, j = r.api.post("/v1/report/z")
    assert st == 200 and j["printed"] is False and "reprint" in j["print_error"], j
    assert len(r.printer_out()) == start
    # The day closed anyway (durable): the next period starts from zero.
    _, x = r.api.post("/v1/report/x")
    assert x["report"]["sales"] == 0 and x["report"]["z_no"] == 2
    r.ctl("printer", "replug")
    assert wait_for(lambda: r.devices().get("printer"), 15)
    start = len(r.printer_out())
    _, j = r.api.post("/v1/reprint", {"kind": "z", "receipt": 1})
    text = printed_since(r, start)
    assert text.count("【再発行】") == 2 and "【精算 Z】" in text and "Z No.000001" in text, text
    assert line_with(text, "売上合計").rstrip().endswith(yen(1500))
    assert "照合済の入出金" in text  # the reconciliation stored with the Z
    # No such Z: refused, nothing printed.
    start = len(r.printer_out())
    st, j = r.api.post("/v1/reprint", {"kind": "z", "receipt": 9}, ok=False)
    assert st == 404, (st, j)
    st, j = r.api.post("/v1/reprint", {"kind": "x", "receipt": 1}, ok=False)
    assert st == 400, (st, j)
    assert len(r.printer_out()) == start


def machine_counts(r):
    """The change machine's cassette counts as its control interface says."""
    out = r.ctl("changer", "status")
    return {d: int(n) for d, n in re.findall(r"(\d+):(\d+)", out.split("[")[1].split("]")[0])}


def test_ops5_declaration_over_short_by_denomination(tmp_path, procs):
    """精算 金種別: the change machine's own counts (asked through the bus at
    the declaration) are the expected pieces; what the operator counted in
    it gives the difference per denomination (過不足); the drawer is declared
    by pieces and checked by the total only. Carried by the answer, the Z
    (JSON and printed, decoded from the printer device), the journal (the
    reprint reads it back) and refused whole for bad counts."""
    import threading
    r = station(tmp_path, procs)
    r.api.post("/v1/scan", {"code": TEA})
    result = {}
    t = threading.Thread(target=lambda: result.update(r=r.api.post("/v1/tender/cash", {}, ok=False)))
    t.start()
    assert wait_for(lambda: r.ctl("changer", "insert", "1000").startswith("deposit"), 10)
    t.join(30)
    assert result["r"][0] == 200 and result["r"][1]["change"] == 840, result
    machine = machine_counts(r)
    assert machine["1000"] >= 1 and machine["100"] >= 3 and machine["10"] >= 4, machine
    drawer = {"10000": 3, "100": 1, "10": 6}                  # 30,160 = the theoretical cash
    # Expected only: the machine's counts come with the answer, no difference yet.
    _, j = r.api.post("/v1/declare", {"counts": drawer})
    ch = j["report"]["changer"]
    assert ch["counted"] is False and "difference" not in ch, ch
    assert {k: v for k, v in ch["expected"].items() if v} == {k: v for k, v in machine.items() if v}
    assert j["report"]["over_short"] == 0 and j["report"]["declared_amount"] == 30160
    # Hostile counts: refused with a clear message, nothing recorded.
    for body, words in [({"counts": drawer, "changer_counts": {"3": 1}}, "not a yen denomination"),
                        ({"counts": drawer, "changer_counts": {"100": -1}}, "out of range"),
                        ({"counts": {"1000": 10 ** 7}}, "out of range"),
                        ({"counts": drawer, "changer_counts": {"100": 2 ** 63 - 1}}, "out of range"),
                        ({"changer_counts": {"100": 1}}, "missing")]:
        st, e = r.api.post("/v1/declare", body, ok=False)
        assert st == 400 and words in json.dumps(e), (body, st, e)
    # The operator counts the machine: one 100-yen coin short, two 10-yen coins over.
    counted = dict(machine)
    counted["100"] -= 1
    counted["10"] += 2
    _, j = r.api.post("/v1/declare", {"counts": drawer, "changer_counts": counted})
    ch = j["report"]["changer"]
    assert ch["counted"] is True and ch["over_short"] == -80, ch
    assert {k: v for k, v in ch["difference"].items() if v} == {"100": -1, "10": 2}
    assert j["report"]["over_short"] == 0  # the drawer's total, as before
    start = len(r.printer_out())
    _, z = r.api.post("/v1/report/z")
    assert z["printed"] is True and z["report"]["changer"]["over_short"] == -80, z
    assert z["report"]["changer"]["difference"]["100"] == -1
    for text in (printed_since(r, start), None):
        if text is None:  # the reprint: the declaration as the journal keeps it
            start = len(r.printer_out())
            r.api.post("/v1/reprint", {"kind": "z", "receipt": 1})
            text = printed_since(r, start)
        assert "金種別 ドロア (申告)" in text and "金種別 釣銭機 (計数/機械/差)" in text, text
        assert line_with(text, "  10000円 x 3枚").rstrip().endswith(yen(30000))
        assert line_with(text, "  10円 x 6枚").rstrip().endswith(yen(60))
        assert line_with(text, "  100円  ").rstrip().endswith(
            "%d/%d枚 差 -1" % (counted["100"], machine["100"]))
        assert line_with(text, "  10円  ").rstrip().endswith(
            "%d/%d枚 差 +2" % (counted["10"], machine["10"]))
        assert line_with(text, "  1000円  ").rstrip().endswith(
            "%d/%d枚 差 +0" % (machine["1000"], machine["1000"]))
        assert line_with(text, "釣銭機過不足 (不足)").rstrip().endswith(yen(-80))
        assert line_with(text, "過不足").rstrip().endswith(yen(0))


def test_ops5_declaration_changer_counts_refused_without_machine(tmp_path, procs):
    """Without a change machine there are no expected pieces: counts for the
    machine are refused whole (nothing recorded); the drawer is declared by
    pieces with the total over/short only."""
    from regfix import KINDS
    r = Register(tmp_path, procs, kinds=[k for k in KINDS if k != "changer"]).start()
    r.signon("kenji")
    r.api.post("/v1/day/open", {"change_fund": 1000})
    st, e = r.api.post("/v1/declare", {"counts": {"1000": 1}, "changer_counts": {"100": 1}},
                       ok=False)
    assert st != 200 and "change machine" in json.dumps(e), (st, e)
    _, x = r.api.post("/v1/report/x")
    assert x["report"]["declared"] is False and "changer" not in x["report"]
    _, j = r.api.post("/v1/declare", {"counts": {"1000": 1, "5": 1}})
    assert j["report"]["over_short"] == 5 and "changer" not in j["report"]
    assert j["report"]["counts"]["1000"] == 1 and j["report"]["counts"]["5"] == 1
    # The console: bad counts are refused (the script says it expects that),
    # a good declaration prints the drawer by denomination.
    import subprocess
    from conftest import prog
    script = tmp_path / "declare.txt"
    script.write_text("\n".join([                # kenji is signed on (the API above)
        "!declare 1000=1 changer 100=1",     # no change machine
        "!declare 1000=1 1000=2",            # the same denomination twice
        "!declare 1000=-1",
        "!declare 3=1",
        "!declare 1000=1 changer 100=1 changer 10=1",
        "declare 1000=2 1=3",
        ""]))
    p = subprocess.run([prog("mamori"), "register", "--socket", r.state / "pos.sock", "--script",
                        script], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "金種別 (ドロア)" in p.stdout and "¥1000 x 2 = ¥2000" in p.stdout, p.stdout
    assert "過不足 ¥1003" in p.stdout and "釣銭機" not in p.stdout, p.stdout
    assert "not a yen denomination" in p.stdout and "change machine" in p.stdout
    _, x = r.api.post("/v1/report/x")
    assert x["report"]["declared_amount"] == 2003
