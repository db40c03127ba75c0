"""Fail when a test run ran fewer tests than its floor (a test module that silently stopped being
collected, or tests that started skipping, would otherwise go unnoticed).

Usage: python .ci/test_floor.py JUNIT_XML FLOOR_FILE

JUNIT_XML is pytest's `--junitxml` report; FLOOR_FILE holds one integer, the number of tests that
ran and passed the last time the floor was raised (skipped tests do not count). Raise the floor
when tests are added; lower it only with a reason in the commit message.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def passed(junit_xml: Path) -> int:
    """Tests that ran and passed: tests - skipped - failures - errors, over every test suite."""
    root = ET.parse(junit_xml).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    total = 0
    for suite in suites:
        counts = {k: int(suite.get(k, 0)) for k in ("tests", "skipped", "failures", "errors")}
        total += counts["tests"] - counts["skipped"] - counts["failures"] - counts["errors"]
    return total


def main(argv: list[str]) -> int:
    junit_xml, floor_file = Path(argv[1]), Path(argv[2])
    count = passed(junit_xml)
    floor = int(floor_file.read_text(encoding="utf-8").split()[0])
    print(f"test floor: {count} tests passed, floor {floor} ({floor_file})")
    if count < floor:
        print(f"test floor: {floor - count} fewer tests ran than the floor", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
