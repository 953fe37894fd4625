"""Time ``allocator fit`` on a synthetic history (figures in docs/fitting.md).

    .venv/bin/python benchmarks/bench_fit.py                  # 60 cells x 104 weeks, with and without carryover
    .venv/bin/python benchmarks/bench_fit.py --cells 180 --periods 52
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from allocator.fit.fitting import fit_history
from allocator.fit.synthetic import history, weeks
from allocator.scenario.schema import ResponseCell

SHAPES = [{"base": 6e6, "curve": {"type": "hill", "max_lift": 7e6, "half_saturation": 1.2e6, "shape": 1.0}},
          {"base": 8e6, "curve": {"type": "exp", "max_lift": 5e6, "scale": 1.5e6}},
          {"base": 4e6, "curve": {"type": "log", "scale_lift": 2e6, "scale": 0.8e6}}]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=60)
    parser.add_argument("--periods", type=int, default=104)
    args = parser.parse_args()
    cells = [ResponseCell.model_validate({"region": f"r{k // 3}", "channel": f"c{k % 3}", **SHAPES[k % 3]})
             for k in range(args.cells)]
    path = Path(tempfile.mkdtemp()) / "history.csv"
    history(cells, weeks(dt.date(2024, 1, 1), args.periods), 52, seed=1, noise=0.01).to_csv(path, index=False)
    for carryover in (False, True):
        start = time.perf_counter()
        report = fit_history(path, carryover=carryover)
        seconds = time.perf_counter() - start
        print(f"carryover={carryover}: {len(report.cells)} fitted, {len(report.refusals)} refused, "
              f"{seconds:.1f} s ({seconds / args.cells:.2f} s per cell)")


if __name__ == "__main__":
    main()
