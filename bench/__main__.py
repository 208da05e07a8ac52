"""`make bench`: run every benchmark once, one after the other, each printing its figures.

Each module also runs alone (`python -m bench.<name> --help` where it takes options); the
engine benchmark's 1,000,000-record size takes several minutes, so it is not in this default
list (`python -m bench.engine_bench --sizes 100000 1000000`).
"""

import subprocess
import sys

BENCHMARKS: list[list[str]] = [
    ["bench.mapping_bench"],
    ["bench.fxiaoke_bench"],
    ["bench.kingdee_bench"],
    ["bench.bank_bench"],
    ["bench.audit_bench"],
    ["bench.engine_bench", "--sizes", "100000"],
]


def main() -> int:
    failed = 0
    for argv in BENCHMARKS:
        print(f"== python -m {' '.join(argv)}", flush=True)
        failed += subprocess.call([sys.executable, "-m", *argv]) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
