"""Attachments in every format the privacy scanners read, each holding a given text.

Built by hand (a few lines of XML in a ZIP each), so the tests need no office suite and
control exactly where the text sits: a content control, a tracked insertion, a text
box, a comment, a footnote, a shared string, an ODF paragraph, a PDF form's boxes.
"""

from __future__ import annotations

import email.message
import io
import zipfile

W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def _zip(parts: dict[str, str | bytes], stored_first: str | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if stored_first:
            archive.writestr(stored_first, parts.pop(stored_first), zipfile.ZIP_STORED)
        for name, data in parts.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _runs(text: str) -> str:
    """Word splits text into runs anywhere: here after every third character."""
    return "".join(f"<w:r><w:t>{text[i : i + 3]}</w:t></w:r>" for i in range(0, len(text), 3))


def docx(text: str, where: str = "body") -> bytes:
    """A DOCX with `text` in one place: body, content_control, insertion, deletion,
    text_box, comment, footnote, header."""
    para = f"<w:p>{_runs(text)}</w:p>"
    places = {
        "body": para,
        "content_control": f"<w:p><w:sdt><w:sdtContent>{_runs(text)}</w:sdtContent></w:sdt></w:p>",
        "insertion": f'<w:p><w:ins w:id="1" w:author="A">{_runs(text)}</w:ins></w:p>',
        "deletion": f'<w:p><w:del w:id="1" w:author="A"><w:r><w:delText>{text}</w:delText>'
        "</w:r></w:del></w:p>",
        "text_box": "<w:p><w:r><w:pict><v:shape xmlns:v='urn:schemas-microsoft-com:vml'>"
        f"<v:textbox><w:txbxContent>{para}</w:txbxContent></v:textbox></v:shape></w:pict>"
        "</w:r></w:p>",
    }
    body = places.get(where, "<w:p><w:r><w:t>Se merknad.</w:t></w:r></w:p>")
    parts: dict[str, str | bytes] = {
        "[Content_Types].xml": "<Types/>",
        "word/document.xml": f"<w:document {W}><w:body>{body}</w:body></w:document>",
        "word/styles.xml": f'<w:styles {W}><w:rsid w:val="41234567"/></w:styles>',
    }
    extra = {"comment": "word/comments.xml", "footnote": "word/footnotes.xml",
             "header": "word/header1.xml"}  # fmt: skip
    if where in extra:
        parts[extra[where]] = f"<w:root {W}>{para}</w:root>"
    return _zip(parts)


def xlsx(text: str) -> bytes:
    return _zip(
        {
            "[Content_Types].xml": "<Types/>",
            "xl/sharedStrings.xml": f"<sst><si><t>{text[:5]}</t></si><si><t>x</t></si></sst>",
            "xl/worksheets/sheet1.xml": "<worksheet><sheetData><row><c t='s'><v>0</v></c>"
            f"<c t='inlineStr'><is><t>{text}</t></is></c></row></sheetData></worksheet>",
        }
    )


def odf(text: str, kind: str = "text") -> bytes:
    ns = 'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"'
    return _zip(
        {
            "mimetype": f"application/vnd.oasis.opendocument.{kind}",
            "content.xml": f"<office:document-content {ns} xmlns:office='urn:o'>"
            f"<text:p>{text[:4]}<text:span>{text[4:]}</text:span></text:p>"
            "</office:document-content>",
        },
        stored_first="mimetype",
    )


def pdf(lines: list[str]) -> bytes:
    """A one-page PDF with each string drawn at its own place (a box per digit)."""
    ops = " ".join(f"BT /F1 12 Tf {72 + 20 * i} 720 Td ({s}) Tj ET" for i, s in enumerate(lines))
    stream = ops.encode("latin-1", errors="ignore")  # Helvetica has no other letters
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def rtf(text: str) -> bytes:
    escaped = "".join(f"\\'{ord(c):02x}" if i % 4 == 1 else c for i, c in enumerate(text))
    return ("{\\rtf1\\ansi{\\fonttbl{\\f0 Arial;}}\\f0\\fs20 " + escaped + "\\par}").encode()


def eml(text: str, attachment: tuple[str, bytes, str] | None = None) -> bytes:
    msg = email.message.EmailMessage()
    msg["Subject"] = "Videresendt"
    msg.set_content(f"Se her: {text}")
    if attachment:
        name, data, ctype = attachment
        main, _, sub = ctype.partition("/")
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg.as_bytes()


def zip_of(files: dict[str, bytes]) -> bytes:
    return _zip(dict(files))


def formats(text: str) -> dict[str, tuple[str, bytes, str]]:
    """name -> (file name, bytes, content type), every format with `text` in it."""
    return {
        "txt": ("a.txt", text.encode(), "text/plain"),
        "utf16": ("a.txt", text.encode("utf-16-le"), "application/octet-stream"),
        "html": ("a.html", f"<div style='display:none'>{text}</div>".encode(), "text/html"),
        "xml": ("a.xml", f"<r><v>{text}</v></r>".encode(), "application/xml"),
        "rtf": ("a.rtf", rtf(text), "application/rtf"),
        "pdf": ("a.pdf", pdf([text]), "application/pdf"),
        "docx": ("a.docx", docx(text, "content_control"), "application/octet-stream"),
        "xlsx": ("a.xlsx", xlsx(text), "application/octet-stream"),
        "odt": ("a.odt", odf(text), "application/vnd.oasis.opendocument.text"),
        "ods": ("a.ods", odf(text, "spreadsheet"), "application/octet-stream"),
        "eml": ("a.eml", eml(text), "message/rfc822"),
        "zip": (
            "a.zip",
            zip_of({"inner/a.zip": zip_of({"b.txt": text.encode()})}),
            "application/zip",
        ),  # fmt: skip
    }
