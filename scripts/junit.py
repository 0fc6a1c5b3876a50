#!/usr/bin/env python3
"""Small JUnit XML helper for scripts/test.sh.

  junit.py add FILE NAME ok|fail [DETAIL]   append a test case to FILE
  junit.py summary DIR                      count every *.xml in DIR, print
                                            failures and 'N passed, N failed'
"""
import glob
import os
import sys
import xml.etree.ElementTree as ET


def add(path, name, result, detail):
    if os.path.exists(path):
        tree = ET.parse(path)
        suite = tree.getroot()
    else:
        suite = ET.Element("testsuite", name="stages")
        tree = ET.ElementTree(suite)
    case = ET.SubElement(suite, "testcase", classname="stages", name=name)
    if result != "ok":
        ET.SubElement(case, "failure", message=detail or "failed")
    tree.write(path)


def summary(d):
    passed = failed = skipped = 0
    failures = []
    for path in sorted(glob.glob(os.path.join(d, "*.xml"))):
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            failures.append(f"{os.path.basename(path)}: unreadable ({e})")
            failed += 1
            continue
        for case in root.iter("testcase"):
            name = f"{os.path.basename(path)}::{case.get('classname', '')}::{case.get('name')}"
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
                failures.append(name)
            elif case.find("skipped") is not None:
                skipped += 1
            else:
                passed += 1
    for f in failures:
        print(f"FAILED {f}")
    line = f"{passed} passed, {failed} failed"
    if skipped:
        line += f", {skipped} skipped"
    print(line)
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "add":
        add(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else "")
    elif len(sys.argv) == 3 and sys.argv[1] == "summary":
        sys.exit(summary(sys.argv[2]))
    else:
        sys.exit(__doc__)
