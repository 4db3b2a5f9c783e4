"""check_pdfa names each PDF/A problem in Chinese, passes real PDF/A output (signed ones too) and
never changes the file; qpdf_check reports what `qpdf --check` finds."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pikepdf
import pytest
from pikepdf import Array, Dictionary, Name, String

from archive_store.errors import ExternalProgramError, InvalidArgument
from pipeline.external import qpdf
from pipeline.external.qpdf import qpdf_check
from pipeline.pdf.normalise import normalise_upload
from pipeline.pdf.pdfa import assess_pdfa, check_pdfa

from . import odd_uploads as odd
from .conftest import EXAMPLES

PLAN = EXAMPLES / "institution-onsite" / "整改方案.pdf"


@pytest.fixture(scope="module")
def pdfa(tmp_path_factory) -> Path:
    """A real PDF/A-2b: 整改方案.pdf normalised."""
    return normalise_upload(PLAN, tmp_path_factory.mktemp("pdfa") / "整改方案.pdf").pdf


def helvetica_pdf(path: Path) -> None:
    """A plain PDF as pikepdf makes it: no OutputIntent, no XMP, Helvetica not embedded."""
    pdf = pikepdf.new()
    pdf.add_blank_page(page_size=(595, 842))
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    pdf.pages[0].Resources = Dictionary(Font=Dictionary(F1=font))
    pdf.pages[0].Contents = pdf.make_stream(b"BT /F1 24 Tf 72 720 Td (Hello) Tj ET")
    pdf.save(path)


def raw_pdf(*, file_id: bool = True, binary_comment: bool = True, tail: bytes = b"") -> bytes:
    """A minimal one-page PDF written byte by byte, to control header, trailer and end of file."""
    bodies = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
              b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = bytearray(b"%PDF-1.7\n" + (b"%\xe2\xe3\xcf\xd3\n" if binary_comment else b""))
    offsets = []
    for number, body in enumerate(bodies, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"/Size %d /Root 1 0 R" % (len(bodies) + 1)
    if file_id:
        trailer += b" /ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>]"
    out += b"trailer\n<< %s >>\nstartxref\n%d\n%%%%EOF\n" % (trailer, xref)
    return bytes(out) + tail


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- failing files -----------------------------------------------------------------------------------------

def test_plain_pikepdf_pdf_lists_each_problem(tmp_path):
    path = tmp_path / "plain.pdf"
    helvetica_pdf(path)
    problems = check_pdfa(path, expect_part=2)
    assert any("OutputIntent" in p for p in problems)
    assert any("XMP" in p and "pdfaid" in p for p in problems)
    assert any("Helvetica" in p and "未嵌入" in p and "第 1 页" in p for p in problems)
    assert len(problems) == 3, problems


def test_unembedded_type0_font_inside_a_form_xobject_is_found(tmp_path, pdfa):
    path = tmp_path / "type0.pdf"
    with pikepdf.open(pdfa) as pdf:
        descendant = Dictionary(Type=Name.Font, Subtype=Name.CIDFontType2, BaseFont=Name.SimSun,
                                CIDSystemInfo=Dictionary(Registry=String("Adobe"), Ordering=String("GB1"), Supplement=2),
                                FontDescriptor=Dictionary(Type=Name.FontDescriptor, FontName=Name.SimSun, Flags=4))
        font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type0, BaseFont=Name.SimSun,
                                            Encoding=Name("/UniGB-UCS2-H"), DescendantFonts=Array([descendant])))
        form = pdf.make_stream(b"BT /F9 12 Tf (A) Tj ET", Type=Name.XObject, Subtype=Name.Form,
                               BBox=Array([0, 0, 100, 100]), Resources=Dictionary(Font=Dictionary(F9=font)))
        pdf.pages[0].Resources.XObject = Dictionary(Fm9=form)
        pdf.save(path)
    assert any("SimSun" in p and "未嵌入" in p for p in check_pdfa(path, expect_part=2))


@pytest.mark.parametrize("user_password", ["secret", ""])
def test_encryption_is_a_problem(tmp_path, pdfa, user_password):
    path = tmp_path / "enc.pdf"
    with pikepdf.open(pdfa) as pdf:
        pdf.save(path, encryption=pikepdf.Encryption(owner="owner", user=user_password))
    assert any("加密" in p for p in check_pdfa(path, expect_part=2))


def test_active_content_is_listed(tmp_path, pdfa):
    path = tmp_path / "script.pdf"
    with pikepdf.open(pdfa) as pdf:
        pdf.Root.OpenAction = Dictionary(S=Name.JavaScript, JS=String("app.alert(1)"))
        pdf.pages[0].AA = Dictionary(C=Dictionary(S=Name.Named, N=Name.Print))
        pdf.pages[0].Annots = Array([pdf.make_indirect(Dictionary(
            Type=Name.Annot, Subtype=Name.Link, Rect=Array([0, 0, 10, 10]), F=4,
            A=Dictionary(S=Name.Launch, F=String("calc.exe"))))])
        pdf.save(path)
    problems = "\n".join(check_pdfa(path, expect_part=2))
    for expected in ("JavaScript", "Launch", "附加动作", "命名动作"):
        assert expected in problems


def test_pdfa3_embedded_file_needs_relationship_mime_type_and_af(tmp_path, pdfa):
    path = tmp_path / "a3.pdf"
    with pikepdf.open(pdfa) as pdf:
        with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["pdfaid:part"] = "3"
        pdf.attachments["case.json"] = pikepdf.AttachedFileSpec(pdf, b"{}", mime_type="application/json")
        spec = pdf.attachments["case.json"].obj  # pikepdf writes all three; take them away
        del spec["/AFRelationship"]
        del spec.EF.F["/Subtype"]
        del pdf.Root["/AF"]
        pdf.save(path)
    problems = check_pdfa(path, expect_part=3)
    assert any("case.json" in p and "AFRelationship" in p for p in problems)
    assert any("case.json" in p and "MIME" in p for p in problems)
    assert any("case.json" in p and "/AF" in p for p in problems)
    assert not any("声明为" in p for p in problems)


def test_wrong_part_is_reported(pdfa):
    assert check_pdfa(pdfa, expect_part=2) == []
    assert any("声明为 PDF/A-2，但要求 PDF/A-3" in p for p in check_pdfa(pdfa, expect_part=3))


EXTENSION = """<rdf:Description rdf:about="" xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
  xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
 <pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
  <pdfaSchema:schema>yuetan test</pdfaSchema:schema>
  <pdfaSchema:namespaceURI>https://yuetan.invalid/ns/test/</pdfaSchema:namespaceURI>
  <pdfaSchema:prefix>yt</pdfaSchema:prefix>
  <pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
   <pdfaProperty:name>caseId</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType>
   <pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>case id</pdfaProperty:description>
  </rdf:li></rdf:Seq></pdfaSchema:property>
 </rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
