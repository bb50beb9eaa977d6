"""Issue 14: the page as the operator's tool, in headless Chromium against a real server:
security headers and framing, the documents list, the history panel, preview, restore and undo.
Screenshots go to test-artifacts/."""
import asyncio
import urllib.request

from axe_selenium_python import Axe
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from support.other_origin import OtherOrigin
from support.protocol import Peer, add
from support.sample_history import make_changes
from support.browser import (ARTIFACTS, browsers, console_errors, leave, list_name, row, row_indices, row_name,  # noqa: F401
                             wait_connected, wait_rows, wait_status, wait_until, wait_value)


def headers_of(url):
    with urllib.request.urlopen(url) as response:
        return response.headers


def test_the_page_is_served_with_security_headers(server):
    for path in ("", "app.js", "style.css"):
        headers = headers_of(server.url + path)
        policy = headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
        assert "unsafe-inline" not in policy
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"


def test_the_page_works_under_its_policy_and_cannot_be_framed(browsers, server):
    browser, _ = browsers
    browser.get(server.url)
    wait_connected(browser)
    browser.find_element(By.NAME, "list-name").send_keys("Under CSP")
    assert console_errors(browser) == []

    # A page from another origin (another port) tries to frame it.
    other = OtherOrigin(f'<!doctype html><iframe id="f" src="{server.url}"></iframe>')
    try:
        browser.get(other.url)
        refusals = []
        wait_until(browser, lambda b: refusals.extend(line for line in console_errors(b) if "frame-ancestors" in line) or refusals,
                   "Chromium never refused the frame")
        browser.switch_to.frame(browser.find_element(By.ID, "f"))
        assert browser.find_elements(By.NAME, "list-name") == [], "the page rendered inside another site's frame"
        browser.switch_to.default_content()
    finally:
        other.close()
        leave([browser])


def test_history_preview_restore_and_undo(browsers, server):
    a, b = browsers
    asyncio.run(make_changes(server.ws))
    for window in browsers:
        window.get(server.url)
        wait_connected(window)
    wait_rows(a, ["1", "3"])

    a.find_element(By.NAME, "history").click()
    entries = lambda w: w.find_elements(By.CSS_SELECTOR, "[data-history] [data-version]")  # noqa: E731
    wait_until(a, lambda w: len(entries(w)) == 10, "the history never listed 10 changes")
    summaries = [e.find_element(By.CSS_SELECTOR, ".history-summary").text for e in entries(a)]
    assert [e.get_attribute("data-version") for e in entries(a)] == [str(v) for v in range(10, 0, -1)]
    # Every entry names its row as it was called then, removals too.
    assert summaries == ["removed 'tea'", "removed 2 completed items: 'bread', 'jam'", "completed 'jam'", "completed 'bread'",
                         "added 'tea'", "added 'jam'", "added 'eggs'", "added 'bread'", "added 'milk'",
                         "renamed the list to 'Line 3'"]
    a.save_screenshot(str(ARTIFACTS / "history-panel.png"))

    # Version 6: all five rows, none done. Marked: 2, 4 and 5 were removed since.
    a.find_element(By.CSS_SELECTOR, '[data-history] [data-version="6"]').click()
    preview = a.find_element(By.ID, "preview")
    wait_until(a, lambda w: preview.is_displayed() and len(w.find_elements(By.CSS_SELECTOR, "#preview-rows li")) == 5,
               "the preview never showed version 6")
    gone = [e.text for e in a.find_elements(By.CSS_SELECTOR, "#preview-rows .mark-gone .preview-row-name")]
    assert gone == ["bread", "jam", "tea"]
    assert row_indices(a) == ["1", "3"], "previewing must not change the list"
    a.save_screenshot(str(ARTIFACTS / "history-preview.png"))

    a.find_element(By.NAME, "restore").click()
    dialog = a.find_element(By.ID, "confirm-restore-dialog")
    wait_until(a, lambda w: dialog.is_displayed(), "no confirmation")
    assert "bring back 3 items" in dialog.text
    a.find_element(By.NAME, "confirm-restore").click()
    for window in browsers:
        wait_rows(window, ["1", "2", "3", "4", "5"])
    wait_until(a, lambda w: entries(w)[0].get_attribute("data-version") == "11", "the restore never joined the history")
    assert entries(a)[0].find_element(By.CSS_SELECTOR, ".history-summary").text == "restored version 6"

    # Undo the restore: restore version 10 from the second window.
    b.find_element(By.NAME, "history").click()
    wait_until(b, lambda w: len(entries(w)) == 11, "the second window's history")
    b.find_element(By.CSS_SELECTOR, '[data-history] [data-version="10"]').click()
    wait_until(b, lambda w: w.find_element(By.ID, "preview").is_displayed(), "no preview in the second window")
    b.find_element(By.NAME, "restore").click()
    b.find_element(By.NAME, "confirm-restore").click()
    for window in browsers:
        wait_rows(window, ["1", "3"])
    wait_until(a, lambda w: entries(w)[0].get_attribute("data-version") == "12", "the undo never reached the first window")
    assert [console_errors(w) for w in browsers] == [[], []]
    leave(browsers)


