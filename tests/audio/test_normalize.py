"""normalize_text: written Vietnamese to the spoken form a listener understands at first hearing."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from audio.lexicon_file import read_lexicon_file
from audio.normalize import normalize_text
from audio.normalize.cleanup import is_syllable
from audio.normalize.glue import GLUE
from audio.normalize.lexicon import (
    LexiconError,
    builtin_lexicon,
    make_lexicon,
)
from audio.normalize.numbers import read_number

SAMPLES = Path("/work/shared/samples/announcements.yaml")
YEAR_2026 = "hai nghìn không trăm hai mươi sáu"


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        # The issue's examples, exactly.
        (
            "Họp lúc 7h30 ngày 3/11/2026",
            f"họp lúc bảy giờ ba mươi phút ngày ba tháng mười một năm {YEAR_2026}",
        ),
        ("hỗ trợ 100.000.000 đồng", "hỗ trợ một trăm triệu đồng"),
        ("lãi suất 0,55%", "lãi suất không phẩy năm mươi lăm phần trăm"),
    ],
)
def test_issue_examples(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


CASES: list[tuple[str, str]] = [
    # Integers, thousands dots, decimals with a comma, leading zeros.
    ("có 40 hộ", "có bốn mươi hộ"),
    ("thôn 4 và thôn 5", "thôn bốn và thôn năm"),
    ("21 người", "hai mươi mốt người"),
    ("105 hộ", "một trăm linh năm hộ"),
    ("dân số 2.350", "dân số hai nghìn ba trăm năm mươi"),
    ("1.000.050 cây", "một triệu không trăm năm mươi cây"),
    ("3,5 tấn", "ba phẩy năm tấn"),
    ("3,05 tấn", "ba phẩy không năm tấn"),
    ("mục 2.3", "mục hai chấm ba"),
    ("số 01", "số không một"),
    ("0 giờ", "không giờ"),
    # Money.
    ("2.350.000 đồng", "hai triệu ba trăm năm mươi nghìn đồng"),
    ("2.350.000đ", "hai triệu ba trăm năm mươi nghìn đồng"),
    ("2.350.000 VNĐ", "hai triệu ba trăm năm mươi nghìn đồng"),
    ("152.500.000 đồng", "một trăm năm mươi hai triệu năm trăm nghìn đồng"),
    ("1,5 triệu đồng", "một phẩy năm triệu đồng"),
    ("2 tỷ đồng", "hai tỷ đồng"),
    ("giá 50k", "giá năm mươi nghìn"),
    ("5tr mỗi hộ", "năm triệu mỗi hộ"),
    ("50.000 đồng/ngày", "năm mươi nghìn đồng một ngày"),
    ("100 USD", "một trăm đô la mỹ"),
    # Percentages.
    ("đạt 127%", "đạt một trăm hai mươi bảy phần trăm"),
    ("tăng 3,5 %", "tăng ba phẩy năm phần trăm"),
    ("từ 5% - 7%", "từ năm phần trăm đến bảy phần trăm"),
    # Dates.
    ("ngày 3/11/2026", f"ngày ba tháng mười một năm {YEAR_2026}"),
    ("từ 3/11/2026", f"từ ngày ba tháng mười một năm {YEAR_2026}"),
    ("Ngày 05/12/2026", f"ngày năm tháng mười hai năm {YEAR_2026}"),
    ("ngày 24/11", "ngày hai mươi tư tháng mười một"),
    ("sáng 1/4", "sáng ngày một tháng tư"),
    ("ngày 21/4", "ngày hai mươi mốt tháng tư"),
    ("8/12 và 9/12/2026", f"ngày tám tháng mười hai và ngày chín tháng mười hai năm {YEAR_2026}"),
    ("03-11-2026", f"ngày ba tháng mười một năm {YEAR_2026}"),
    ("3.11.2026", f"ngày ba tháng mười một năm {YEAR_2026}"),
    ("2026-11-03", f"ngày ba tháng mười một năm {YEAR_2026}"),
    ("tháng 4/2026", f"tháng tư năm {YEAR_2026}"),
    ("12/2026", f"tháng mười hai năm {YEAR_2026}"),
    (
        "ngày 28 tháng 11 năm 2026",
        f"ngày hai mươi tám tháng mười một năm {YEAR_2026}",
    ),
    ("ngày 14 tháng 4 năm 2025", "ngày mười bốn tháng tư năm hai nghìn không trăm hai mươi lăm"),
    ("trong tháng 4", "trong tháng tư"),
    ("mỗi tháng 4 lần", "mỗi tháng bốn lần"),
    ("từ 2 tháng đến 5 tuổi", "từ hai tháng đến năm tuổi"),
    ("32/13", "ba mươi hai trên mười ba"),
    # Fractions.
    ("1/2 số hộ", "một phần hai số hộ"),
    ("3/4 diện tích", "ba phần tư diện tích"),
    # Times.
    ("lúc 7h", "lúc bảy giờ"),
    ("lúc 7h30", "lúc bảy giờ ba mươi phút"),
    ("lúc 14h15", "lúc mười bốn giờ mười lăm phút"),
    ("lúc 11h00", "lúc mười một giờ"),
    ("lúc 7h05", "lúc bảy giờ năm phút"),
    ("lúc 19h30 tối", "lúc mười chín giờ ba mươi phút tối"),
    ("lúc 8:00 sáng", "lúc tám giờ sáng"),
    ("lúc 7g30", "lúc bảy giờ ba mươi phút"),
    ("7 giờ 30", "bảy giờ ba mươi phút"),
    ("7 giờ 30 phút", "bảy giờ ba mươi phút"),
    ("16 giờ", "mười sáu giờ"),
    ("từ 18h ngày 24/11", "từ mười tám giờ ngày hai mươi tư tháng mười một"),
    # Ranges.
    (
        "giai đoạn 2021 - 2025",
        "giai đoạn hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm",
    ),
    ("2021-2025", "hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm"),
    ("2021–2025", "hai nghìn không trăm hai mươi mốt đến hai nghìn không trăm hai mươi lăm"),
    ("5-7 ngày", "năm đến bảy ngày"),
    ("từ 7h30 - 11h00", "từ bảy giờ ba mươi phút đến mười một giờ"),
    ("từ 7h - 11h", "từ bảy giờ đến mười một giờ"),
    ("3/11 - 15/11", "ngày ba tháng mười một đến ngày mười lăm tháng mười một"),
    ("thứ 2 - thứ 6", "thứ hai đến thứ sáu"),
    ("nhiệt độ 25-30°C", "nhiệt độ hai mươi lăm đến ba mươi độ xê"),
    # Phone numbers, digit by digit.
    (
        "số điện thoại 0260 3861 234",
        "số điện thoại không hai sáu không ba tám sáu một hai ba bốn",
    ),
    ("gọi 0912345678", "gọi không chín một hai ba bốn năm sáu bảy tám"),
    ("liên hệ 0912.345.678", "liên hệ không chín một hai ba bốn năm sáu bảy tám"),
    ("liên hệ 0912-345-678", "liên hệ không chín một hai ba bốn năm sáu bảy tám"),
    ("ĐT: 0260.3861.234", "điện thoại: không hai sáu không ba tám sáu một hai ba bốn"),
    ("SĐT 0912 345 678", "số điện thoại không chín một hai ba bốn năm sáu bảy tám"),
    ("+84 912 345 678", "cộng tám bốn chín một hai ba bốn năm sáu bảy tám"),
    ("gọi số 112", "gọi số một một hai"),
    ("đường dây nóng 1900 1234", "đường dây nóng một chín không không một hai ba bốn"),
    ("cấp cứu số 115", "cấp cứu số một một năm"),
    ("hotline: 18001090", "hotline: một tám không không một không chín không"),
    # Units.
    ("mưa 200 mm", "mưa hai trăm mi li mét"),
    ("mưa 200mm", "mưa hai trăm mi li mét"),
    ("cách 12,5 km", "cách mười hai phẩy năm ki lô mét"),
    ("3 ha lúa", "ba héc ta lúa"),
    ("50 kg gạo", "năm mươi ki lô gam gạo"),
    ("50 kg/hộ", "năm mươi ki lô gam một hộ"),
    ("60 km/h", "sáu mươi ki lô mét trên giờ"),
    ("200 m²", "hai trăm mét vuông"),
    ("200 m2", "hai trăm mét vuông"),
    ("5 m3 nước", "năm mét khối nước"),
    ("cao 3 m", "cao ba mét"),
    ("dài 80 cm", "dài tám mươi xen ti mét"),
    ("2 l dầu", "hai lít dầu"),
    ("trời rét 8°C", "trời rét tám độ xê"),
    ("trời rét 8 °C", "trời rét tám độ xê"),
    ("ba mươi độ C", "ba mươi độ xê"),
    ("-5°C", "âm năm độ xê"),
    ("10 tấn", "mười tấn"),
    ("100 kWh", "một trăm ki lô oát giờ"),
    # Ordinals, weekdays, levels, roman numerals.
    ("thứ 2", "thứ hai"),
    ("thứ 4", "thứ tư"),
    ("Thứ 7, ngày 28/11", "thứ bảy, ngày hai mươi tám tháng mười một"),
    ("lần thứ 1", "lần thứ nhất"),
    ("lần thứ 14", "lần thứ mười bốn"),
    ("gió cấp 10, giật cấp 12", "gió cấp mười, giật cấp mười hai"),
    ("bão số 9", "bão số chín"),
    ("quý IV", "quý bốn"),
    ("lần thứ XIII", "lần thứ mười ba"),
    ("Đại hội XIII", "đại hội mười ba"),
    # Abbreviations (built-in lexicon).
    ("UBND xã", "ủy ban nhân dân xã"),
    ("HĐND huyện", "hội đồng nhân dân huyện"),
    ("MTTQ", "mặt trận tổ quốc"),
    ("Phòng LĐTBXH", "phòng lao động thương binh và xã hội"),
    ("Phòng LĐ-TB&XH", "phòng lao động thương binh và xã hội"),
    ("BCĐ", "ban chỉ đạo"),
    ("TP Kon Tum", "thành phố kon tum"),
    ("TP. Kon Tum", "thành phố kon tum"),
    ("BHYT, CCCD", "bảo hiểm y tế, căn cước công dân"),
    ("Sở GD&ĐT", "sở giáo dục và đào tạo"),
    ("PCTT&TKCN", "phòng chống thiên tai và tìm kiếm cứu nạn"),
    ("Quyết định số 15/QĐ-UBND", "quyết định số mười lăm quyết định ủy ban nhân dân"),
    ("COVID-19", "cô vít mười chín"),
    ("HIV/AIDS", "hát i vê ết"),
    # Abbreviations match whole words only, and capitals only.
    ("tp", "tp"),
    ("UBNDX", "u bê en nờ dê ích"),
    # Unknown acronyms are spelled; capitalised words are not.
    ("máy ATM", "máy a tê em"),
    ("mã XYZ", "mã ích i dài dét"),
    ("khu B", "khu bê"),
    ("THÔNG BÁO KHẨN", "thông báo khẩn"),
    ("NGHIÊNG", "nghiêng"),
    # Punctuation is kept for pauses; symbols become words or pauses.
    ("Khẩn cấp!  Bà con chú ý.", "khẩn cấp! bà con chú ý."),
    ("Quỹ “Vì người nghèo”", "quỹ vì người nghèo"),
    ("(xem mục 2) tiếp", "xem mục hai, tiếp"),
    ("Chờ đợi…", "chờ đợi."),
    ("hộ nghèo & cận nghèo", "hộ nghèo và cận nghèo"),
    ("Lao động - Thương binh", "lao động, thương binh"),
    ("a , b", "a, b"),
    ("thông báo:lịch", "thông báo: lịch"),
    ("Hết.", "hết."),
]


@pytest.mark.parametrize(("text", "spoken"), CASES)
def test_readings(text: str, spoken: str) -> None:
    assert normalize_text(text) == spoken


def _samples() -> list[dict[str, Any]]:
    return yaml.safe_load(SAMPLES.read_text("utf-8"))


SAMPLE_IDS = [s["id"] for s in _samples()]


@pytest.mark.parametrize("sample", _samples(), ids=SAMPLE_IDS)
def test_sample_announcements_have_no_digits_or_abbreviations(sample: dict[str, Any]) -> None:
    body = sample["body"]
    spoken = normalize_text(body)
    assert not re.search(r"\d", spoken), spoken
    assert spoken == spoken.lower()
    assert not re.search(r"[%/&()\"“”–—]", spoken), spoken
    for term, reading in builtin_lexicon().items():
        if re.search(rf"(?<!\w){re.escape(term)}(?!\w)", body):
            assert reading in spoken, term
    # Every word left is a Vietnamese syllable (Đắk is a Central Highlands place name).
    odd = [w for w in re.findall(r"\w+", spoken) if not is_syllable(w) and w != "đắk"]
    assert odd == []


SAMPLE_READINGS = [
    ("ra-soat-ho-ngheo", f"từ ngày ba tháng mười một năm {YEAR_2026} đến ngày mười lăm"),
    ("ra-soat-ho-ngheo", "từ bảy giờ ba mươi phút đến mười một giờ các ngày"),
    ("ra-soat-ho-ngheo", "ủy ban nhân dân xã đắk hà."),
    ("ra-soat-ho-ngheo", "số điện thoại không hai sáu không ba tám sáu một hai ba bốn."),
    ("tiem-chung", f"ngày năm tháng mười hai năm {YEAR_2026}, trạm tổ chức"),
    ("tiem-chung", "từ hai tháng đến năm tuổi"),
    ("tiem-chung", "thời gian từ bảy giờ ba mươi phút đến mười sáu giờ."),
    ("vay-von-uu-dai", "mức vay tối đa một trăm triệu đồng mỗi hộ"),
    ("vay-von-uu-dai", "lãi suất không phẩy năm mươi lăm phần trăm mỗi tháng"),
    ("vay-von-uu-dai", "thời hạn đến sáu mươi tháng."),
    ("vay-von-uu-dai", "vào ngày mười hằng tháng."),
    ("canh-bao-bao", "bão số chín đang"),
    ("canh-bao-bao", "từ mười tám giờ ngày hai mươi tư tháng mười một."),
    ("canh-bao-bao", "gió mạnh cấp mười, giật cấp mười hai"),
    ("canh-bao-bao", "mưa lớn hai trăm đến ba trăm mi li mét."),
    ("canh-bao-bao", "gọi số một một hai."),
    ("hop-thon", "ban nhân dân thôn bốn và thôn năm"),
    (
        "hop-thon",
        f"lúc mười chín giờ ba mươi phút tối thứ bảy, ngày hai mươi tám tháng mười một năm {YEAR_2026}",
    ),
    ("hop-thon", "quỹ vì người nghèo năm"),
    ("hop-thon", "một trăm năm mươi hai triệu năm trăm nghìn đồng"),
    ("hop-thon", "đạt một trăm hai mươi bảy phần trăm kế hoạch."),
    ("khuyen-nong", "phối hợp với ủy ban nhân dân xã"),
    ("khuyen-nong", "cho bốn mươi hộ"),
    (
        "khuyen-nong",
        f"hai ngày, ngày tám tháng mười hai và ngày chín tháng mười hai năm {YEAR_2026}.",
    ),
    ("khuyen-nong", "hỗ trợ năm mươi nghìn đồng mỗi ngày."),
]


@pytest.mark.parametrize(("sample_id", "fragment"), SAMPLE_READINGS)
def test_sample_readings(sample_id: str, fragment: str) -> None:
    body = next(s["body"] for s in _samples() if s["id"] == sample_id)
    assert fragment in normalize_text(body)


def test_sentence_punctuation_survives() -> None:
    body = next(s["body"] for s in _samples() if s["id"] == "canh-bao-bao")
    spoken = normalize_text(body)
    assert spoken.startswith("khẩn cấp! ban chỉ huy")
    assert spoken.count(".") == body.count(".")


def test_extra_lexicon_entries_apply_and_win() -> None:
    extra = {"HTX": "hợp tác xã nông nghiệp", "Đắk": "đắc", "BQLDA": "ban quản lý dự án"}
    assert normalize_text("HTX Đắk Hà", extra) == "hợp tác xã nông nghiệp đắc hà"
    assert normalize_text("BQLDA xã", extra) == "ban quản lý dự án xã"
    assert normalize_text("đắk hà", extra) == "đắc hà"  # lowercase keys match any case
    assert normalize_text("HTX") == "hợp tác xã"  # the extra entries do not leak


def test_extra_lexicon_is_validated() -> None:
    with pytest.raises(LexiconError, match="one word"):
        normalize_text("x", {"two words": "hai từ"})
    with pytest.raises(LexiconError, match="numbers in words"):
        normalize_text("x", {"ABC": "a 2"})
    with pytest.raises(LexiconError, match="no spoken form"):
        make_lexicon({"ABC": " "})


def test_builtin_lexicon_is_data_and_well_formed() -> None:
    lexicon = builtin_lexicon()
    assert len(lexicon) > 100
    assert lexicon["UBND"] == "ủy ban nhân dân"
    assert lexicon["LĐTBXH"] == "lao động thương binh và xã hội"
    assert all(spoken == spoken.lower() for spoken in lexicon.values())


def test_glue_keeps_readings_together() -> None:
    spoken = normalize_text("hỗ trợ 152.500.000 đồng, gọi 0260 3861 234", keep_glue=True)
    assert f"một{GLUE}trăm{GLUE}năm{GLUE}mươi{GLUE}hai{GLUE}triệu" in spoken
    assert f"hai{GLUE}ba{GLUE}bốn" in spoken
    assert "hỗ trợ" in spoken  # ordinary words keep ordinary spaces
    assert normalize_text("hỗ trợ 152.500.000 đồng") == spoken.split(",")[0].replace(GLUE, " ")


@pytest.mark.parametrize(
    ("word", "expected"),
    [("nghiêng", True), ("khuya", True), ("trường", True), ("UBND", False), ("XYZ", False)],
)
def test_is_syllable(word: str, expected: bool) -> None:
    assert is_syllable(word) is expected


@pytest.mark.parametrize("text", ["", "   ", "...", "!!!"])
def test_nothing_to_say_gives_nothing_speakable(text: str) -> None:
    assert not re.search(r"\w", normalize_text(text))


def test_idempotent_on_spoken_text() -> None:
    spoken = normalize_text("Họp lúc 7h30 ngày 3/11/2026, hỗ trợ 100.000.000 đồng.")
    assert normalize_text(spoken) == spoken


@given(st.integers(min_value=0, max_value=10**15))
def test_any_integer_written_with_dots_reads_like_the_number(n: int) -> None:
    dotted = f"{n:,}".replace(",", ".")
    assert normalize_text(f"có {dotted} hộ") == f"có {read_number(n)} hộ"


@given(st.text(alphabet=st.sampled_from("0123456789 .,/-:h%ĐđUBNDabc"), max_size=40))
def test_never_fails_and_leaves_no_digits(text: str) -> None:
    assert not re.search(r"\d", normalize_text(text))


@pytest.mark.parametrize(
    "text",
    [
        "BQLDA: ban quản lý dự án\nĐắk: đắc\n",
        'term,spoken\nBQLDA,ban quản lý dự án\nĐắk,"đắc"\n',
        "# comment\nBQLDA, ban quản lý  dự án\nĐắk,đắc\n",
    ],
)
def test_lexicon_import_files(text: str) -> None:
    read = read_lexicon_file(text)
    assert read.errors == [] and read.entries == {"BQLDA": "ban quản lý dự án", "Đắk": "đắc"}


@pytest.mark.parametrize("text", ["- a\n- b\n", "a: [1\n", "x y,z\n"])
def test_bad_lexicon_import_files(text: str) -> None:
    read = read_lexicon_file(text)
    assert read.entries == {} and [e.line for e in read.errors] == [1]
