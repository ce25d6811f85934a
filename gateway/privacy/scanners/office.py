"""Office documents: DOCX, XLSX, PPTX (OOXML) and ODT, ODS, ODP (OpenDocument).

Both are ZIP archives of XML parts. python-docx's paragraphs miss text boxes, content
controls, tracked changes, comments, footnotes and the like, so every XML part is read
(document, headers, footers, notes, comments, shared strings, sheets, slides, the data
bound to content controls, the properties), and an embedded document is read as an
attachment of its own. Pictures in a document are not read (the README says so).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import PurePath

from gateway.privacy.scanners.base import Budget, Contents, Recurse
from gateway.privacy.scanners.text import xml_text

_XML = (".xml", ".rels", ".vml")
# OOXML parts with formatting only (styles, fonts, themes, numbering, settings): their
# numbers (rsids, sizes) are no one's, and would look like phone numbers. OpenDocument
# keeps headers and footers in styles.xml, so there it is read.
_FORMATTING = re.compile(
    r"(?:^|/)(?:_rels/.*|styles|stylesWithEffects|fontTable|settings|webSettings|numbering|"
    r"presProps|viewProps|tableStyles|itemProps\d*)\.(?:xml|rels)$|(?:^|/)theme/|\.rels$"
)
_MEDIA = {".png", ".jpg", ".jpeg", ".gif", ".emf", ".wmf", ".tif", ".tiff", ".bmp", ".svg"}
# Parts that hold no text of the document: fonts, printer settings, signatures.
_NO_TEXT = {".odttf", ".ttf", ".otf", ".fntdata", ".sigs", ".psmdcp"}


def read_office(payload: bytes, *, budget: Budget, depth: int, recurse: Recurse, **_) -> Contents:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if not budget.spend(sum(i.file_size for i in infos), len(infos)):
            return Contents("", False, budget.problems[-1])
        texts: list[str] = []
        problems: list[str] = []
        ooxml = "[Content_Types].xml" in archive.namelist()
        for info in infos:
            if info.flag_bits & 0x1:
                return Contents("", False, "encrypted")
            name = info.filename
            suffix = PurePath(name.lower()).suffix
            if suffix in _MEDIA | _NO_TEXT or "printerSettings" in name or name == "mimetype":
                continue
            if ooxml and (_FORMATTING.search(name) or name == "[Content_Types].xml"):
                continue
            data = archive.read(info)
            if name.lower().endswith(_XML):
                texts.append(xml_text(data))
            elif depth < budget.limits.max_depth:  # an embedded document, a binary part
                inner = recurse(info.filename, "", data, budget, depth + 1)
                texts.append(inner.text)
                if not inner.complete:  # an OLE object, say: not read, so not clean
                    problems.append(f"{info.filename}: {inner.why}")
            else:
                problems.append("depth limit")
    return Contents("\n".join(texts), not problems, problems[0] if problems else "")
