"""Java regular expressions (Databricks ``RLIKE``) as PostgreSQL ARE and RE2 patterns.

A quality rule's pattern is written as on Databricks: ``java.util.regex`` and a find
anywhere in the value. :func:`translate` parses it and emits a pattern with the same
meaning for PostgreSQL's ``~`` (views: the staging table) and for DuckDB's RE2
``regexp_matches`` (tables on the local lakehouse). What cannot be given Java's exact
meaning on both engines raises :class:`UnsupportedRegex`, naming the construct and its
position. No maintained library converts Java regexes to these two flavours, hence this
small hand-written parser.

How Java's meaning is kept:

- no engine flag is used: ``(?i)`` (Java: ASCII letters only) is expanded into classes
  (``a`` -> ``[aA]``); ``\\d \\w \\s \\h \\v`` and ``\\p{Alpha}``-style classes become
  their ASCII (or Java-listed) code points; ``.`` excludes Java's line terminators;
- every literal is escaped per engine; lazy quantifiers are emitted greedy (only whether
  a match exists is asked, which laziness does not change); groups do not capture;
- ``$`` / ``\\Z`` (end, or before a final line terminator, never between ``\\r`` and
  ``\\n``) is allowed where nothing can follow it; values ending in ``\\r\\n`` use a
  second pattern (:attr:`Translation.crlf_pattern`);
- ``\\b`` / ``\\B`` use Java 17's word characters (Unicode letters and decimal digits,
  ``_``, and non-spacing marks after a letter or digit), written as explicit code point
  classes (Python's Unicode tables) and applied to the character beside the match, so
  they are allowed at the start or end of the pattern, or between two atoms whose ASCII
  characters decide the boundary.
"""

import dataclasses
import functools
import unicodedata

MAX_REPEAT = 255  # PostgreSQL's limit for {m,n}
MAX_CODE = 0x10FFFF
TERMINATORS = "\n\r\u0085\u2028\u2029"  # Java's line terminators (no UNIX_LINES)
DIALECTS = ("postgres", "duckdb")


class UnsupportedRegex(ValueError):
    """A pattern (or a part of it) that cannot mean on both engines what it means in Java."""

    def __init__(self, construct, text, position, reason):
        self.construct, self.text, self.position, self.reason = construct, text, position, reason
        super().__init__("%s '%s' at position %d is not supported: %s"
                         % (construct, text, position, reason))


@dataclasses.dataclass(frozen=True)
class Translation:
    pattern: str
    crlf_pattern: str | None = None  # for values ending in "\r\n", when the pattern has $


# -- code point sets: sorted, merged, inclusive (lo, hi) ranges ---------------------------

def _norm(ranges):
    out = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _neg(ranges):
    out, nxt = [], 0
    for lo, hi in _norm(ranges):
        if lo > nxt:
            out.append((nxt, lo - 1))
        nxt = hi + 1
    if nxt <= MAX_CODE:
        out.append((nxt, MAX_CODE))
    return tuple(out)


def _chars(text):
    return _norm((ord(c), ord(c)) for c in text)


def _fold(ranges):
    """Java's CASE_INSENSITIVE without UNICODE_CASE: ASCII letters match their other case."""
    extra = []
    for lo, hi in ranges:
        for c in range(max(lo, 65), min(hi, 122) + 1):
            ch = chr(c)
            if ch.isascii() and ch.isalpha():
                extra.append((ord(ch.swapcase()),) * 2)
    return _norm(list(ranges) + extra)


def _within(ranges, allowed):
    return all(any(a <= lo and hi <= b for a, b in allowed) for lo, hi in ranges)