def test_documents_list_and_two_lists_stay_independent(browsers, server):
    a, b = browsers
    a.get(server.url + "?doc=line-3")
    b.get(server.url + "?doc=line-4")
    for window in browsers:
        wait_connected(window)
    a.find_element(By.NAME, "list-name").send_keys("Line three")
    b.find_element(By.NAME, "list-name").send_keys("Line four")
    wait_value(a, list_name, "Line three", "line-3's name")
    b.refresh()
    wait_connected(b)
    wait_value(b, list_name, "Line four", "line-4's name")

    a.find_element(By.NAME, "documents").click()
    wait_until(a, lambda w: {e.get_attribute("data-doc") for e in w.find_elements(By.CSS_SELECTOR, "[data-documents] a[data-doc]")}
               == {"line-3", "line-4"}, "the documents list")
    a.find_element(By.ID, "new-document").send_keys("no spaces allowed")
    a.find_element(By.CSS_SELECTOR, "#open-document button[type=submit]").click()
    assert "letters, digits" in a.find_element(By.ID, "new-document-error").text
    a.find_element(By.CSS_SELECTOR, '[data-documents] a[data-doc="line-4"]').click()
    wait_connected(a)
    wait_value(a, list_name, "Line four", "line-4 opened from the list")
    assert [console_errors(w) for w in browsers] == [[], []]
    leave(browsers)


def test_the_display_mode_stays_correct_across_a_server_restart(browsers, server):
    display, _ = browsers
    asyncio.run(make_changes(server.ws.replace("/ws", "/ws/line-3")))
    display.set_window_size(1280, 800)
    display.get(server.url + "?doc=line-3&display")
    wait_connected(display)
    wait_rows(display, ["1", "3"])
    assert "is-display" in display.find_element(By.TAG_NAME, "body").get_attribute("class")
    assert display.find_element(By.NAME, "list-name").get_property("readOnly")
    assert not display.find_element(By.NAME, "add").is_displayed()
    assert not display.find_element(By.NAME, "history").is_displayed()
    display.save_screenshot(str(ARTIFACTS / "display-mode.png"))

    server.stop()
    stale = display.find_element(By.ID, "stale")
    wait_until(display, lambda w: stale.is_displayed() and "out of date" in stale.text, "the display never said it was stale")
    display.save_screenshot(str(ARTIFACTS / "display-mode-stale.png"))
    server.start(port=server.port)
    wait_status(display, "connected")
    wait_until(display, lambda w: not stale.is_displayed(), "the stale notice stayed after reconnecting")
    asyncio.run(add_one(server.ws.replace("/ws", "/ws/line-3"), "after restart"))
    wait_rows(display, ["1", "3", "4"])
    assert row_name(display, 4) == "after restart"
    # While the server was down Chromium logged the refused WebSocket connections; nothing else.
    assert [line for line in console_errors(display) if "WebSocket connection to" not in line] == []
    leave([display])


async def add_one(url, name):
    peer = await Peer.connect(url)
    assert (await peer.act(add(name)))["type"] == "Ack"
    await peer.close()


def focused(browser):
    return browser.switch_to.active_element


