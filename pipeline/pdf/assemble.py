"""Assembling the dossier: one PDF/A-3b holding the whole case, in archival order.

Pages of the 卷内文件 are numbered from 1; cover, file list and 备考表 carry their own page labels and
are not counted, as 文书档案 practice has it. The XMP is written whole, with a PDF/A extension schema
describing the yuetan properties, so that custom metadata stays conformant.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from xml.sax.saxutils import escape

import pikepdf
from pikepdf import Array, Dictionary, Name, String

from archive_store.durable import atomic_path

YUETAN_XMP_NS = "https://yuetan.invalid/ns/dossier/1.0/"
SRGB_FALLBACK = Path("/usr/share/color/icc/sRGB.icc")


@dataclass(frozen=True)
class DossierPart:
    """One document of the dossier, already a PDF/A file."""

    key: str                 # cover, file_list, notice, record, attachments[0], remarks
    title: str               # bookmark and file-list title
    pdf: Path
    numbered: bool = True    # counted in the 卷内 page numbers
    label: str | None = None  # page label prefix for unnumbered parts


@dataclass(frozen=True)
class EmbeddedFile:
    name: str
    data: bytes
    media_type: str
    relationship: str        # Source, Data, Supplement, Alternative
    description: str


@dataclass(frozen=True)
class DossierMetadata:
    title: str
    organizer: str
    created: datetime
    case_id: str
    notice_number: str
    target: str
    credit_code: str | None
    closed_on: str
    manifest_sha256: str


def page_count(pdf: Path) -> int:
    with pikepdf.open(pdf) as doc:
        return len(doc.pages)


def numbered_ranges(parts: list[DossierPart]) -> dict[str, tuple[int, int]]:
    """The 卷内 page range of every numbered part, as the file list prints it."""
    ranges, next_page = {}, 1
    for part in parts:
        if part.numbered:
            count = page_count(part.pdf)
            ranges[part.key] = (next_page, next_page + count - 1)
            next_page += count
    return ranges


def assemble_dossier(parts: list[DossierPart], embedded: list[EmbeddedFile], meta: DossierMetadata,
                     dest: Path) -> Path:
    """Merge the parts, add bookmarks, page labels, XMP, OutputIntent and associated files; write atomically."""
    with pikepdf.new() as dossier:
        starts = _merge(dossier, parts)
        _bookmarks(dossier, parts, starts)
        _page_labels(dossier, parts, starts)
        _output_intent(dossier)
        _associated_files(dossier, embedded)
        _metadata(dossier, meta)
        dossier.Root.Lang = String("zh-CN")
        dossier.Root.PageMode = Name.UseOutlines
        dossier.Root.MarkInfo = Dictionary(Marked=False)
        _save_atomically(dossier, dest)
    return dest


def _merge(dossier: pikepdf.Pdf, parts: list[DossierPart]) -> list[int]:
    starts = []
    for part in parts:
        starts.append(len(dossier.pages))
        with pikepdf.open(part.pdf) as source:
            for page in source.pages:
                for key in ("/StructParents", "/Tabs"):
                    if key in page.obj:
                        del page.obj[key]
                dossier.pages.append(page)
    return starts


def _bookmarks(dossier: pikepdf.Pdf, parts: list[DossierPart], starts: list[int]) -> None:
    with dossier.open_outline() as outline:
        for part, start in zip(parts, starts):
            outline.root.append(pikepdf.OutlineItem(part.title, start))


def _page_labels(dossier: pikepdf.Pdf, parts: list[DossierPart], starts: list[int]) -> None:
    nums, next_number = [], 1
    for part, start in zip(parts, starts):
        if part.numbered:
            nums += [start, Dictionary(S=Name.D, St=next_number)]
            next_number += page_count(part.pdf)
        else:
            nums += [start, Dictionary(P=String(part.label or part.title))]
    dossier.Root.PageLabels = Dictionary(Nums=Array(nums))


def _srgb_profile() -> bytes:
    try:
        return resources.files("ocrmypdf.data").joinpath("sRGB.icc").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        return SRGB_FALLBACK.read_bytes()


def _output_intent(dossier: pikepdf.Pdf) -> None:
    profile = pikepdf.Stream(dossier, _srgb_profile())
    profile.N = 3
    intent = Dictionary(Type=Name.OutputIntent, S=Name.GTS_PDFA1, OutputConditionIdentifier=String("sRGB"),
                        Info=String("sRGB IEC61966-2.1"), DestOutputProfile=profile)
    dossier.Root.OutputIntents = Array([dossier.make_indirect(intent)])


def _associated_files(dossier: pikepdf.Pdf, embedded: list[EmbeddedFile]) -> None:
    af = Array()
    for item in embedded:
        spec = pikepdf.AttachedFileSpec(dossier, item.data, description=item.description,
                                        filename=item.name, mime_type=item.media_type)
        dossier.attachments[item.name] = spec
        filespec = dossier.attachments[item.name].obj   # the name tree is sorted: look the spec up by name
        filespec.AFRelationship = Name("/" + item.relationship)
        filespec.UF = String(item.name)
        af.append(filespec)
    dossier.Root.AF = af


def _metadata(dossier: pikepdf.Pdf, meta: DossierMetadata) -> None:
    created = meta.created.isoformat(timespec="seconds")
    xmp = XMP_TEMPLATE.format(
        ns=YUETAN_XMP_NS, title=escape(meta.title), creator=escape(meta.organizer), created=created,
        case_id=escape(meta.case_id), notice_number=escape(meta.notice_number), target=escape(meta.target),
        credit_code=escape(meta.credit_code or ""), closed_on=escape(meta.closed_on),
        manifest=meta.manifest_sha256)
    stream = pikepdf.Stream(dossier, xmp.encode("utf-8"))
    stream.Type, stream.Subtype = Name.Metadata, Name.XML
    dossier.Root.Metadata = dossier.make_indirect(stream)
    pdf_date = meta.created.strftime("D:%Y%m%d%H%M%S") + _pdf_offset(meta.created)
    dossier.trailer.Info = dossier.make_indirect(Dictionary(
        Title=String(meta.title), Author=String(meta.organizer), Creator=String("yuetan"),
        Producer=String("yuetan (pikepdf)"), CreationDate=String(pdf_date), ModDate=String(pdf_date)))


def _pdf_offset(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None:
        return "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}'{abs(minutes) % 60:02d}'"


def _save_atomically(dossier: pikepdf.Pdf, dest: Path) -> None:
    with atomic_path(dest) as tmp:
        dossier.save(tmp, fix_metadata_version=False, deterministic_id=True,
                     object_stream_mode=pikepdf.ObjectStreamMode.preserve)


XMP_TEMPLATE = """<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
    xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/"
    xmlns:yuetan="{ns}"
    xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
    xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
    xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
   <pdfaid:part>3</pdfaid:part>
   <pdfaid:conformance>B</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{title}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{creator}</rdf:li></rdf:Seq></dc:creator>
   <dc:language><rdf:Bag><rdf:li>zh-CN</rdf:li></rdf:Bag></dc:language>
   <xmp:CreateDate>{created}</xmp:CreateDate>
   <xmp:ModifyDate>{created}</xmp:ModifyDate>
   <xmp:MetadataDate>{created}</xmp:MetadataDate>
   <xmp:CreatorTool>yuetan</xmp:CreatorTool>
   <pdf:Producer>yuetan (pikepdf)</pdf:Producer>
   <yuetan:caseId>{case_id}</yuetan:caseId>
   <yuetan:noticeNumber>{notice_number}</yuetan:noticeNumber>
   <yuetan:target>{target}</yuetan:target>
   <yuetan:creditCode>{credit_code}</yuetan:creditCode>
   <yuetan:closedOn>{closed_on}</yuetan:closedOn>
   <yuetan:manifestSha256>{manifest}</yuetan:manifestSha256>
   <pdfaExtension:schemas>
    <rdf:Bag>
     <rdf:li rdf:parseType="Resource">
      <pdfaSchema:schema>yuetan interview dossier</pdfaSchema:schema>
      <pdfaSchema:namespaceURI>{ns}</pdfaSchema:namespaceURI>
      <pdfaSchema:prefix>yuetan</pdfaSchema:prefix>
      <pdfaSchema:property>
       <rdf:Seq>
        <rdf:li rdf:parseType="Resource"><pdfaProperty:name>caseId</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>case id of the organizer</pdfaProperty:description></rdf:li>
        <rdf:li rdf:parseType="Resource"><pdfaProperty:name>noticeNumber</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>notice number</pdfaProperty:description></rdf:li>
        <rdf:li rdf:parseType="Resource"><pdfaProperty:name>target</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>interviewed party</pdfaProperty:description></rdf:li>
        <rdf:li rdf:parseType="Resource"><pdfaProperty:name>creditCode</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>unified social credit code</pdfaProperty:description></rdf:li>
        <rdf:li rdf:parseType="Resource"><pdfaProperty:name>closedOn</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>date the case was closed</pdfaProperty:description></rdf:li>
        <rdf:li rdf:parseType="Resource"><pdfaProperty:name>manifestSha256</pdfaProperty:name><pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external</pdfaProperty:category><pdfaProperty:description>sha256 of the canonical manifest JSON</pdfaProperty:description></rdf:li>
       </rdf:Seq>
      </pdfaSchema:property>
     </rdf:li>
    </rdf:Bag>
   </pdfaExtension:schemas>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
