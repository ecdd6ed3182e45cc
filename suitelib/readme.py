# License LGPL-3.0 or later (https://www.gnu.org/licenses/lgpl.html)
"""README.rst of each module from its readme/ fragments, as OCA's oca-gen-addon-readme
does; that tool is not on the registries this project installs from (see the root
README)."""

import ast
import re

from .common import MODULES, _module_dir, say


def build_readmes():
    """Build each module's README.rst from its readme/ fragments (as OCA's tools do)."""
    sections = [("DESCRIPTION", None), ("CONFIGURE", "Configuration"), ("USAGE", "Usage"),
                ("SECURITY", "Security"), ("ROADMAP", "Known issues / Roadmap"),
                ("CONTRIBUTORS", "Contributors")]
    for module in MODULES:
        mdir = _module_dir(module)
        manifest = ast.literal_eval((mdir / "__manifest__.py").read_text())
        title = manifest["name"]
        out = ["=" * len(title), title, "=" * len(title), "", manifest.get("summary", ""), ""]
        out += [".. contents::", "   :local:", ""]
        for frag, heading in sections:
            path = mdir / "readme" / f"{frag}.md"
            if not path.exists():
                continue
            if heading:
                out += [heading, "=" * len(heading), ""]
            out += [md_to_rst(path.read_text()), ""]
        licence = f"{manifest['license']}; see LICENSE in the repository."
        out += ["License", "=======", "", licence, ""]
        (mdir / "README.rst").write_text("\n".join(out))
        say(f"wrote {mdir / 'README.rst'}")

def md_to_rst(text):
    """The small Markdown subset our readme fragments use, as reStructuredText."""
    out = []
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            out += ["::", ""] if in_code else [""]
            continue
        if in_code:
            out.append("    " + line)
            continue
        m = re.match(r"^(#{1,4})\s+(.*)", line)
        if m:
            char = "-~^\""[len(m.group(1)) - 1]
            out += [m.group(2), char * len(m.group(2))]
            continue
        line = re.sub(r"`([^`]+)`", r"``\1``", line)
        line = re.sub(r"\[([^\]]+)\]\(([^)]+)\)", r"`\1 <\2>`_", line)
        out.append(line)
    return "\n".join(out)
