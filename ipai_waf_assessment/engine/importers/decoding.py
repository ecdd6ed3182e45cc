# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Decoding: bytes to text, mojibake, JSON.

Bytes are read as UTF-8 (with or without a BOM), UTF-16 with a BOM, or else as
Windows-1252 and, failing that, Latin-1 (every byte is a Latin-1 character, so this
always succeeds; a warning says which code page was assumed). NUL bytes are removed
and reported. Mojibake (UTF-8 read back as cp1252 or Latin-1, ``âœ…`` for ✅) is
repaired line by line with ftfy.
"""

import functools
import json
import re

import ftfy

from .parsed import ImportFormatError

# --------------------------------------------------------------------------- decoding


def to_text(content, warnings=None):
    """Text of ``content`` (str or bytes); the code page assumed goes to ``warnings``."""
    if isinstance(content, bytes | bytearray):
        data = bytes(content)
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            try:
                text = data.decode("utf-16")
            except UnicodeDecodeError as exc:
                raise ImportFormatError(
                    f"the file starts with a UTF-16 byte-order mark but is not UTF-16 "
                    f"({exc.reason})") from None
        else:
            if data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                line_no = data[: exc.start].count(b"\n") + 1
                try:
                    text, codec = data.decode("cp1252"), "Windows-1252"
                except UnicodeDecodeError:
                    text, codec = data.decode("latin-1"), "Latin-1"
                if warnings is not None:
                    warnings.append(f"line {line_no}: the file is not UTF-8; read as {codec}")
    elif isinstance(content, str):
        text = content
    else:
        raise ImportFormatError(f"expected text or bytes, got {type(content).__name__}")
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        if warnings is not None:
            first = text[: text.index("\x00")].count("\n") + 1
            warnings.append(f"line {first}: {text.count(chr(0))} NUL byte(s) removed")
        text = text.replace("\x00", "")
    return text


_FTFY_CONFIG = ftfy.TextFixerConfig(
    unescape_html=False, fix_latin_ligatures=False, fix_character_width=False,
    uncurl_quotes=False, fix_line_breaks=False, normalization=None, explain=False,
)
_MOJIBAKE_HINT = re.compile("[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
                            "\u02c6\u02dc\u2013-\u203a\u20ac\u2122\u221a]")


# Emoji whose invisible bytes (0x8F, 0x9D, a non-breaking space) were lost on the way:
# no decoder can restore them, so the few that reports use are listed.
LOST_BYTES = (("âš ï¸", "⚠️"), ("âš\xa0ï¸", "⚠️"), ("âš ", "⚠ "), ("⌠", "❌"), ("âŒ", "❌"),
              ("ï¸", "\ufe0f"))


def fix_mojibake(line):
    """Repair UTF-8 text that was decoded as cp1252 / Latin-1 (ftfy), if it was."""
    if not line or not _MOJIBAKE_HINT.search(line):
        return line
    return _fix_mojibake(line)


@functools.lru_cache(maxsize=4096)
def _fix_mojibake(line):
    # ftfy is the slowest step of a cell, and broken cells repeat (a status column).
    line = ftfy.fix_text(line, _FTFY_CONFIG)
    for bad, good in LOST_BYTES:
        if bad in line:
            line = line.replace(bad, good)
    return line


def load_json(content, warnings=None):
    """Parsed JSON of ``content``; ImportFormatError when it is not JSON."""
    text = to_text(content, warnings)
    if not text.strip():
        raise ImportFormatError("the file is empty; expected a JSON document")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(
            f"line {exc.lineno} column {exc.colno}: not valid JSON ({exc.msg})", exc.lineno
        ) from None
    except RecursionError:
        raise ImportFormatError(
            "the JSON is nested too deeply to be a lens or a checklist") from None


def load_object(content, key, what):
    """``(data, warnings)`` of a JSON document whose top-level object holds a ``key`` list.

    ``what`` names the expected format in the error ("an AWS custom lens: ...").
    """
    warnings = []
    data = load_json(content, warnings)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise ImportFormatError(f"not {what}")
    return data, warnings


def text_of(value):
    return value.strip() if isinstance(value, str) else ""


def slug(text, width=40):
    """Lower-case code of ``text`` that keeps letters of every script."""
    out = re.sub(r"[^\w]+", "-", (text or "").lower()).strip("-_")
    return out[:width].strip("-") or "item"
