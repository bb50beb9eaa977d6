"""Issue 24: the page on a phone (390x844) and a desktop (1280x800) in headless Chromium, with long
names, someone else editing a row, and every panel open: nothing runs off its row or panel,
controls are large enough to tap, and the history reads as intentions (a typed name is one entry).

Screenshots go to test-artifacts/layout-*.png; look at them after a change to the page's layout.
"""
import asyncio

import pytest

from selenium.webdriver.common.by import By

from support.protocol import Peer, add
from support.browser import (ARTIFACTS, browsers, console_errors, leave, row, wait_connected, wait_rows,  # noqa: F401
                             wait_status, wait_until)

SIZES = {"phone": (390, 844), "desktop": (1280, 800)}
LIST_NAME = "Line 3 – shift change, bay 12 and the loading dock behind it"
OTHER_NAME = "Maximiliana Konstantinopoulou-Fairweather"
ROWS = ["place filter on line 3 before the afternoon shift starts", "milk", "Check the pallet wrapper's film tension",
        "Ask maintenance about the conveyor noise near bay 12, again"]

# Every box that must hold its content: rows, panels, entries, the top bar.
BOXES = (".topbar, .tools, .card, .list-head, .row, .panel, .history-item, .history-entry, .preview, .preview-row,"
         " .person, .documents li, .problem, .stale, .unsaved")

OVERFLOWING = """
return [...document.querySelectorAll(arguments[0])]
  .filter((e) => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map((e) => `${e.className || e.tagName} ${e.dataset.index ?? ''}: ${e.scrollWidth} > ${e.clientWidth}`);
"""

# Visible controls smaller than a finger (44 px) in either direction.
SMALL_TARGETS = """
return [...document.querySelectorAll('button, a[href], input, [role=button]')]
  .filter((e) => e.offsetParent !== null && !e.closest('.list-head') && !e.matches('.list-name, #list-name'))
  .map((e) => [e, e.getBoundingClientRect()])
  .filter(([, r]) => r.width > 0 && (r.width < 44 || r.height < 44))
  .map(([e, r]) => `${e.name || e.className || e.tagName}: ${Math.round(r.width)}x${Math.round(r.height)}`);
"""


async def fill(url):
    peer = await Peer.connect(url)
    assert (await peer.act({"type": "ChangeName", "name": LIST_NAME}))["type"] == "Ack"
    for name in ROWS:
        assert (await peer.act(add(name)))["type"] == "Ack"
    await peer.act({"type": "Update", "index": 2, "row": {"name": "milk", "completed": True}})
    await peer.act({"type": "Remove", "index": 2})
    await peer.close()


@pytest.fixture(autouse=True)
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)


def check(browser, what):
    assert browser.execute_script("return document.documentElement.scrollWidth <= window.innerWidth"), \
        f"{what}: the page scrolls sideways"
    assert browser.execute_script(OVERFLOWING, BOXES) == [], what


def open_panel(browser, name, ready):
    toggle = browser.find_element(By.NAME, name)
    if toggle.get_attribute("aria-expanded") != "true":
        toggle.click()
    wait_until(browser, ready, f"the {name} panel never filled")


def close_panels(browser):
    for name in ("people", "documents", "history"):
        toggle = browser.find_element(By.NAME, name)
        if toggle.is_displayed() and toggle.get_attribute("aria-expanded") == "true":
            toggle.click()