def test_the_keyboard_path_through_add_rename_complete_remove_and_restore(browsers, server):
    a, _ = browsers
    a.set_window_size(1024, 800)
    a.get(server.url)
    wait_connected(a)
    a.find_element(By.NAME, "list-name").send_keys("Keys" + Keys.ENTER)
    wait_rows(a, ["1"])
    wait_until(a, lambda w: focused(w).get_attribute("aria-label") == "Item 1", "row 1 never took focus")
    focused(a).send_keys("milk" + Keys.ENTER)
    wait_rows(a, ["1", "2"])
    wait_until(a, lambda w: focused(w).get_attribute("aria-label") == "Item 2", "row 2 never took focus")
    focused(a).send_keys("tea")
    focused(a).send_keys(Keys.SHIFT + Keys.TAB)
    # The labels follow the row's name once the page has rendered the edit: wait as a screen reader would.
    wait_until(a, lambda w: focused(w).get_attribute("aria-label") == "Done: tea", "the checkbox of 'tea' never took focus")
    focused(a).send_keys(Keys.SPACE)
    wait_until(a, lambda w: row(w, 2).find_element(By.CSS_SELECTOR, "input[type=checkbox]").is_selected(), "never completed")
    focused(a).send_keys(Keys.TAB)
    focused(a).send_keys(Keys.TAB)
    wait_until(a, lambda w: focused(w).get_attribute("aria-label") == "Remove tea", "'Remove tea' never took focus")
    focused(a).send_keys(Keys.ENTER)
    wait_rows(a, ["1"])

    # Restore the version before the removal (tea named and completed) with the keyboard only.
    a.find_element(By.NAME, "history").send_keys(Keys.ENTER)
    wait_until(a, lambda w: "removed 'tea'" in focused(w).text,
               "the newest entry (the removal) never took focus")
    focused(a).send_keys(Keys.TAB)
    wait_until(a, lambda w: "completed 'tea'" in focused(w).text, "the entry before the removal never took focus")
    focused(a).send_keys(Keys.ENTER)
    wait_until(a, lambda w: w.find_element(By.ID, "preview").is_displayed(), "no preview")
    a.find_element(By.NAME, "restore").send_keys(Keys.ENTER)
    wait_until(a, lambda w: w.find_element(By.ID, "confirm-restore-dialog").is_displayed(), "no confirmation")
    for _ in range(10):  # the dialog keeps focus among its few buttons
        if focused(a).get_attribute("name") == "confirm-restore":
            break
        focused(a).send_keys(Keys.TAB)
    assert focused(a).get_attribute("name") == "confirm-restore"
    focused(a).send_keys(Keys.ENTER)
    wait_rows(a, ["1", "2"])
    wait_until(a, lambda w: row(w, 2).find_element(By.CSS_SELECTOR, "input[type=checkbox]").is_selected(),
               "the restored 'tea' is not shown completed")
    assert console_errors(a) == []
    leave([a])


def serious_violations(browser):
    axe = Axe(browser)
    axe.inject()
    results = axe.run()
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]
            if v["impact"] in ("serious", "critical")]


def test_the_accessibility_audit_finds_no_serious_violation(browsers, server):
    a, _ = browsers
    asyncio.run(make_changes(server.ws))
    a.get(server.url)
    wait_connected(a)
    wait_rows(a, ["1", "3"])
    violations = serious_violations(a)
    print(violations)
    assert violations == []
    a.find_element(By.NAME, "history").click()
    wait_until(a, lambda w: w.find_elements(By.CSS_SELECTOR, '[data-history] [data-version="6"]'), "no history")
    a.find_element(By.CSS_SELECTOR, '[data-history] [data-version="6"]').click()
    wait_until(a, lambda w: w.find_element(By.ID, "preview").is_displayed(), "no preview")
    a.find_element(By.NAME, "documents").click()
    wait_until(a, lambda w: w.find_elements(By.CSS_SELECTOR, "[data-documents] a[data-doc]"), "no documents")
    violations = serious_violations(a)
    print(violations)
    assert violations == []
    a.get(server.url + "?display")
    wait_connected(a)
    violations = serious_violations(a)
    print(violations)
    assert violations == []
    leave([a])


def test_a_viewer_pages_through_history_and_previews_but_cannot_restore(browsers, start_server):
    """The Full says `"role":"viewer"` for a read-token page: Restore never shows; the history is
    paged, 20 at a time, newest first, and the older page follows on request."""
    server = start_server("--token", "edit-secret", "--read-token", "watch-secret")

    async def twenty_five_changes():
        peer = await Peer.connect(server.ws + "?token=edit-secret")
        for n in range(25):
            assert (await peer.act(add(f"item {n}")))["type"] == "Ack"
        await peer.close()

    asyncio.run(twenty_five_changes())
    viewer, _ = browsers
    try:
        viewer.get(server.url + "#token=watch-secret")
        wait_connected(viewer)
        viewer.find_element(By.NAME, "history").click()
        entries = lambda w: w.find_elements(By.CSS_SELECTOR, "[data-history] [data-version]")  # noqa: E731
        wait_until(viewer, lambda w: len(entries(w)) == 20, "the first page of history")
        assert [e.get_attribute("data-version") for e in entries(viewer)] == [str(v) for v in range(25, 5, -1)]
        viewer.find_element(By.NAME, "older").click()
        wait_until(viewer, lambda w: len(entries(w)) == 25, "the older page of history")
        assert [e.get_attribute("data-version") for e in entries(viewer)][20:] == ["5", "4", "3", "2", "1"]

        viewer.find_element(By.CSS_SELECTOR, '[data-history] [data-version="3"]').click()
        wait_until(viewer, lambda w: w.find_element(By.ID, "preview").is_displayed(), "no preview")
        names = lambda mark: [e.text for e in viewer.find_elements(By.CSS_SELECTOR, f"#preview-rows .mark-{mark} .preview-row-name")]  # noqa: E731
        assert names("same") == ["item 0", "item 1", "item 2"]
        assert names("new") == [f"item {n}" for n in range(3, 25)]
        assert not viewer.find_element(By.NAME, "restore").is_displayed()
        assert console_errors(viewer) == []
    finally:
        leave([viewer])
