# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""The parts of ./suite, one file per concern; ./suite itself is the command line."""
