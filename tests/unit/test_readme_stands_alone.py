"""The README is read in a clone: every file it points to is in the repository, and its figures are the data's."""

from __future__ import annotations

import csv
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_every_file_the_readme_links_to_is_in_the_repository() -> None:
    links = [t for t in re.findall(r"\]\(([^)#]+)\)", README) if not t.startswith("http")]
    targets = links + re.findall(r"`(\.\./[^`]+|docs/[^`]+)`", README)
    assert targets, "the README links to the domain reference"
    outside = [t for t in targets if not (ROOT / t).resolve().is_relative_to(ROOT)]
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert outside == [] and missing == []  # a clone has nothing beside it


def test_the_readme_states_the_seeded_baselines_as_the_data_holds_them() -> None:
    totals: dict[str, int] = {}
    with open(ROOT / "recycling/data/baselines-2023.csv", encoding="utf-8") as data:
        for row in csv.DictReader(data):
            totals[row["indicator"]] = totals.get(row["indicator"], 0) + int(row["value"])
    stated = re.search(r"city totals \(([\d,]+) scrapped vehicles, ([\d,]+) used-car transactions, ([\d,]+)\s+"
                       r"appliances\)", README)
    assert stated is not None
    figures = [int(group.replace(",", "")) for group in stated.groups()]
    assert figures == [totals["vehicles"], totals["used_cars"], totals["appliances"]]
