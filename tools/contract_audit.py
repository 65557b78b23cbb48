"""Tabulate how the public callables meet bad input: the numbers of issue 19's closing note.

Every case of ``tests/contract/cases_*.py`` is called with each fixed invalid example of
each parameter's domain (the same inputs the property suite starts from), and each call is
sorted by what happened: refused with a ``ValueError`` naming the parameter (the contract),
a ``ValueError`` that names something else, another exception, silently accepted, or still
running after ``--timeout`` seconds. Usage::

    python tools/contract_audit.py [--timeout SECONDS] [--list]
"""

from __future__ import annotations

import argparse
import collections
import signal
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "contract"))

from contract_spec import load_tables

OUTCOMES = ("refused", "misnamed", "other exception", "accepted", "hang")


class _Hang(Exception):
    pass


def _on_alarm(signum, frame):
    raise _Hang


def classify(case, param, bad, timeout: int) -> tuple[str, str]:
    """What a call with ``bad`` in place of ``param`` did, and the message it gave."""
    kwargs = case.kwargs()
    kwargs[param] = bad
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(timeout)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            case.func(**kwargs)
    except _Hang:
        return "hang", ""
    except ValueError as err:
        named = case.says.get(param, param)
        return ("refused" if named in str(err) else "misnamed"), str(err)[:120]
    except Exception as err:  # sorting every failure is the point
        return "other exception", f"{type(err).__name__}: {str(err)[:100]}"
    finally:
        signal.alarm(0)
    return "accepted", ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=int, default=20, help="seconds before a call is a hang")
    parser.add_argument("--list", action="store_true", help="list every call not refused")
    args = parser.parse_args(argv)
    cases, _ = load_tables()
    counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    failures = []
    for case in cases:
        area = ".".join(case.name.split(".")[:2])
        for param, domain in case.domains.items():
            for bad in domain.examples(case.valid_value(param)):
                outcome, message = classify(case, param, bad, args.timeout)
                counts[area][outcome] += 1
                if outcome != "refused":
                    failures.append((case.name, param, repr(bad)[:60], outcome, message))
    total = collections.Counter()
    width = max(len(a) for a in counts) + 2
    print(f"{'area':<{width}}" + "".join(f"{o:>17}" for o in OUTCOMES) + f"{'calls':>8}")
    for area in sorted(counts):
        total.update(counts[area])
        row = "".join(f"{counts[area][o]:>17}" for o in OUTCOMES)
        print(f"{area:<{width}}{row}{sum(counts[area].values()):>8}")
    calls = sum(total.values())
    print(f"{'all':<{width}}" + "".join(f"{total[o]:>17}" for o in OUTCOMES) + f"{calls:>8}")
    print(
        f"{len(cases)} callables, {calls} invalid calls: {total['refused'] / calls:.1%} refused "
        f"with a ValueError naming the parameter, {total['accepted']} accepted, "
        f"{total['hang']} hangs"
    )
    if args.list:
        for row in failures:
            print(" | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
