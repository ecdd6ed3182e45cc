# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""Limits every reader applies."""

MAX_FIELD = 2000  # characters of one heading, cell or list item that regexes look at
