"""The README's shell examples as requests: each `curl …` line (with its continuation lines) and each
`nianbao search …`, read from the ```sh blocks of README.md, so a test can run them on the demo data.

Not a test module (no tests here); tests/test_readme_examples.py runs them.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

README = Path(__file__).resolve().parent.parent / "README.md"


@dataclass
class Example:
    line: str  # the command as written (continuations joined)
    kind: str  # "curl" or "nianbao"
    method: str = "GET"
    path: str = ""
    query: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)  # nianbao's arguments


def _commands(text: str) -> list[str]:
    """Shell commands of the ```sh blocks, continuation lines joined, comments dropped."""
    out: list[str] = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        pending = ""
        for raw in block.splitlines():
            line = raw.split("  #", 1)[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            command = (pending + line).strip()
            pending = ""
            if command:
                out.append(command)
    return out


def _curl(command: str) -> Example:
    stdin = None
    if "|" in command:  # printf '…' | curl --data-binary @- …
        left, command = command.split("|", 1)
        printed = shlex.split(left)
        stdin = printed[1].encode().decode("unicode_escape").encode("latin-1").decode("utf-8")
    tokens = shlex.split(command)[1:]
    ex = Example(line=command, kind="curl")
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("-d", "--data-urlencode"):
            key, _, value = tokens[i + 1].partition("=")
            ex.query.append((key, value))
            i += 2
        elif tok == "--data-binary":
            ex.method, ex.body = "POST", stdin if tokens[i + 1] == "@-" else tokens[i + 1]
            i += 2
        elif tok == "-H":
            name, _, value = tokens[i + 1].partition(":")
            ex.headers[name.strip()] = value.strip()
            i += 2
        elif tok in ("-o", "-X"):
            if tok == "-X":
                ex.method = tokens[i + 1]
            i += 2
        elif tok.startswith("-"):
            i += 1  # -G, -OJ, -s …
        else:
            url = urlsplit(tok if "://" in tok else "http://" + tok)
            ex.path = url.path
            ex.query = parse_qsl(url.query, keep_blank_values=True) + ex.query
            i += 1
    return ex


def examples(text: str | None = None) -> list[Example]:
    text = README.read_text("utf-8") if text is None else text
    out = []
    for command in _commands(text):
        if command.startswith("curl ") or (command.startswith("printf ") and "| curl" in command):
            out.append(_curl(command))
        elif command.startswith("nianbao search") or command.startswith(".venv/bin/nianbao search"):
            out.append(Example(line=command, kind="nianbao", argv=shlex.split(command)[1:]))
    return out