<rdf:Description rdf:about="" xmlns:yt="https://yuetan.invalid/ns/test/"><yt:caseId>C1</yt:caseId>{extra}</rdf:Description>
"""


@pytest.mark.parametrize("extra, passes", [("", True), ("<yt:secret>x</yt:secret>", False)])
def test_xmp_extension_schema_declares_custom_properties(tmp_path, pdfa, extra, passes):
    """pikepdf's validator rejects every custom namespace; declared ones are accepted, others not."""
    path = tmp_path / "ext.pdf"
    with pikepdf.open(pdfa) as pdf:
        xmp = pdf.Root.Metadata.read_bytes().decode("utf-8")
        pdf.Root.Metadata.write(xmp.replace("</rdf:RDF>", EXTENSION.format(extra=extra) + "</rdf:RDF>").encode("utf-8"))
        pdf.save(path)
    problems = check_pdfa(path, expect_part=2)
    if passes:
        assert problems == []
    else:
        assert len(problems) == 1 and "yt:secret" in problems[0], problems


def test_file_level_problems(tmp_path):
    clean = tmp_path / "clean.pdf"
    clean.write_bytes(raw_pdf())
    assert qpdf_check(clean) == []
    assert not any("/ID" in p or "文件头" in p or "%%EOF" in p for p in check_pdfa(clean))
    cases = {"no-id.pdf": (raw_pdf(file_id=False), "/ID"),
             "no-binary.pdf": (raw_pdf(binary_comment=False), "文件头第二行"),
             "tail.pdf": (raw_pdf(tail=b"junk after the end\n"), "%%EOF")}
    for name, (data, expected) in cases.items():
        (tmp_path / name).write_bytes(data)
        assert any(expected in p for p in check_pdfa(tmp_path / name)), name


