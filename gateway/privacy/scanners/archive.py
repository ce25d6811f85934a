"""ZIP archives and forwarded messages, read recursively within the limits.

A ZIP's files are read as attachments of their own, archives in archives to the depth
limit; the expanded size and the number of files count against the budget before a
byte is inflated (zip bombs). A forwarded message (message/rfc822, .eml) is read as a
mail client shows it: headers decoded, every text part, every attachment.
"""

from __future__ import annotations

import email
import email.policy
import io
import zipfile

from gateway.privacy.normalise import decoded_words
from gateway.privacy.scanners.base import Budget, Contents, Recurse
from gateway.privacy.scanners.text import html_to_text, readings


def _deeper(depth: int, budget: Budget) -> bool:
    return depth < budget.limits.max_depth


def read_zip(payload: bytes, *, budget: Budget, depth: int, recurse: Recurse, **_) -> Contents:
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if not budget.spend(sum(i.file_size for i in infos), len(infos)):
            return Contents("", False, budget.problems[-1])
        texts = [i.filename for i in infos]  # the names are read too
        problems = []
        for info in infos:
            if info.flag_bits & 0x1:
                problems.append(f"{info.filename}: encrypted")
                continue
            if not _deeper(depth, budget):
                problems.append("depth limit")
                break
            inner = recurse(info.filename, "", archive.read(info), budget, depth + 1)
            texts.append(inner.text)
            if not inner.complete:
                problems.append(f"{info.filename}: {inner.why}")
    return Contents("\n".join(texts), not problems, problems[0] if problems else "")


def read_message(payload: bytes, *, budget: Budget, depth: int, recurse: Recurse, **_) -> Contents:
    msg = email.message_from_bytes(payload, policy=email.policy.compat32)
    texts = [decoded_words(" ".join(str(v).split())) for v in msg.values()]
    problems = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        name = decoded_words(part.get_filename() or "")
        data = part.get_payload(decode=True) or b""
        if not name and part.get_content_maintype() == "text":
            text = "\n".join(readings(data, part.get_content_charset()))
            texts.append(html_to_text(text) if part.get_content_subtype() == "html" else text)
            continue
        if not _deeper(depth, budget):
            problems.append("depth limit")
            break
        texts.append(name)
        inner = recurse(name, part.get("Content-Type", ""), data, budget, depth + 1)
        texts.append(inner.text)
        if not inner.complete:
            problems.append(f"{name}: {inner.why}")
    return Contents("\n".join(texts), not problems, problems[0] if problems else "")