DIGIT = ((48, 57),)
WORD = _norm([(48, 57), (65, 90), (95, 95), (97, 122)])
ALNUM = _norm([(48, 57), (65, 90), (97, 122)])
SPACE = _chars(" \t\n\x0b\f\r")
HSPACE = _norm(list(_chars(" \t\xa0\u1680\u180e\u202f\u205f\u3000")) + [(0x2000, 0x200A)])
VSPACE = _chars("\n\x0b\f\r\x85\u2028\u2029")
ASCII_ALL = ((0, 127),)
POSIX = {  # Java's \p{...} POSIX names: US-ASCII only
    "Lower": ((97, 122),), "Upper": ((65, 90),), "ASCII": ASCII_ALL,
    "Alpha": _norm([(65, 90), (97, 122)]), "Digit": DIGIT, "Alnum": ALNUM,
    "Punct": _chars("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    "Graph": ((33, 126),), "Print": ((32, 126),), "Blank": _chars(" \t"),
    "Cntrl": ((0, 31), (127, 127)), "XDigit": _norm([(48, 57), (65, 70), (97, 102)]),
    "Space": SPACE,
}


@functools.cache
def _unicode(kind):
    """Code points of Unicode letters + decimal digits ('LNd') or non-spacing marks ('Mn')."""
    cats = {"LNd": ("Lu", "Ll", "Lt", "Lm", "Lo", "Nd"), "Mn": ("Mn",)}[kind]
    ranges = []
    for c in range(MAX_CODE + 1):
        if unicodedata.category(chr(c)) in cats:
            ranges.append((c, c))
    return _norm(ranges)


# -- parser --------------------------------------------------------------------------------
# Nodes: ("set", ranges) ("seq", [..]) ("alt", [..]) ("rep", node, min, max)
#        ("bos",) ("eos",) ("eol",) ("wb", negated, position) ("raw", {dialect: text})

class _Parser:
    def __init__(self, pattern):
        self.p = pattern
        self.i = 0
        self.ci = False
        self.dotall = False

    def refuse(self, construct, text, reason, pos=None):
        raise UnsupportedRegex(construct, text, self.i if pos is None else pos, reason)

    def peek(self, k=0):
        j = self.i + k
        return self.p[j] if j < len(self.p) else ""

    def parse(self):
        node = self.alternation()
        if self.i < len(self.p):  # only an unmatched ')' stops the top level early
            self.refuse("unmatched parenthesis", ")", "Java refuses it too")
        return node

    def alternation(self):
        branches = [self.sequence()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence())
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self):
        items = []
        while self.i < len(self.p) and self.peek() not in "|)":
            start = self.i
            atom = self.atom()
            if atom is None:
                continue
            items.append(self.quantified(atom, start))
        return ("seq", items)

    def quantified(self, atom, start):
        c = self.peek()
        if not c or c not in "*+?{":
            return atom
        pos = self.i
        if c == "{":
            end = self.p.find("}", self.i)
            body = self.p[self.i + 1:end] if end > 0 else ""
            lo, sep, hi = body.partition(",")
            if end < 0 or not lo.isdigit() or (hi and not hi.isdigit()):
                self.refuse("repetition", self.p[self.i:self.i + 2],
                            "'{' must start {n}, {n,} or {n,m} (Java refuses it otherwise)")
            mn = int(lo)
            mx = None if sep and not hi else int(hi or lo)
            if mx is not None and mx < mn:
                self.refuse("repetition", "{%s}" % body, "the maximum is under the minimum")
            if max(mn, mx or 0) > MAX_REPEAT:
                self.refuse("repetition", "{%s}" % body,
                            "PostgreSQL allows at most %d repetitions" % MAX_REPEAT)
            self.i = end + 1
        else:
            mn, mx = {"*": (0, None), "+": (1, None), "?": (0, 1)}[c]
            self.i += 1
        text = self.p[pos:self.i]
        if self.peek() == "+":
            self.refuse("possessive quantifier", text + "+",
                        "PostgreSQL and RE2 have no possessive quantifiers", pos)
        if self.peek() == "?":
            self.i += 1  # lazy: the same matches exist, so the same answer
        if atom[0] in ("bos", "eos", "eol", "wb"):
            self.refuse("quantifier on an anchor", text, "it repeats nothing", pos)
        if self.peek() in ("*", "+", "?", "{"):
            self.refuse("repeated quantifier", self.p[pos:self.i + 1],
                        "Java reads it differently from PostgreSQL; use a group", pos)
        if _has(atom, "eol") and (mx is None or mx > 1):
            self.refuse("quantified group with '$'", text, "something would follow '$'", pos)
        return ("rep", atom, mn, mx)

    def atom(self):
        c = self.peek()
        pos = self.i
        if c == "(":
            return self.group()
        if c == "[":
            return ("set", self.char_class())
        if c == "\\":
            return self.escape()
        self.i += 1
        if c == ".":
            return ("set", ((0, MAX_CODE),) if self.dotall else _neg(_chars(TERMINATORS)))
        if c == "^":
            return ("bos",)
        if c == "$":
            return ("eol", pos)
        if c in "*+?":
            self.refuse("quantifier without operand", c, "Java refuses it too", pos)
        if c == "{":
            self.refuse("repetition", c, "nothing to repeat (Java refuses it too)", pos)
        return self.literal(ord(c))

    def literal(self, code):
        if 0xD800 <= code <= 0xDFFF:
            self.refuse("surrogate", "\\u%04X" % code, "text has no lone surrogates",
                        self.i - 1)
        ranges = ((code, code),)
        return ("set", _fold(ranges) if self.ci else ranges)

    def group(self):
        pos = self.i
        self.i += 1
        saved = (self.ci, self.dotall)
        if self.peek() == "?":
            nxt = self.peek(1)
            if nxt == ":":
                self.i += 2
            elif nxt == "<" and self.peek(2) not in ("=", "!"):
                end = self.p.find(">", self.i)
                name = self.p[self.i + 2:end] if end > 0 else ""
                if not (name[:1].isascii() and name[:1].isalpha() and name.isalnum()):
                    self.refuse("group name", self.p[pos:end + 1], "Java refuses it", pos)
                self.i = end + 1  # named group: no backreference is allowed, so plain group
            elif nxt in ("=", "!") or (nxt == "<" and self.peek(2) in ("=", "!")):
                text = self.p[pos:self.i + (3 if nxt == "<" else 2)]
                kind = "lookbehind" if nxt == "<" else "lookahead"
                self.refuse(kind, text, "RE2 (DuckDB) has no lookaround", pos)
            elif nxt == ">":
                self.refuse("atomic group", "(?>", "PostgreSQL and RE2 have no atomic groups",
                            pos)
            else:
                if not self.flags(pos):  # (?i) alone: for the rest of the enclosing group
                    return None
        body = self.alternation()
        if self.peek() != ")":
            self.refuse("unclosed group", self.p[pos:pos + 2], "Java refuses it too", pos)
        self.i += 1
        self.ci, self.dotall = saved
        return body if body[0] != "seq" else ("seq", [body])

    def flags(self, pos):
        """``(?i)``, ``(?-i)``, ``(?is:`` ...; returns True for the scoped ``(?flags:`` form."""
        self.i += 1
        on = True
        while self.peek() and self.peek() not in ":)":
            f = self.peek()
            if f == "-" and on:
                on = False
            elif f == "i":
                self.ci = on
            elif f == "s":
                self.dotall = on
            else:
                end = self.p.find(")", pos)
                reason = {"m": "MULTILINE ^ and $ are not translated",
                          "x": "comments mode is not translated",
                          "u": "UNICODE_CASE is not translated (without it (?i) is ASCII)",
                          "d": "UNIX_LINES is not translated",
                          "U": "UNICODE_CHARACTER_CLASS is not translated",
                          "c": "canonical equivalence is not translated"}.get(
                              f, "Java knows no such flag")
                self.refuse("embedded flag", self.p[pos:end + 1 if end > 0 else pos + 3],
                            reason, pos)
            self.i += 1
        if not self.peek():
            self.refuse("unclosed group", self.p[pos:pos + 2], "Java refuses it too", pos)
        self.i += 1
        return self.p[self.i - 1] == ":"

    def hex_code(self, text, pos, code):
        if code > MAX_CODE:
            self.refuse("escape", text, "beyond U+10FFFF", pos)
        return code

    def char_escape(self):
        """A character escape after '\\' at self.i (the letter); returns a code point or None."""
        pos = self.i - 1
        c = self.peek()
        simple = {"t": 9, "n": 10, "r": 13, "f": 12, "a": 7, "e": 27}
        if c in simple:
            self.i += 1
            return simple[c]
        if c == "0":
            j = self.i + 1
            digits = ""
            while j < len(self.p) and self.p[j] in "01234567" and len(digits) < 3:
                digits += self.p[j]
                j += 1
            if len(digits) == 3 and digits[0] > "3":
                digits = digits[:2]
            if not digits:
                self.refuse("octal escape", "\\0", "it needs octal digits", pos)
            self.i += 1 + len(digits)
            return int(digits, 8)
        if c == "x":
            if self.peek(1) == "{":
                end = self.p.find("}", self.i)
                body = self.p[self.i + 2:end] if end > 0 else ""
                if not body or any(ch not in "0123456789abcdefABCDEF" for ch in body):
                    self.refuse("escape", "\\x{", "malformed hexadecimal escape", pos)
                self.i = end + 1
                return self.hex_code(self.p[pos:self.i], pos, int(body, 16))
            body = self.p[self.i + 1:self.i + 3]
            if len(body) < 2 or any(ch not in "0123456789abcdefABCDEF" for ch in body):
                self.refuse("escape", "\\x", "\\x needs two hexadecimal digits", pos)
            self.i += 3
            return int(body, 16)
        if c == "u":
            body = self.p[self.i + 1:self.i + 5]
            if len(body) < 4 or any(ch not in "0123456789abcdefABCDEF" for ch in body):
                self.refuse("escape", "\\u", "\\u needs four hexadecimal digits", pos)
            self.i += 5
            return int(body, 16)
        if c == "c":
            nxt = self.peek(1)
            if not nxt:
                self.refuse("escape", "\\c", "a control character is missing", pos)
            self.i += 2
            return ord(nxt) ^ 64
        if not c.isascii() or not c.isalnum():
            self.i += 1
            return ord(c)
        return None

    def class_escape(self):
        """A class escape after '\\' (``\\d``, ``\\p{Alpha}`` ...); returns ranges or None."""
        pos = self.i - 1
        c = self.peek()
        table = {"d": DIGIT, "w": WORD, "s": SPACE, "h": HSPACE, "v": VSPACE}
        if c.lower() in table:
            self.i += 1
            ranges = table[c.lower()]
            return _neg(ranges) if c.isupper() else ranges
        if c in "pP":
            if self.peek(1) == "{":
                end = self.p.find("}", self.i)
                name = self.p[self.i + 2:end] if end > 0 else ""
                text = self.p[pos:end + 1]
            else:
                name, text = self.peek(1), self.p[pos:self.i + 2]
            if name not in POSIX:
                self.refuse("character property", text,
                            "PostgreSQL has no Unicode properties; the ASCII names "
                            "(\\p{Alpha}, \\p{Digit}, \\p{Punct} ...) are translated", pos)
            if self.ci and name in ("Lower", "Upper"):
                self.refuse("character property", text,
                            "its meaning under (?i) is not translated", pos)
            self.i = (end + 1) if self.peek(1) == "{" else self.i + 2
            return _neg(POSIX[name]) if c == "P" else POSIX[name]
        return None

    def escape(self):
        pos = self.i
        self.i += 1
        c = self.peek()
        if not c:
            self.refuse("escape", "\\", "the pattern ends with a backslash", pos)
        if c == "Q":
            end = self.p.find("\\E", self.i)
            end = len(self.p) if end < 0 else end
            text = self.p[self.i + 1:end]
            self.i = min(end + 2, len(self.p))
            return ("seq", [self.literal_of(ch) for ch in text])
        if c == "A":
            self.i += 1
            return ("bos",)
        if c == "z":
            self.i += 1
            return ("eos",)
        if c == "Z":
            self.i += 1
            return ("eol", pos)
        if c in "bB":
            if self.peek(1) == "{":
                self.refuse("boundary", self.p[pos:pos + 4],
                            "grapheme boundaries are not translated", pos)
            self.i += 1
            return ("wb", c == "B", pos)
        ranges = self.class_escape()
        if ranges is not None:
            return ("set", ranges)
        code = self.char_escape()
        if code is not None:
            return self.literal(code)
        reasons = {
            "R": "Java's \\R is atomic; write (?:\\r\\n|[\\n\\x0B\\f\\r\\x85\\u2028\\u2029])",
            "X": "grapheme clusters are not translated",
            "G": "there is no previous match in a rule",
            "k": "RE2 (DuckDB) has no backreferences",
            "N": "named characters are not translated",
        }
        if c.isdigit():
            self.refuse("backreference", "\\" + c, "RE2 (DuckDB) has no backreferences", pos)
        self.refuse("escape", "\\" + c, reasons.get(c, "Java knows no such escape"), pos)
        return None

    def literal_of(self, ch):
        return ("set", _fold(_chars(ch)) if self.ci else _chars(ch))

    def char_class(self):
        pos = self.i
        self.i += 1
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        ranges = []
        first = True
        while True:
            c = self.peek()
            if not c:
                self.refuse("unclosed character class", "[", "Java refuses it too", pos)
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "[":
                self.refuse("nested character class", self.p[self.i:self.i + 2],
                            "class union is not translated ('[[:alpha:]]' is not a POSIX "
                            "class in Java: use \\p{Alpha})")
            if c == "&" and self.peek(1) == "&":
                self.refuse("character class intersection", "&&",
                            "class intersection is not translated")
            item_pos = self.i
            lo = self.class_char()
            if isinstance(lo, tuple):
                ranges.extend(lo)
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", "[", ""):
                self.i += 1
                if self.peek() == "&" and self.peek(1) == "&":
                    self.refuse("character class intersection", "&&",
                                "class intersection is not translated")
                hi = self.class_char()
                if isinstance(hi, tuple):
                    self.refuse("character range", self.p[item_pos:self.i],
                                "a range must end with a character", item_pos)
                if hi < lo:
                    self.refuse("character range", self.p[item_pos:self.i],
                                "illegal range (Java refuses it too)", item_pos)
                ranges.append((lo, hi))
            else:
                ranges.append((lo, lo))
        ranges = _norm(ranges)
        if self.ci:
            ranges = _fold(ranges)
        return _neg(ranges) if negated else ranges

    def class_char(self):
        """One class member: a code point, or a tuple of ranges for ``\\d`` and the like."""
        c = self.peek()
        if c != "\\":
            self.i += 1
            if 0xD800 <= ord(c) <= 0xDFFF:
                self.refuse("surrogate", c, "text has no lone surrogates", self.i - 1)
            return ord(c)
        pos = self.i
        self.i += 1
        ranges = self.class_escape()
        if ranges is not None:
            return ranges
        code = self.char_escape()
        if code is None:
            self.refuse("escape in a character class", self.p[pos:pos + 2],
                        "it is not translated inside [...]", pos)
        return code


def _has(node, kind):
    if node[0] == kind:
        return True
    if node[0] in ("seq", "alt"):
        return any(_has(n, kind) for n in node[1])
    return node[0] == "rep" and _has(node[1], kind)


# -- first/last characters, for \b ---------------------------------------------------------

def _edge(node, last):
    """The code points the node's first (or last) character comes from; None if unknown
    (the node may match nothing, or starts with an anchor)."""
    kind = node[0]
    if kind == "set":
        return node[1]
    if kind == "rep":
        return _edge(node[1], last) if node[2] >= 1 else None
    if kind == "seq":
        items = node[1]
        if not items:
            return None
        return _edge(items[-1] if last else items[0], last)
    if kind == "alt":
        sets = [_edge(b, last) for b in node[1]]
        if any(s is None for s in sets):
            return None
        return _norm([r for s in sets for r in s])
    return None


def _ascii_class(ranges):
    """'alnum', 'under', 'nonword' for a set of ASCII characters of one kind, else None."""
    if ranges is None or not _within(ranges, ASCII_ALL):
        return None
    if _within(ranges, ALNUM):
        return "alnum"
    if ranges == ((95, 95),):
        return "under"
    if not any(lo <= b and a <= hi for lo, hi in ranges for a, b in WORD):
        return "nonword"
    return None


def _resolve_boundaries(node, top=True):
    """Replace each ``\\b``/``\\B`` with an equivalent node, or refuse it."""
    kind = node[0]
    if kind == "alt":
        return ("alt", [_resolve_boundaries(b, top) for b in node[1]])
    if kind == "rep":
        return ("rep", _resolve_boundaries(node[1], False), node[2], node[3])
    if kind != "seq":
        return node
    items = [_resolve_boundaries(n, False) if n[0] != "wb" else n for n in node[1]]
    out = []
    for k, item in enumerate(items):
        if item[0] != "wb":
            out.append(item)
            continue
        _, negated, pos = item
        text = "\\B" if negated else "\\b"
        replacement = _boundary(_side(items[:k], top, "bos", True),
                                _side(items[k + 1:], top, ("eos", "eol"), False), negated)
        if replacement is False:
            raise UnsupportedRegex("word boundary", text, pos,
                                   "it can never hold here, so the pattern never matches")
        if replacement is None:
            raise UnsupportedRegex(
                "word boundary", text, pos,
                "it is translated only at the start or end of the pattern or between two "
                "atoms whose ASCII characters are all word or all non-word characters")
        if replacement is not True:
            out.append(replacement)
    return ("seq", out)


def _side(items, top, anchors, last):
    """What is on one side of a boundary: 'start'/'end' (only anchors there), 'outside'
    (nothing: the text beside the match, at the top level), or the ASCII kind of the
    adjacent atom's characters; None when unknown."""
    if all(n[0] in anchors for n in items):
        if items:
            return "start" if last else "end"
        return "outside" if top else None
    return _ascii_class(_edge(items[-1] if last else items[0], last))


def _lnd():
    return ("set", _unicode("LNd"))


def _boundary(left, right, negated):
    """A node for ``\\b`` (or ``\\B``) between ``left`` and ``right``: each 'alnum',
    'under', 'nonword' (ASCII characters of the pattern), 'start'/'end' (of the text),
    'outside' (the text beside the match, unknown); True when always met, False never."""
    word = {"alnum": True, "under": True, "nonword": False, "start": False, "end": False}
    if left in word and right in word:
        return (word[left] != word[right]) != negated
    lnd = _unicode("LNd")
    mn = _unicode("Mn")
    under = ((95, 95),)
    if left == "outside" and right in word:
        # Java 17: the character before is a word character if it is a letter, a digit or
        # '_', or a non-spacing mark after a letter or digit (through other marks).
        word_before = ("alt", [("set", _norm(lnd + under)),
                               ("seq", [_lnd(), ("rep", ("set", mn), 1, None)])])
        nonword_before = ("alt", [("bos",), ("set", _neg(lnd + mn + under)),
                                  ("seq", [("alt", [("bos",), ("set", _neg(lnd + mn))]),
                                           ("rep", ("set", mn), 1, None)])])
        want_word = word[right] == negated  # \b: the other kind; \B: the same kind
        return word_before if want_word else nonword_before
    if right == "outside" and left in word:
        # A mark after the match is a word character only after a letter or digit.
        word_after = _norm(lnd + under + (mn if left == "alnum" else ()))
        want_word = word[left] == negated
        return ("set", word_after) if want_word else ("alt", [("eos",), ("set",
                                                                          _neg(word_after))])
    return None


# -- emitter -------------------------------------------------------------------------------

def _char(code, dialect):
    ch = chr(code)
    if ch.isascii() and ch.isalnum():
        return ch
    if dialect == "postgres":
        return "\\u%04X" % code if code <= 0xFFFF else "\\U%08X" % code
    return "\\x{%X}" % code


def _split_surrogates(ranges):
    out = []
    for lo, hi in ranges:
        if hi < 0xD800 or lo > 0xDFFF:
            out.append((lo, hi))
            continue
        if lo < 0xD800:
            out.append((lo, 0xD7FF))
        if hi > 0xDFFF:
            out.append((0xE000, hi))
    return out


def _emit_set(ranges, dialect):
    ranges = _split_surrogates(ranges)
    if not ranges:
        return None
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _char(ranges[0][0], dialect)
    positive = ranges
    negative = _split_surrogates(_neg(ranges))
    use_neg = len(negative) < len(positive)
    body = "".join(_char(lo, dialect) if lo == hi else
                   "%s-%s" % (_char(lo, dialect), _char(hi, dialect))
                   for lo, hi in (negative if use_neg else positive))
    if use_neg and not body:
        return "[\\s\\S]" if dialect == "duckdb" else "[\\u0000-\\U0010FFFF]"
    return "[%s%s]" % ("^" if use_neg else "", body)


def _emit(node, dialect, crlf):
    kind = node[0]
    if kind == "set":
        text = _emit_set(node[1], dialect)
        if text is None:
            raise UnsupportedRegex("empty character class", "[]", 0, "it never matches")
        return text
    if kind == "bos":
        return "\\A"
    eos = "\\Z" if dialect == "postgres" else "\\z"
    if kind == "eos":
        return eos
    if kind == "eol":  # Java's $: end, or before the final line terminator
        if crlf:
            return "(?:%s%s)?%s" % (_char(13, dialect), _char(10, dialect), eos)
        return "%s?%s" % (_emit_set(_chars(TERMINATORS), dialect), eos)
    if kind == "seq":
        return "".join(_emit(n, dialect, crlf) for n in node[1])
    if kind == "alt":
        return "(?:%s)" % "|".join(_emit(b, dialect, crlf) for b in node[1])
    if kind == "rep":
        inner = _emit(node[1], dialect, crlf)
        if not (node[1][0] == "set" or (node[1][0] == "alt")):
            inner = "(?:%s)" % inner
        mn, mx = node[2], node[3]
        quant = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get(
            (mn, mx), "{%d}" % mn if mn == mx else "{%d,%s}" % (mn, "" if mx is None else mx))
        return inner + quant
    raise AssertionError(kind)


def _check_dollar(node, tail=True):
    """``$`` only where nothing can follow it (its own group, then up to the end)."""
    kind = node[0]
    if kind == "eol" and not tail:
        raise UnsupportedRegex("end anchor", "$", node[1],
                               "Java's '$' is translated only where nothing follows it")
    if kind == "alt":
        for b in node[1]:
            _check_dollar(b, tail)
    elif kind == "rep":
        _check_dollar(node[1], tail and (node[3] or 2) <= 1)
    elif kind == "seq":
        for k, item in enumerate(node[1]):
            _check_dollar(item, tail and k == len(node[1]) - 1)


def parse(pattern):
    """The node tree of a Java pattern, with word boundaries resolved; raises UnsupportedRegex."""
    if not isinstance(pattern, str) or not pattern:
        raise UnsupportedRegex("pattern", "", 0, "it is empty")
    if "\x00" in pattern:
        raise UnsupportedRegex("NUL character", "\\x00", pattern.index("\x00"),
                               "text values cannot contain it")
    tree = _Parser(pattern).parse()
    _check_dollar(tree)
    return _resolve_boundaries(tree)


def translate(pattern, dialect):
    """The Java ``pattern`` as a :class:`Translation` for ``postgres`` or ``duckdb``."""
    if dialect not in DIALECTS:
        raise ValueError("dialect must be postgres or duckdb")
    tree = parse(pattern)
    main = _emit(tree, dialect, crlf=False)
    crlf = _emit(tree, dialect, crlf=True) if _has(tree, "eol") else None
    return Translation(main, crlf)


def check(pattern):
    """Raise UnsupportedRegex when ``pattern`` cannot be used in a rule (both engines)."""
    for dialect in DIALECTS:
        translate(pattern, dialect)


__all__ = ["Translation", "UnsupportedRegex", "check", "parse", "translate"]