def test_unreadable_and_missing_files(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(PLAN.read_bytes()[:20000])
    assert any("无法解析为 PDF" in p for p in check_pdfa(broken))
    with pytest.raises(InvalidArgument):
        check_pdfa(tmp_path / "absent.pdf")


# --- passing files -----------------------------------------------------------------------------------------

def test_signed_pdfa_with_incremental_update_passes_unchanged(tmp_path, pdfa):
    signed = tmp_path / "signed.pdf"
    _sign(pdfa, signed)
    data = signed.read_bytes()
    assert data.startswith(pdfa.read_bytes()) and data.count(b"%%EOF") == 2, "signing appended an update"
    assert check_pdfa(signed, expect_part=2) == []
    assert signed.read_bytes() == data


def test_signature_field_problems_are_found_after_signing(tmp_path, pdfa):
    """An incremental update that hides the signature, and a digest that skips a byte, are named."""
    from pyhanko.pdf_utils.generic import NumberObject
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signed, hidden, short = tmp_path / "signed.pdf", tmp_path / "hidden.pdf", tmp_path / "short.pdf"
    _sign(pdfa, signed)
    with open(signed, "rb") as inf, open(hidden, "wb") as out:
        writer = IncrementalPdfFileWriter(inf)
        field = writer.root["/AcroForm"]["/Fields"][0].get_object()
        field["/F"] = NumberObject(2)  # hidden, not printed
        writer.update_container(field)
        writer.write(out)
    assert any("yuetan-seal" in p and "/F" in p for p in check_pdfa(hidden, expect_part=2))
    data = signed.read_bytes()
    match = re.search(rb"/ByteRange \[(\d+) (\d+) (\d+) (\d+)\]", data)
    numbers = [int(n) for n in match.groups()]
    numbers[3] -= 10  # the digest now stops before the end of the file
    patched = b"/ByteRange [%d %d %d %d]" % tuple(numbers)
    short.write_bytes(data[: match.start()] + patched.ljust(match.end() - match.start()) + data[match.end():])
    assert any("yuetan-seal" in p and "/ByteRange" in p for p in check_pdfa(short, expect_part=2))


def _sign(src: Path, dest: Path) -> None:
    """Seal with a throw-away development seal (pyHanko writes an incremental update)."""
    from pipeline.pdf.seal import create_development_seal, seal_pdf

    p12 = create_development_seal(dest.with_name("seal.p12"), organizer="测试签章", passphrase=b"test")
    seal_pdf(src, dest, p12_path=p12, passphrase=b"test", location="测试")


def test_check_does_not_touch_the_file(pdfa):
    before = _sha256(pdfa)
    check_pdfa(pdfa, expect_part=2)
    assert _sha256(pdfa) == before


# --- qpdf --------------------------------------------------------------------------------------------------

def test_qpdf_check_reports_damage(tmp_path, pdfa):
    assert qpdf_check(pdfa) == []
    damaged = tmp_path / "损坏.pdf"
    data = PLAN.read_bytes()
    damaged.write_bytes(data[: data.rindex(b"startxref")])
    problems = qpdf_check(damaged)
    assert problems and any("startxref" in p for p in problems)
    assert not any(str(damaged) in p for p in problems), "the path prefix is removed"


def _syntax_findings(path: Path, syntax: str) -> list[str]:
    return [p for p in assess_pdfa(path, expect_part=2, syntax=syntax).violations if p.startswith("qpdf 检查发现问题")]


def test_the_in_process_syntax_check_finds_what_the_qpdf_program_finds(tmp_path, pdfa):
    """The ladder and the build's dossier check use pikepdf's libqpdf in process (`syntax="pikepdf"`); `yuetan
    verify` keeps the qpdf program. The first must report every kind of damage the second does, without the path."""
    assert _syntax_findings(pdfa, "qpdf") == [] and _syntax_findings(pdfa, "pikepdf") == []
    truncated = odd.truncated_jpeg_pdf(tmp_path / "截断.pdf")
    broken = tmp_path / "内容流损坏.pdf"
    with pikepdf.open(pdfa) as pdf:
        pdf.pages[0].Contents = pdf.make_stream(b"q 1 0 0 1 0 0 cm <zz> Tj Q")
        pdf.save(broken)
    for damaged, found in ((truncated, "jpeg"), (broken, "hexstring")):
        by_program, in_process = _syntax_findings(damaged, "qpdf"), _syntax_findings(damaged, "pikepdf")
        assert any(found in p.lower() for p in by_program), by_program
        assert any(found in p.lower() for p in in_process), in_process
        assert not any(str(damaged) in p or damaged.name in p for p in in_process), "the path is left out"
    with pytest.raises(InvalidArgument):
        assess_pdfa(pdfa, syntax="mutool")


def test_qpdf_not_installed_names_the_package(monkeypatch, pdfa):
    monkeypatch.setattr(qpdf, "QPDF", qpdf.Program("qpdf-not-installed", ("qpdf",)))
    with pytest.raises(ExternalProgramError) as exc:
        qpdf_check(pdfa)
    assert "qpdf" in exc.value.message and pdfa.name in exc.value.message
    assert "apt-get install qpdf" in exc.value.message


@pytest.mark.parametrize("key", [55665, 4330, 0, 65535])
def test_type1_decryption_is_fonttools_own(key):
    """The validator's faster Type 1 decryption gives byte for byte what fontTools' does (its per-byte step and its
    encryption), for the eexec and charstring keys and the edges of the key range."""
    import random

    from fontTools.misc import eexec

    from pipeline.pdf.type1 import type1_decrypt

    data = random.Random(key).randbytes(4099)
    state, expected = key, bytearray()
    for byte in data:
        plain, state = eexec._decryptChar(byte, state)
        expected += plain
    assert type1_decrypt(data, key) == (bytes(expected), state)
    assert type1_decrypt(eexec.encrypt(data, key)[0], key)[0] == data
    assert type1_decrypt(b"", key) == (b"", key)


def test_the_validator_uses_the_faster_decryption_wherever_it_runs():
    """Normalisation's `pikepdf.pdfa.save` validates too: importing the PDF/A module installs the decryption for it."""
    import subprocess
    import sys

    probe = "import pipeline.pdf.normalise, fontTools.misc.eexec as e; print(e.decrypt.__module__)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[1]).stdout
    assert out.strip() == "pipeline.pdf.type1"
