"""The report as an auditor sees it: rendered by headless Chromium (Debian's ``chromium`` and
``chromium-driver``) through Selenium. Skipped, saying why, when either is missing; ``make test-browser``
runs it. ``SCOPEGUARD_SCREENSHOT=docs/report-screenshot.png`` also saves a screenshot of the page."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from classifier.scoring.accounting import FileCounts, Period, RunManifest, summary_path
from cli.main import main

pytest.importorskip("matplotlib")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium not found: apt-get install -y chromium chromium-driver (make test-browser)",
)
BUSINESSES = (("online fashion shop", 25, 8), ("farmacia", 35, 3), ("Blumenladen", 32, 2))


def _scores(path: Path) -> Path:
    rows, i = [], 0
    for business, n, general in BUSINESSES:
        for j in range(n):
            score = 0.93 if j < general else 0.04 + 0.01 * (j % 40)
            rows.append({
                "id": f"conv-{i:04d}", "label": "general_assistance" if j < general else "business_support",
                "score": score, "threshold": 0.4855, "model": "scopeguard-demo-1",
                "evidence": [{"turn": 3, "role": "assistant", "score": score}],
                "source": f"archive.jsonl:{i + 1}",
                "lang": "pt-BR" if i % 3 else "de", "ts": f"2026-03-{1 + i % 28:02d}T10:00:00Z",
                "meta": {"business": business, "channel": "whatsapp" if i % 4 else "web"},
            })  # fmt: skip
            i += 1
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    RunManifest(
        model="scopeguard-demo-1", threshold=0.4855, started="2026-03-31T10:00:00Z",
        finished="2026-03-31T10:02:00Z", complete=True, inputs=["archive/"], read=i + 3, scored=i,
        quarantined=3, files=[FileCounts(file="archive/march.jsonl", read=i + 3, scored=i, quarantined=3)],
        period=Period(first="2026-03-01T10:00:00Z", last="2026-03-28T10:00:00Z"),
        quarantine="archive.quarantine.jsonl",
    ).save(summary_path(path))  # fmt: skip
    return path


@pytest.fixture
def browser():
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1200,2400"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def test_the_page_shows_the_verdict_the_businesses_and_the_accounting(tmp_path, browser):
    from selenium.webdriver.common.by import By

    scores = _scores(tmp_path / "scores.jsonl")
    html = tmp_path / "report.html"
    assert main(["report", str(scores), "--out", str(html)]) == 0
    browser.get(html.as_uri())
    verdict = browser.find_element(By.CSS_SELECTOR, ".verdict")
    assert verdict.is_displayed()
    assert "POOLED OVER ALL 92 CONVERSATIONS OF 3 BUSINESSES" in verdict.text  # shown upper-case by CSS
    assert "NOT the primary function" in verdict.text
    groups = browser.find_element(By.CSS_SELECTOR, "table.groups")
    first = groups.find_elements(By.TAG_NAME, "tr")[1].text
    assert first.startswith("Business online fashion shop 25 8 32.0%") and "inconclusive" in first
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "archive/march.jsonl 95 92 3 0" in body
    assert "3 of 95 records (3.2%) could not be scored" in body
    warning = browser.find_element(By.CSS_SELECTOR, ".warning")
    assert warning.is_displayed() and warning.size["height"] > 0
    shot = os.environ.get("SCOPEGUARD_SCREENSHOT")
    if shot:
        browser.set_window_size(1100, 1300)
        browser.save_screenshot(shot)
