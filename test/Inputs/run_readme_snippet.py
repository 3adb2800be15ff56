"""Runs the README's Python block (after the "readme-snippet" marker) with "attn.so"
replaced by the library given: the README's Python example is tested as written.
Usage: run_readme_snippet.py README.md LIBRARY.so"""
import re
import sys

readme, lib = sys.argv[1], sys.argv[2]
text = open(readme).read()
m = re.search(r"<!-- readme-snippet.*?-->\s*```python\n(.*?)```", text, re.S)
if not m:
    sys.exit("no readme-snippet block in " + readme)
code = m.group(1)
if '"attn.so"' not in code:
    sys.exit("the snippet does not load \"attn.so\"")
exec(compile(code.replace('"attn.so"', repr(lib)), readme + ":snippet", "exec"), {})
