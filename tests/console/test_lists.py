"""The lists of producers and products on both backends: search with or without diacritics, by
tax code and by phone in any typing, filters, keyset paging that stays stable while rows are
added, the official's scope (pages and exports), and the exports (CSV with a BOM, XLSX) parsed
back, with hostile names kept as text and formulas disarmed."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest

from console.list_exports import guarded, national_phone
from storage.officials import scope_of
from storage.search import COUNT_CAP, ProducerFilter, count_producers, producer_page
from storage.states import DossierStatus, OfficialRole
from tests.console.conftest import Console
from tests.console.lists_data import add_producer, add_product

XSS = "<script>alert(1)</script>"
LISTS = [
    "/console/producers",
    "/console/products",
    "/console/producers.csv",
    "/console/producers.xlsx",
    "/console/products.csv",
    "/console/products.xlsx",
]


async def signed_in_admin(console: Console) -> None:
    await console.official("admin")
    await console.sign_in("admin")


async def page_text(console: Console, path: str) -> str:
    response = await console.get(path)
    assert response.status == 200, path
    return await response.text()


def names_in(html: str) -> list[str]:
    """The producer or product names of a list page's rows, in order."""
    rows = re.findall(r'<th scope="row"[^>]*>(.*?)</th>', html, re.S)
    return [re.sub(r"<[^>]+>", "", row).strip() for row in rows]


async def csv_rows(console: Console, path: str) -> list[list[str]]:
    response = await console.get(path)
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    body = await response.read()
    assert body.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


