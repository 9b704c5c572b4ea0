"""Wall time of the whole graded suite, TensorFlow import included, as a student runs it.

Usage: `python benchmarks/grading_time.py [--impl MODULE] [--repeats 3]`

Times `python -m keras_vae.grade` and `pytest --impl MODULE keras_vae/graded` as fresh
processes and prints the median of each.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wall_time(command):
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--impl", default="keras_vae")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    commands = {
        "python -m keras_vae.grade": [sys.executable, "-m", "keras_vae.grade",
                                      "--impl", args.impl],
        "pytest keras_vae/graded": [sys.executable, "-m", "pytest", "-q", "--impl", args.impl,
                                    "keras_vae/graded"],
    }
    for name, command in commands.items():
        times = [wall_time(command) for _ in range(args.repeats)]
        print(f"{name} --impl {args.impl}: median {statistics.median(times):.1f} s "
              f"over {args.repeats} runs (min {min(times):.1f}, max {max(times):.1f})")


if __name__ == "__main__":
    main()
