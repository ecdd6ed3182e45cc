# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The Markdown token stream the reader walks: markdown-it-py's block parser with a
one-token-per-row table rule, run on chunks of the document cut at blank lines."""

import re

from markdown_it import MarkdownIt

MAX_LINE = 20_000  # longer lines are reported and not read
CHUNK_LINES = 400  # the parser runs on chunks of about this many lines
TIME_BUDGET = 1.5  # seconds of parsing before the document is refused

_CELL_SPLIT_RE = re.compile(r"(?<!\\)\|")
_DELIMITER_CELL_RE = re.compile(r"^ {0,8}:?-{1,200}:? {0,8}$")


def _row_cells(line):
    body = line.strip()
    if body.startswith("|"):
        body = body[1:]
    if body.endswith("|") and not body.endswith("\\|"):
        body = body[:-1]
    return [cell.replace("\\|", "|").strip() for cell in _CELL_SPLIT_RE.split(body)]


def _table_rule(state, start, end, silent):
    """GFM tables as one ``waf_row`` token per row (cells in ``meta``).

    markdown-it-py's own table rule emits eleven tokens per row of three cells and is
    the slowest part of reading a large report; this rule reads the same tables (a
    header row, a delimiter row, rows up to a blank line or a line without ``|``) in
    one pass.
    """
    if start + 2 > end or state.sCount[start] - state.blkIndent >= 4:
        return False
    first = state.src[state.bMarks[start] + state.tShift[start]:state.eMarks[start]]
    second = state.src[state.bMarks[start + 1] + state.tShift[start + 1]:
                       state.eMarks[start + 1]]
    if "|" not in first or "-" not in second or not set(second) <= set("|:- \t"):
        return False
    delimiter = _row_cells(second)
    if not delimiter or not all(_DELIMITER_CELL_RE.match(c) for c in delimiter):
        return False
    if silent:
        return True
    line = start + 2
    while line < end:
        text = state.src[state.bMarks[line] + state.tShift[line]:state.eMarks[line]]
        if not text.strip() or "|" not in text or state.sCount[line] - state.blkIndent >= 4:
            break
        line += 1
    token = state.push("table_open", "table", 1)
    token.map = [start, line]
    for row_line in (start, *range(start + 2, line)):
        text = state.src[state.bMarks[row_line] + state.tShift[row_line]:
                         state.eMarks[row_line]]
        token = state.push("waf_row", "tr", 0)
        token.map = [row_line, row_line + 1]
        token.meta = {"cells": _row_cells(text), "head": row_line == start}
    state.push("table_close", "table", -1)
    state.line = line
    return True


_MD = MarkdownIt("commonmark", {"maxNesting": 20})
_MD.block.ruler.before("code", "waf_table", _table_rule,
                       {"alt": ["paragraph", "reference", "blockquote", "list"]})
_MD.core.ruler.disable(["inline", "text_join"])


class _OutOfTime(Exception):
    def __init__(self, line_no):
        super().__init__(line_no)
        self.line_no = line_no


def _chunks(lines):
    """``(first line index, text)`` pieces cut at blank lines outside fenced code."""
    start, fence = 0, None
    for idx, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(("```", "~~~")):
            mark = stripped[:3]
            if fence is None:
                fence = mark
            elif fence == mark:
                fence = None
            continue
        if fence is None and not stripped and idx - start >= CHUNK_LINES:
            yield start, "\n".join(lines[start:idx])
            start = idx + 1
    if start < len(lines):
        yield start, "\n".join(lines[start:])