async def xlsx_rows(console: Console, path: str) -> list[list[object]]:
    response = await console.get(path)
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    workbook = openpyxl.load_workbook(io.BytesIO(await response.read()), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


@pytest.mark.parametrize("path", LISTS)
async def test_no_list_or_export_without_sign_in(console: Console, path: str) -> None:
    response = await console.get(path)
    assert response.status == 302 and response.headers["Location"] == "/console/login"


async def test_search_by_name_without_diacritics(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    da_mai = await console.area("bac ninh", "Đa Mai")
    await add_producer(console.db, "Hợp tác xã Lục Ngạn", bac_ninh, luc_ngan)
    await add_producer(console.db, "Hợp tác xã Đa Mai", bac_ninh, da_mai)
    await add_producer(console.db, "Công ty Lục Ngạn Xanh", bac_ninh, luc_ngan)
    await signed_in_admin(console)

    found = names_in(await page_text(console, "/console/producers?q=hop+tac+xa+luc+ngan"))
    assert found == ["Hợp tác xã Lục Ngạn"]
    found = names_in(await page_text(console, "/console/producers?q=LUC+NGAN"))
    assert found == ["Công ty Lục Ngạn Xanh", "Hợp tác xã Lục Ngạn"]  # newest first
    found = names_in(await page_text(console, "/console/producers?q=ngan+hợp+tác"))
    assert found == ["Hợp tác xã Lục Ngạn"]  # words in any order, with diacritics too
    found = names_in(await page_text(console, "/console/producers?q=da+mai"))
    assert found == ["Hợp tác xã Đa Mai"]  # đ folds to d
    assert names_in(await page_text(console, "/console/producers?q=100%25")) == []


async def test_a_renamed_producer_is_found_by_its_new_name(console: Console) -> None:
    from storage.models import Producer

    bac_ninh = await console.area("bac ninh")
    producer_id = await add_producer(console.db, "Hợp tác xã Cũ", bac_ninh, None)
    async with console.db.transaction() as session:
        producer = await session.get(Producer, producer_id)
        assert producer is not None and producer.search_name == "hop tac xa cu"
        producer.name = "Hợp tác xã Mới Đây"
    await signed_in_admin(console)
    assert names_in(await page_text(console, "/console/producers?q=moi+day")) == [
        "Hợp tác xã Mới Đây"
    ]
    assert names_in(await page_text(console, "/console/producers?q=xa+cu")) == []


@pytest.mark.parametrize(
    "typed",
    ["0987654321", "0987 654 321", "+84 987 654 321", "+84987654321", "84987654321",
     "098.765.4321", "987654321"],
)  # fmt: skip
async def test_search_by_phone_in_any_typing(console: Console, typed: str) -> None:
    bac_ninh = await console.area("bac ninh")
    await add_producer(console.db, "Có số E.164", bac_ninh, None, phone="+84987654321")
    await add_producer(console.db, "Có số nội địa", bac_ninh, None, phone="0987654321")
    await add_producer(console.db, "Số khác", bac_ninh, None, phone="+84912000000")
    await signed_in_admin(console)
    found = names_in(await page_text(console, f"/console/producers?q={typed.replace('+', '%2B')}"))
    assert sorted(found) == ["Có số E.164", "Có số nội địa"]


async def test_search_by_tax_code(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    await add_producer(console.db, "Công ty mẹ", bac_ninh, None, tax_code="0101234567")
    await add_producer(console.db, "Chi nhánh", bac_ninh, None, tax_code="0101234567-001")
    await add_producer(console.db, "Công ty khác", bac_ninh, None, tax_code="0109999999")
    await add_producer(console.db, "Hộ ông A", bac_ninh, None, tax_code="001203004005")
    await signed_in_admin(console)
    assert names_in(await page_text(console, "/console/producers?q=0101234567")) == [
        "Chi nhánh",
        "Công ty mẹ",
    ]
    for typed in ("0101234567-001", "0101234567001", "0101 234 567-001"):
        found = names_in(await page_text(console, f"/console/producers?q={typed}"))
        assert found == ["Chi nhánh"], typed
    assert names_in(await page_text(console, "/console/producers?q=001203004005")) == ["Hộ ông A"]


async def test_producer_filters(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    da_mai = await console.area("bac ninh", "Đa Mai")
    ha_noi = await console.area("ha noi")
    alone = await add_producer(console.db, "Chưa có sản phẩm", bac_ninh, luc_ngan)
    submitted = await add_producer(console.db, "Đã nộp", bac_ninh, da_mai, org_type="enterprise")
    await add_product(console.db, submitted, "Chè", 7, DossierStatus.SUBMITTED)
    drafting = await add_producer(console.db, "Đang soạn", ha_noi, None)
    await add_product(console.db, drafting, "Gạo", 3, DossierStatus.DRAFT)
    await signed_in_admin(console)

    async def listed(query: str) -> str:
        return await page_text(console, f"/console/producers?{query}")

    assert names_in(await listed("state=no_product")) == ["Chưa có sản phẩm"]
    assert names_in(await listed("state=submitted")) == ["Đã nộp"]
    assert names_in(await listed("state=draft")) == ["Đang soạn"]
    assert names_in(await listed("org_type=enterprise")) == ["Đã nộp"]
    assert names_in(await listed(f"province={ha_noi.id}")) == ["Đang soạn"]
    in_bac_ninh = await listed(f"province={bac_ninh.id}&commune={luc_ngan.id}")
    assert names_in(in_bac_ninh) == ["Chưa có sản phẩm"]
    assert f'<option value="{luc_ngan.id}" selected>' in in_bac_ninh
    # nonsense is ignored, not an error
    assert len(names_in(await listed("state=nope&org_type=x&province=abc"))) == 3
    assert alone


async def test_product_list_filters_and_links(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    producer = await add_producer(console.db, "HTX Lục Ngạn", bac_ninh, luc_ngan)
    tea, tea_dossier = await add_product(console.db, producer, "Chè Lục Ngạn", 7,
                                         DossierStatus.SUBMITTED)  # fmt: skip
    await add_product(console.db, producer, "Vải thiều", 1, DossierStatus.APPROVED)
    await add_product(console.db, producer, "Rượu Lục Ngạn", 14, None)
    await signed_in_admin(console)

    html = await page_text(console, "/console/products?q=che+luc+ngan")
    assert names_in(html) == ["Chè Lục Ngạn"]
    assert f'href="/console/dossiers/{tea_dossier}"' in html
    assert f'href="/console/producers/{producer}"' in html
    assert tea
    assert names_in(await page_text(console, "/console/products?set=1")) == ["Vải thiều"]
    drinks = names_in(await page_text(console, "/console/products?group=II"))
    assert drinks == ["Rượu Lục Ngạn"]  # set 14 (white spirits) is in group II, drinks
    no_dossier = names_in(await page_text(console, "/console/products?state=no_dossier"))
    assert no_dossier == ["Rượu Lục Ngạn"]
    assert names_in(await page_text(console, "/console/products?state=approved")) == ["Vải thiều"]
    assert len(names_in(await page_text(console, f"/console/products?commune={luc_ngan.id}"))) == 3


async def test_paging_has_no_duplicates_or_gaps_while_rows_are_added(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    first = [await add_producer(console.db, f"HTX {n}", bac_ninh, None) for n in range(23)]
    official = await console.official("admin")
    async with console.db.sessions() as session:
        scope = await scope_of(session, official)
    seen: list[int] = []
    older: int | None = None
    while True:
        async with console.db.sessions() as session:
            page = await producer_page(session, scope, ProducerFilter(), older_than=older, limit=5)
        seen += [row.id for row in page.rows]
        await add_producer(console.db, "HTX mới", bac_ninh, None)  # arrives meanwhile
        if page.older_than is None:
            break
        older = page.older_than
    assert seen == sorted(first, reverse=True)
    # and back: the newer pages from the last one lead to the newest rows, again without repeats
    async with console.db.sessions() as session:
        back = await producer_page(session, scope, ProducerFilter(), newer_than=seen[-1], limit=5)
    assert [row.id for row in back.rows] == seen[-6:-1]
    assert back.newer_than == seen[-6]


async def test_pager_links_keep_the_filters(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    ids = [await add_producer(console.db, f"HTX Lục Ngạn {n}", bac_ninh, None) for n in range(55)]
    await add_producer(console.db, "Khác", bac_ninh, None)
    await signed_in_admin(console)
    html = await page_text(console, "/console/producers?q=luc+ngan")
    assert len(names_in(html)) == 50 and "55" in html
    older = re.search(r'href="([^"]*)" rel="next"', html)
    assert older is not None
    link = older.group(1).replace("&amp;", "&")
    assert "q=luc+ngan" in link and f"older={ids[5]}" in link
    second = await page_text(console, link)
    assert names_in(second) == [f"HTX Lục Ngạn {n}" for n in range(4, -1, -1)]
    assert 'rel="next"' not in second and 'rel="prev"' in second


async def test_counts_stop_at_the_cap(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    from storage.models import Producer

    async with console.db.transaction() as session:
        session.add_all(
            Producer(
                org_type="farm",
                name=f"Trại {n}",
                tax_code="0101234567",
                rep_name="A",
                rep_position="B",
                rep_gender="male",
                rep_ethnicity="Kinh",
                phone="+84912345678",
                province_id=bac_ninh.id,
            )
            for n in range(COUNT_CAP + 5)
        )
    official = await console.official("admin")
    async with console.db.sessions() as session:
        scope = await scope_of(session, official)
        count = await count_producers(session, scope, ProducerFilter())
        assert count.capped and count.value == COUNT_CAP
        count = await count_producers(session, scope, ProducerFilter(text="trai 100"))
        assert not count.capped and count.value == 6  # 100, 1000…1004
    await console.sign_in("admin")
    html = await page_text(console, "/console/producers")
    assert "Tìm thấy hơn 1.000" in html and 'rel="next"' in html


async def test_a_commune_official_sees_only_their_commune(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    da_mai = await console.area("bac ninh", "Đa Mai")
    mine = await add_producer(console.db, "HTX Lục Ngạn", bac_ninh, luc_ngan)
    theirs = await add_producer(console.db, "HTX Đa Mai", bac_ninh, da_mai)
    await add_product(console.db, mine, "Vải Lục Ngạn", 1)
    await add_product(console.db, theirs, "Vải Đa Mai", 1)
    await console.official("xa.lucngan", OfficialRole.COMMUNE, [luc_ngan])
    await console.sign_in("xa.lucngan")

    html = await page_text(console, "/console/producers")
    assert names_in(html) == ["HTX Lục Ngạn"] and "Đa Mai" not in html
    # asking for the other commune or province by id finds nothing and offers nothing
    for query in (f"commune={da_mai.id}", f"province={bac_ninh.id}&commune={da_mai.id}",
                  "q=da+mai", "q=0912345678"):  # fmt: skip
        html = await page_text(console, f"/console/producers?{query}")
        assert "HTX Đa Mai" not in html, query
    assert names_in(await page_text(console, "/console/products")) == ["Vải Lục Ngạn"]
    for path, lines in (("/console/producers.csv", 2), ("/console/products.csv", 2),
                        (f"/console/producers.csv?commune={da_mai.id}", 1)):  # fmt: skip
        rows = await csv_rows(console, path)
        assert all("Đa Mai" not in cell for row in rows for cell in row), path
        assert len(rows) == lines, path
    for path in ("/console/producers.xlsx", "/console/products.xlsx?q=vai"):
        rows_x = await xlsx_rows(console, path)
        assert len(rows_x) == 2 and "Đa Mai" not in repr(rows_x), path


async def test_exports_parse_back_with_names_as_text_and_formulas_disarmed(
    console: Console,
) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    hostile = await add_producer(console.db, XSS, bac_ninh, luc_ngan, phone="+84987654321")
    formula = await add_producer(console.db, '=HYPERLINK("http://x","y")', bac_ninh, luc_ngan)
    await add_product(console.db, hostile, "@SUM(A1)", 7, DossierStatus.SUBMITTED)
    await add_product(console.db, formula, "-1+2 Chè", 7, DossierStatus.DRAFT)
    await console.official("admin", locale="en")
    await console.sign_in("admin")

    html = await page_text(console, "/console/producers")
    assert XSS not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    rows = await csv_rows(console, "/console/producers.csv")
    assert rows[0][:3] == ["ID", "Name", "Organisation type"]
    by_id = {row[0]: row for row in rows[1:]}
    assert by_id[str(hostile)][1] == XSS
    assert by_id[str(hostile)][4] == "0987654321"
    assert by_id[str(hostile)][5:7] == ["Tỉnh Bắc Ninh", "Xã Lục Ngạn"]
    assert by_id[str(hostile)][9] == "Filed, to review: 1"
    assert by_id[str(hostile)][10].endswith(f"/console/producers/{hostile}")
    assert by_id[str(formula)][1] == '\'=HYPERLINK("http://x","y")'

    products = await csv_rows(console, "/console/products.csv?q=che")
    assert [row[1] for row in products[1:]] == ["'-1+2 Chè"]

    sheet = await xlsx_rows(console, "/console/producers.xlsx")
    assert sheet[0][:2] == ["ID", "Name"]
    names = {row[0]: row[1] for row in sheet[1:]}
    assert names == {hostile: XSS, formula: '\'=HYPERLINK("http://x","y")'}
    sheet = await xlsx_rows(console, "/console/products.xlsx")
    assert sorted(str(row[1]) for row in sheet[1:]) == ["'-1+2 Chè", "'@SUM(A1)"]
    assert all(not str(cell).startswith("=") for row in sheet for cell in row if cell)


def test_formula_guard_and_phone_display() -> None:
    for start in "=+-@\t\r":
        assert guarded(f"{start}x") == f"'{start}x"
    assert guarded("Hợp tác xã") == "Hợp tác xã"
    assert guarded("") == ""
    assert national_phone("+84912345678") == "0912345678"
    assert national_phone("0912345678") == "0912345678"


async def test_the_bench_data_set_is_listed_and_searchable(console: Console) -> None:
    from bench.console_data import generate

    counts = await generate(
        console.db, producers=40, documents_per_producer=2, transcript_rows_per_producer=3
    )
    assert counts["producers"] == 40 and counts["transcript"] == 120
    assert counts["documents"] == 2 * counts["dossiers"]
    again = await generate(console.db, producers=5, transcript_rows_per_producer=1, seed=2)
    assert again["producers"] == 5  # ids and sequences continue past the first set
    await add_producer(console.db, "Hợp tác xã sau cùng", await console.area("ha noi"), None)
    official = await console.official("admin")
    async with console.db.sessions() as session:
        scope = await scope_of(session, official)
        count = await count_producers(session, scope, ProducerFilter())
        page = await producer_page(session, scope, ProducerFilter(text="hop tac xa"), limit=100)
    assert count.value == 46 and not count.capped
    assert page.rows[0].name == "Hợp tác xã sau cùng"
    assert all("Hợp tác xã" in row.name for row in page.rows) and len(page.rows) > 1


async def test_area_choices_stay_inside_the_scope(console: Console) -> None:
    bac_ninh = await console.area("bac ninh")
    luc_ngan = await console.area("bac ninh", "Lục Ngạn")
    ha_noi = await console.area("ha noi")
    ba_dinh = await console.area("ha noi", "Ba Đình")
    await add_producer(console.db, "HTX Lục Ngạn", bac_ninh, luc_ngan)
    await add_producer(console.db, "HTX Ba Đình", ha_noi, ba_dinh)
    await console.official("tinh.bacninh", OfficialRole.PROVINCE, [bac_ninh])
    await console.sign_in("tinh.bacninh")

    html = await page_text(console, "/console/producers")
    assert f'<option value="{bac_ninh.id}"' in html and f'value="{ha_noi.id}"' not in html
    assert f'<option value="{luc_ngan.id}"' in html and f'value="{ba_dinh.id}"' not in html
    assert names_in(html) == ["HTX Lục Ngạn"]
    for query in (f"province={ha_noi.id}", f"province={ha_noi.id}&commune={ba_dinh.id}"):
        html = await page_text(console, f"/console/producers?{query}")
        assert "HTX Ba Đình" not in html and f'value="{ha_noi.id}"' not in html, query
        html = await page_text(console, f"/console/products?{query}")
        assert "HTX Ba Đình" not in html, query
    rows = await csv_rows(console, f"/console/producers.csv?province={ha_noi.id}")
    assert rows[1:] == []  # the area asked for is outside the scope: nothing
    assert all("Ba Đình" not in cell for row in rows for cell in row)

    console.client.session.cookie_jar.clear()
    await console.official("xa.lucngan", OfficialRole.COMMUNE, [luc_ngan])
    await console.sign_in("xa.lucngan")
    html = await page_text(console, "/console/producers")
    assert 'id="province"' not in html
    assert re.findall(
        r'<option value="(\d+)"', html.split('id="commune"')[1].split("</select>")[0]
    ) == [str(luc_ngan.id)]