def test_phone_and_desktop_layouts_hold_their_content(browsers, start_server):
    server = start_server()
    asyncio.run(fill(server.ws))
    viewer, other = browsers
    try:
        # The other person, with a long name, edits row 1.
        other.set_window_size(1024, 800)
        other.get(server.url)
        other.execute_script(f"localStorage.setItem('patchsync:name', {OTHER_NAME!r})")
        other.refresh()
        wait_connected(other)
        for label, (width, height) in SIZES.items():
            viewer.set_window_size(width, height)
            viewer.get(server.url)
            wait_connected(viewer)
            wait_rows(viewer, ["1", "3", "4"])
            row(other, 1).find_element(By.CSS_SELECTOR, "input[type=text]").click()
            wait_until(viewer, lambda w: row(w, 1).find_elements(By.CSS_SELECTOR, ".editor-badge"), "no badge on row 1")
            badge = row(viewer, 1).find_element(By.CSS_SELECTOR, ".editor-badge")
            assert badge.get_attribute("title") == OTHER_NAME
            # The row's text keeps most of the row: the badge does not squeeze it.
            field = row(viewer, 1).find_element(By.CSS_SELECTOR, "input[type=text]")
            assert field.size["width"] >= 0.6 * row(viewer, 1).size["width"], label
            assert viewer.execute_script("return getComputedStyle(arguments[0]).textOverflow", field) == "ellipsis"
            check(viewer, f"{label}: the list")
            assert viewer.execute_script(SMALL_TARGETS) == [], label
            viewer.save_screenshot(str(ARTIFACTS / f"layout-{label}-list.png"))

            # The top bar is one piece: the tools on one row, none cut.
            tops = {round(t.location["y"]) for t in viewer.find_elements(By.CSS_SELECTOR, ".tools .tool") if t.is_displayed()}
            assert len(tops) == 1, f"{label}: the tools wrap onto {len(tops)} rows"

            open_panel(viewer, "history", lambda w: w.find_elements(By.CSS_SELECTOR, "[data-history] [data-version]"))
            summaries = [e.text for e in viewer.find_elements(By.CSS_SELECTOR, "[data-history] .history-summary")]
            assert summaries[0] == "removed 'milk'" and summaries[1] == "completed 'milk'", summaries
            viewer.find_element(By.CSS_SELECTOR, '[data-history] [data-version="3"]').click()
            wait_until(viewer, lambda w: w.find_element(By.ID, "preview").is_displayed(), "no preview")
            labels = [e.text for e in viewer.find_elements(By.CSS_SELECTOR, "#preview-rows .mark")]
            # At version 3 the list had rows 1 and 2: 2 (removed since) comes back, 3 and 4 go away.
            assert labels == ["comes back", "goes away", "goes away"], labels
            check(viewer, f"{label}: history and preview")
            assert viewer.execute_script(SMALL_TARGETS) == [], label
            viewer.save_screenshot(str(ARTIFACTS / f"layout-{label}-history.png"))
            close_panels(viewer)

            open_panel(viewer, "people", lambda w: w.find_elements(By.CSS_SELECTOR, "[data-people] [data-session]"))
            check(viewer, f"{label}: people")
            viewer.save_screenshot(str(ARTIFACTS / f"layout-{label}-people.png"))
            close_panels(viewer)

            open_panel(viewer, "documents", lambda w: w.find_elements(By.CSS_SELECTOR, "[data-documents] a[data-doc]"))
            link = viewer.find_element(By.CSS_SELECTOR, '[data-documents] a[data-doc="default"]')
            assert link.find_element(By.CSS_SELECTOR, ".document-title").text == LIST_NAME
            assert link.find_element(By.CSS_SELECTOR, ".document-name").text == "default"
            check(viewer, f"{label}: documents")
            viewer.save_screenshot(str(ARTIFACTS / f"layout-{label}-documents.png"))
            close_panels(viewer)

            viewer.get(server.url + "?display")
            wait_connected(viewer)
            wait_rows(viewer, ["1", "3", "4"])
            check(viewer, f"{label}: display mode")
            viewer.save_screenshot(str(ARTIFACTS / f"layout-{label}-display.png"))
            assert console_errors(viewer) == []
    finally:
        leave(browsers)


def test_a_list_that_cannot_be_opened_says_so_once(browsers, start_server):
    server = start_server()
    browser, _ = browsers
    try:
        for label, (width, height) in SIZES.items():
            browser.set_window_size(width, height)
            browser.get(server.url + "?doc=no%20such%20list!")
            problem = browser.find_element(By.ID, "problem")
            wait_until(browser, lambda w: problem.is_displayed(), "no explanation")
            assert '"no such list!" is not a list name' in problem.text
            assert not browser.find_element(By.ID, "loading").is_displayed(), "the loading skeleton stayed"
            assert not browser.find_element(By.CSS_SELECTOR, "[data-status]").is_displayed(), "a connection status showed"
            assert browser.find_element(By.NAME, "documents").is_displayed(), "no way to pick another list"
            check(browser, f"{label}: a bad list name")
            browser.save_screenshot(str(ARTIFACTS / f"layout-{label}-bad-name.png"))
            assert console_errors(browser) == []
    finally:
        leave([browser])


def test_typing_a_list_name_is_one_history_entry(browsers, start_server):
    server = start_server()
    browser, _ = browsers
    name = "Line 3 – shift change, bay 12!"
    assert len(name) == 30
    entries = lambda w: w.find_elements(By.CSS_SELECTOR, "[data-history] [data-version]")  # noqa: E731
    summary = lambda w: entries(w)[0].find_element(By.CSS_SELECTOR, ".history-summary").text if entries(w) else None  # noqa: E731
    try:
        browser.set_window_size(390, 844)
        browser.get(server.url)
        wait_connected(browser)
        # The panel is open while the person types: the entry grows as the changes arrive.
        browser.find_element(By.NAME, "history").click()
        wait_until(browser, lambda w: "No changes yet" in w.find_element(By.ID, "history-note").text, "an empty history")
        browser.find_element(By.NAME, "list-name").send_keys(name)
        wait_until(browser, lambda w: summary(w) == f"renamed the list to '{name}'", "the name's entry")
        assert len(entries(browser)) == 1
        # Opened afresh, the history shows the same one entry.
        browser.find_element(By.NAME, "close-history").click()
        browser.find_element(By.NAME, "history").click()
        wait_until(browser, lambda w: summary(w) == f"renamed the list to '{name}'", "the name's entry, opened again")
        assert len(entries(browser)) == 1
        # The entry is the newest version; its keystrokes are behind the toggle, not [data-version].
        members = browser.find_elements(By.CSS_SELECTOR, "[data-history] [data-member]")
        assert entries(browser)[0].get_attribute("data-version") == members[0].get_attribute("data-member")
        assert len(members) >= 2 and not members[0].is_displayed()
        browser.find_element(By.CSS_SELECTOR, "[data-history] button[name=expand]").click()
        wait_until(browser, lambda w: members[-1].is_displayed(), "the versions never showed")
        assert members[-1].find_element(By.CSS_SELECTOR, ".history-summary").text == "renamed the list to 'L'"
        check(browser, "phone: an expanded group")
        assert browser.execute_script(SMALL_TARGETS) == []
        browser.save_screenshot(str(ARTIFACTS / "layout-phone-history-group.png"))
        assert console_errors(browser) == []
    finally:
        leave([browser])
