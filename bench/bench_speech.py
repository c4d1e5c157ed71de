"""The speech menu's matcher over the corpus of French phrasings.

Run: .venv/bin/python bench/bench_speech.py [--verbose]
Reads tests/speech_corpus.yaml (what callers say, and the motive they mean)
and the demo configuration's motives, and prints, over the corpus:

- correct: routed straight to the expected motive, or a confirmation of it
  (one "oui" reaches it); for an out-of-scope phrase, asked again;
- wrong: routed straight to another motive (for out-of-scope: to any);
- the share of each decision (route, confirm, ask again), and the median time
  of one decision (7 repeats over the whole corpus).

Targets: correct >= 90 %, wrong <= 2 %.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from ivr.config import demo_yaml_text, validate_document
from ivr.flows.understanding import understand

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "speech_corpus.yaml"
REPEATS = 7


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--verbose", action="store_true", help="list what is not correct")
    args = parser.parse_args()
    motives = validate_document(yaml.safe_load(demo_yaml_text())).motives
    corpus = yaml.safe_load(CORPUS.read_text(encoding="utf-8"))
    grades: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    for entry in corpus:
        said, expected = entry["said"], entry["motive"]
        understood = understand(motives, said)
        outcomes[understood.outcome] += 1
        if understood.outcome == "route":
            grade = "correct" if understood.motive == expected else "wrong"
        elif expected == "none":
            grade = "correct" if understood.outcome == "retry" else "neither"
        else:
            grade = "correct" if understood.motive == expected else "neither"
        grades[grade] += 1
        if args.verbose and grade != "correct":
            print(f"  {grade:8} {said!r}: expected {expected}, {understood}")
    samples = []
    for _ in range(REPEATS):
        began = time.perf_counter()
        for entry in corpus:
            understand(motives, entry["said"])
        samples.append((time.perf_counter() - began) / len(corpus) * 1e6)
    total = len(corpus)

    def share(count: int) -> str:
        return f"{100 * count / total:.1f} %"

    print(f"corpus: {total} phrasings ({CORPUS.name}), demo motives: {len(motives)}")
    print(f"correct motive: {share(grades['correct'])}   (target >= 90 %)")
    print(f"wrong motive:   {share(grades['wrong'])}   (target <= 2 %)")
    print(f"neither:        {share(grades['neither'])}")
    print(
        f"decisions: route {share(outcomes['route'])}, confirm {share(outcomes['confirm'])}, "
        f"ask again {share(outcomes['retry'])}"
    )
    print(f"one decision: {statistics.median(samples):.0f} µs (median of {REPEATS} repeats)")
    met = grades["correct"] / total >= 0.90 and grades["wrong"] / total <= 0.02
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
