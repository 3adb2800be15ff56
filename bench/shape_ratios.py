"""Per-token ratio of each shape over the standard shape (32/8/128) in the same run, from
bench_generate.py tables: python3 bench/shape_ratios.py RESULTS [EARLIER_RESULTS] (the earlier
run's ratios in parentheses)."""
import sys, re
def parse(path):
    rows = {}
    for line in open(path):
        f = line.split()
        if len(f) > 10 and f[0].isdigit() and f[2] in ('n', 'y'):
            rows[(int(f[0]), int(f[1]), f[3])] = float(f[9].rstrip('x'))
    return rows
new = parse(sys.argv[1]); old = parse(sys.argv[2]) if len(sys.argv) > 2 else {}
shapes = sorted({k[2] for k in new})
print(f"{'shape':>10} " + " ".join(f"{n//1024}K/B{b:<2}" for n in (32768, 131072) for b in (1, 4, 16)))
for sh in shapes:
    cells = []
    for n in (32768, 131072):
        for b in (1, 4, 16):
            r = new.get((n, b, sh)); s = new.get((n, b, '32/8/128'))
            o = old.get((n, b, sh)); os_ = old.get((n, b, '32/8/128'))
            c = f"{r/s:.2f}" if r and s else "-"
            if o and os_: c += f"({o/os_:.2f})"
            cells.append(f"{c:>10}")
    print(f"{sh:>10} " + " ".join(cells))
