# Writes the PTX embedded (assembly = "...") in a gpu.binary to a file.
import re
import sys

text = open(sys.argv[1]).read()
m = re.search(r'assembly = "(.*?)"(?=[,>}])', text, re.S)
if not m:
    sys.exit("no PTX assembly in " + sys.argv[1])
ptx = re.sub(r"\\([0-9A-Fa-f]{2})", lambda x: chr(int(x.group(1), 16)), m.group(1))
open(sys.argv[2], "w").write(ptx)
