# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""What the three parsers share, one file per concern (this module gathers them, so
``from .common import ...`` keeps working):

- ``parsed.py``: the parsed-report classes and the format error;
- ``decoding.py``: bytes to text, mojibake, JSON;
- ``statuses.py``: what a status cell says;
- ``pillars.py``: pillars, frameworks, scores and grades named in a report;
- ``plans.py``: roadmaps and risk registers;
- ``limits.py``: the characters of one field that regexes look at.
"""

from .decoding import (  # noqa: F401
    _FTFY_CONFIG,
    _MOJIBAKE_HINT,
    LOST_BYTES,
    _fix_mojibake,
    fix_mojibake,
    load_json,
    load_object,
    slug,
    text_of,
    to_text,
)
from .limits import MAX_FIELD  # noqa: F401
from .parsed import (  # noqa: F401
    ImportFormatError,
    ParsedControl,
    ParsedFinding,
    ParsedPillarScore,
    ParsedRecommendation,
    ParsedReport,
    ParsedRisk,
    ParsedStatedScore,
)
from .pillars import (  # noqa: F401
    _CANDIDATE_CACHE,
    _GRADE_RE,
    _NON_WORD_RE,
    _PREFIX_RE,
    _SCORE_RE,
    _SCORE_WORD_RE,
    _SUFFIX_WORDS,
    DEFAULT_PILLAR_ALIASES,
    DEFAULT_PILLARS,
    FRAMEWORK_ALIASES,
    _match_pillar,
    _pillar_candidates,
    _strip_suffix,
    clean_heading,
    match_framework,
    match_pillar,
    norm,
    parse_grade,
    parse_score,
)
from .plans import (  # noqa: F401
    _GAIN_RE,
    _LINK_RE,
    _NUMBER_UNIT_RE,
    _QUARTER_RE,
    _RANGE_RE,
    _UNIT_DAYS,
    _URL_RE,
    IMPACT_WORDS,
    LIKELIHOOD_WORDS,
    PLAN_STATE_WORDS,
    PRIORITY_WORDS,
    RISK_STATE_WORDS,
    SEVERITY_WORDS,
    _phase_of_days,
    _scale_key,
    empty_cell,
    extract_url,
    parse_date,
    parse_effort,
    parse_gain,
    parse_phase,
    parse_plan_state,
    parse_priority,
    risk_state,
    scale_value,
    severity_value,
    strip_gain,
    unlink,
)
from .statuses import (  # noqa: F401
    _WORDS_BY_FIRST,
    COLOUR_MARKERS,
    NA_REASON_WORDS,
    SCORE_BANDS,
    STATUS_MARKERS,
    STATUS_WORDS,
    VARIATION_SELECTORS,
    StatusError,
    StatusReading,
    _read_status,
    _read_status_uncached,
    _strip_symbols,
    _word_status,
    clean_inline,
    has_status_marker,
    na_reason_for,
    normalize_status,
    read_status,
    status_for_score,
)
