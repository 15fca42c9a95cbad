"""The review page in headless Chromium (Debian's ``chromium`` and ``chromium-driver``) through Selenium, at
1366x768 and by keyboard alone: sign in, label, mark a general turn, note, skip, undo. Skipped, saying why,
when the browser is missing; ``make test-browser`` runs it. ``SCOPEGUARD_SCREENSHOT_DIR=docs`` also saves
``review-page.png`` and ``review-help.png`` there."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from review.app import create_app
from review.pick import PickJob, run_pick
from review.queue import ReviewQueue
from review.settings import ReviewSettings
from serve.auth import hash_key

webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (the test extra)")
uvicorn = pytest.importorskip("uvicorn")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium not found: apt-get install -y chromium chromium-driver (make test-browser)",
)
KEY = "sg_browser-test-key"
WIDTH, HEIGHT = 1366, 768
PROFILE = "Loja Aurora: online fashion shop in São Paulo. Orders, exchanges, sizes and deliveries."


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def page_url(tmp_path: Path, tiny_model_dir: Path) -> Iterator[tuple[str, Path]]:
    from classifier.schema import BusinessProfile

    archive = Path(__file__).parents[1] / "fixtures" / "sample.jsonl"
    queue = tmp_path / "queue.db"
    run_pick(PickJob(inputs=(str(archive),), queue=queue, model_dir=tiny_model_dir, n=6, threads=1,
                     profile=BusinessProfile(name="Loja Aurora", description=PROFILE)))  # fmt: skip
    port = _free_port()
    settings = ReviewSettings(queue=queue, port=port, key_hashes={"alice": hash_key(KEY)})
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/", queue
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", f"--window-size={WIDTH},{HEIGHT}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_window_size(WIDTH, HEIGHT)
    yield driver
    driver.quit()


def _answers(queue: Path) -> dict[str, tuple[str | None, str, list[int], str | None]]:
    with ReviewQueue.open(queue) as q:
        items = {i.id: i.conv_id for i in q.items()}
        return {
            items[a.item_id]: (a.label, a.action, a.general_turns, a.note)
            for a in q.answers("alice").values()
        }


def test_a_reviewer_labels_conversations_by_keyboard_alone(page_url, browser) -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    url, queue = page_url
    wait = WebDriverWait(browser, 15)
    browser.get(url)
    key_input = wait.until(ec.visibility_of_element_located((By.ID, "signin-input")))
    assert browser.switch_to.active_element == key_input  # focused: the keyboard can start at once
    key_input.send_keys(KEY + Keys.ENTER)
    wait.until(ec.text_to_be_present_in_element((By.ID, "who"), "alice"))
    wait.until(ec.text_to_be_present_in_element((By.ID, "progress-text"), "0 / 6 labelled"))

    def conv_id() -> str:
        return browser.find_element(By.ID, "prelabel").text.split(" · ")[2]

    def press(keys: str, *, expect: str) -> None:
        browser.switch_to.active_element.send_keys(keys)
        wait.until(ec.text_to_be_present_in_element((By.ID, "message"), expect))

    # Everything a reviewer needs is on one 1366x768 screen: turns, profile, pre-label, answer buttons.
    profile = browser.find_element(By.ID, "profile").text  # the record's own profile, else --business
    assert (
        ("Loja Aurora" in profile and "[default," in profile)
        or "[record," in profile
        or "[system," in profile
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#turns li.evidence")
    for element_id in (
        "btn-business",
        "btn-general",
        "btn-unsure",
        "btn-skip",
        "btn-undo",
        "note",
        "conversation",
    ):
        rect = browser.find_element(By.ID, element_id).rect
        assert rect["y"] + rect["height"] <= HEIGHT and rect["x"] + rect["width"] <= WIDTH, element_id
    body = browser.find_element(By.TAG_NAME, "body")
    assert body.get_property("scrollWidth") <= WIDTH

    first = conv_id()
    press("b", expect=f"saved {first}: business_support")
    second = conv_id()
    bots = browser.find_elements(By.CSS_SELECTOR, "#turns li.assistant")
    press("1", expect="general turns marked")
    assert "marked" in bots[0].get_attribute("class")
    press("n", expect="general turns marked")
    assert browser.switch_to.active_element.get_attribute("id") == "note"
    browser.switch_to.active_element.send_keys("wrote a poem" + Keys.ESCAPE)
    press("g", expect=f"saved {second}: general_assistance")
    third = conv_id()
    press("u", expect=f"saved {third}: unsure")
    fourth = conv_id()
    press("s", expect=f"skipped {fourth}")
    press("z", expect="undone")
    assert conv_id() == fourth  # undo brings the item back
    wait.until(ec.text_to_be_present_in_element((By.ID, "progress-text"), "3 / 6 labelled"))

    answers = _answers(queue)
    assert answers[first][0] == "business_support"
    label, _, turns, note = answers[second]
    assert label == "general_assistance" and len(turns) == 1 and note == "wrote a poem"
    assert answers[third][0] == "unsure" and fourth not in answers

    shots = os.environ.get("SCOPEGUARD_SCREENSHOT_DIR")
    if shots:
        browser.save_screenshot(str(Path(shots) / "review-page.png"))
        press("?", expect="undone")
        browser.save_screenshot(str(Path(shots) / "review-help.png"))
