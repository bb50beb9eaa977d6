"""The web page in headless Chromium, two windows at once, against a real patchsync server.

Needs Debian's chromium and chromium-driver and selenium from PyPI (`make test` installs them)
and the debug build of patchsync (`PATCHSYNC_BIN` points at another build).
Screenshots go to test-artifacts/.
"""

import asyncio
import json
import pathlib
import shutil
import time
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from support import page_probe
from support.browser import (ARTIFACTS, browsers, console_errors, leave, list_name, logged_while_away, row,  # noqa: F401
                             row_indices, row_name, wait_connected, wait_rows, wait_status, wait_until, wait_value)
from support.large_documents import write_document
from support.protocol import Peer, fresh_full

SENTENCE = "The quick brown fox jumps over the lazy dog, 1234567890 times! (¿Qué?)"


@pytest.fixture
def server(start_server):
    ARTIFACTS.mkdir(exist_ok=True)
    return start_server()


@pytest.fixture
def windows(browsers, server):
    """Both windows on a freshly started server, showing its (empty) list; no console errors after the test."""
    for browser in browsers:
        browser.set_window_size(1024, 800)
        browser.get(server.url)
        wait_connected(browser)
    for browser in browsers:
        console_errors(browser)  # start each test with an empty log
    yield browsers
    errors = [console_errors(browser) for browser in browsers]
    leave(browsers)
    assert errors == [[], []]


def remove_completed_shown(browser) -> bool:
    return browser.find_element(By.NAME, "remove-completed").is_displayed()


def add_row(browser, expected_indices):
    browser.find_element(By.NAME, "add").click()
    wait_rows(browser, expected_indices)


def test_loading_state_then_an_empty_list(browsers, server):
    browser, _ = browsers
    browser.get(server.url)
    wait_connected(browser)
    assert len(browser.find_elements(By.CSS_SELECTOR, "[data-status]")) == 1
    assert row_indices(browser) == []
    assert not remove_completed_shown(browser)
    assert browser.find_element(By.NAME, "add").is_displayed()
    # Every control has an accessible name.
    label = browser.find_element(By.CSS_SELECTOR, 'label[for="list-name"]')
    assert label.get_attribute("textContent").strip() == "List name"
    errors = console_errors(browser)
    leave([browser])
    assert errors == []


def test_every_action_shows_in_the_other_window(windows):
    a, b = windows

    a.find_element(By.NAME, "list-name").send_keys("Groceries")
    wait_value(b, list_name, "Groceries", "list name in the second window")

    add_row(a, ["1"])
    wait_rows(b, ["1"])
    row(b, 1).find_element(By.CSS_SELECTOR, "input[type=text]").send_keys("Milk")
    wait_value(a, lambda w: row_name(w, 1), "Milk", "row 1 in the first window")

    add_row(b, ["1", "2"])
    wait_rows(a, ["1", "2"])
    row(a, 2).find_element(By.CSS_SELECTOR, "input[type=text]").send_keys("Bread")
    wait_value(b, lambda w: row_name(w, 2), "Bread", "row 2 in the second window")

    assert not remove_completed_shown(a) and not remove_completed_shown(b)
    row(a, 1).find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    wait_until(b, lambda w: row(w, 1).find_element(By.CSS_SELECTOR, "input[type=checkbox]").is_selected(),
               "row 1 never ticked in the second window")
    wait_until(b, remove_completed_shown, "Remove completed never showed in the second window")
    assert remove_completed_shown(a)

    add_row(a, ["1", "2", "3"])
    wait_rows(b, ["1", "2", "3"])
    row(b, 2).find_element(By.NAME, "remove").click()
    wait_rows(b, ["1", "3"])
    wait_rows(a, ["1", "3"])

    b.find_element(By.NAME, "remove-completed").click()
    wait_rows(a, ["3"])
    wait_rows(b, ["3"])
    wait_until(a, lambda w: not remove_completed_shown(w), "Remove completed still shown with no completed row")
    assert not remove_completed_shown(b)
    assert list_name(a) == list_name(b) == "Groceries"


def test_fast_typing_arrives_intact_in_both_windows(windows):
    a, b = windows
    a.find_element(By.NAME, "list-name").send_keys(SENTENCE)
    add_row(b, ["1"])
    row(b, 1).find_element(By.CSS_SELECTOR, "input[type=text]").send_keys(SENTENCE + Keys.BACKSPACE * 8 + "— done.")
    edited = SENTENCE[:-8] + "— done."

    wait_value(b, list_name, SENTENCE, "list name in the second window")
    wait_value(a, lambda w: row_name(w, 1), edited, "row 1 in the first window")
    assert list_name(a) == SENTENCE
    assert row_name(b, 1) == edited
    # Both windows typing at once, each in its own field.
    a.find_element(By.NAME, "list-name").send_keys(" Again.")
    row(b, 1).find_element(By.CSS_SELECTOR, "input[type=text]").send_keys(" And again.")
    for window in windows:
        wait_value(window, list_name, SENTENCE + " Again.", "list name")
        wait_value(window, lambda w: row_name(w, 1), edited + " And again.", "row 1")


def test_reconnects_after_a_server_restart(windows, server):
    a, b = windows
    a.find_element(By.NAME, "list-name").send_keys("Before restart")
    add_row(a, ["1"])
    wait_value(b, list_name, "Before restart", "list name in the second window")
    wait_rows(b, ["1"])

    server.stop()
    wait_status(a, "offline")
    wait_status(b, "offline")
    server.start(port=server.port)
    wait_status(a, "connected")
    wait_status(b, "connected")

    # After the restart both windows show what the server holds and keep syncing.
    b.find_element(By.NAME, "list-name").send_keys(" and after")
    wait_until(a, lambda w: list_name(w) == list_name(b) and list_name(w).endswith(" and after"),
               "the first window never caught up after the restart")
    add_row(a, row_indices(a) + [str(max([0] + [int(i) for i in row_indices(a)]) + 1)])
    wait_until(b, lambda w: row_indices(w) == row_indices(a), "rows differ after the restart")

    # While the server was down Chromium logged what it logs while away; nothing else.
    for window in windows:
        other = [line for line in console_errors(window) if not logged_while_away(line)]
        assert other == []


def test_recovers_from_a_wiped_server_and_sends_its_queued_edit(windows, server):
    """A server whose data was wiped refuses the pages' `?since=N` (HTTP 400, which a browser
    cannot see): the pages ask for a Full instead, show the new state, and the edit typed while
    the server was away reaches it."""
    a, b = windows
    a.find_element(By.NAME, "list-name").send_keys("Before the wipe")
    add_row(a, ["1"])
    add_row(a, ["1", "2"])
    wait_rows(b, ["1", "2"])
    wait_value(b, list_name, "Before the wipe", "list name in the second window")
    b.find_element(By.CSS_SELECTOR, "button[name=history]").click()
    wait_until(b, lambda w: history_versions(w), "the history never opened")

    server.stop()
    wait_status(a, "offline")
    wait_status(b, "offline")
    # Typed while the server is away: it waits in the outbox.
    name = a.find_element(By.NAME, "list-name")
    name.send_keys(Keys.CONTROL, "a")
    name.send_keys("Typed while away")
    for entry in pathlib.Path(server.data_dir).iterdir():
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    server.start(port=server.port)

    wait_status(a, "connected")
    wait_status(b, "connected")
    # Both show the server's new state: no rows, and the name typed while away.
    wait_rows(a, [])
    wait_rows(b, [])
    wait_value(b, list_name, "Typed while away", "the queued edit in the second window")
    assert "replaced" in a.find_element(By.ID, "toast").get_attribute("textContent")
    a.set_window_size(1280, 800)
    a.save_screenshot(str(ARTIFACTS / "browser-wiped-server-1280x800.png"))
    a.set_window_size(390, 844)
    a.save_screenshot(str(ARTIFACTS / "browser-wiped-server-390x844.png"))
    a.set_window_size(1024, 800)
    # The open history starts over: only the new server's versions.
    wait_until(b, lambda w: max(history_versions(w) or [0]) == current_version(server),
               "the history never showed the new server's versions")
    assert len(history_versions(b)) <= current_version(server)
    b.find_element(By.CSS_SELECTOR, "button[name=close-history]").click()
    # They follow the new versions: an edit in one shows in the other.
    add_row(b, ["1"])
    wait_rows(a, ["1"])

    for window in windows:
        other = [line for line in console_errors(window) if not logged_while_away(line)]
        assert other == []


def history_versions(browser) -> list:
    return [int(e.get_attribute("data-version")) for e in browser.find_elements(By.CSS_SELECTOR, "[data-history] [data-version]")]


def test_looks_right_on_desktop_and_phone(windows):
    a, b = windows
    a.find_element(By.NAME, "list-name").send_keys("Weekend trip")
    for index, (item, done) in enumerate(
        [("Book the cabin", True), ("Pack hiking boots", False), ("Buy trail snacks", False), ("Charge the camera", True)],
        start=1,
    ):
        add_row(a, [str(i) for i in range(1, index + 1)])
        row(a, index).find_element(By.CSS_SELECTOR, "input[type=text]").send_keys(item)
        if done:
            row(a, index).find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
    wait_value(b, lambda w: row_name(w, 4), "Charge the camera", "the last row in the second window")
    a.execute_script("document.activeElement.blur()")
    a.save_screenshot(str(ARTIFACTS / "browser-desktop.png"))

    b.set_window_size(390, 844)
    wait_until(b, lambda w: w.execute_script("return window.innerWidth") <= 390, "window never narrowed")
    b.save_screenshot(str(ARTIFACTS / "browser-phone.png"))
    # Nothing runs off the side of a phone screen, and the controls stay large enough to tap.
    assert b.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
    for selector in ('button[name="add"]', '[data-index="2"] button[name="remove"]', '[data-index="2"] input[type=checkbox]'):
        size = b.find_element(By.CSS_SELECTOR, selector).size
        assert size["height"] >= 24 and size["width"] >= 24, selector


def test_each_list_of_its_own_under_doc(windows, server):
    a, b = windows
    for window in windows:
        window.get(server.url + "?doc=shopping")
        wait_connected(window)
    a.find_element(By.NAME, "list-name").send_keys("Shopping")
    wait_value(b, list_name, "Shopping", "the shared list's name in the second window")

    b.get(server.url)
    wait_connected(b)
    assert list_name(b) == ""
    b.find_element(By.NAME, "list-name").send_keys("Default list")
    a.refresh()
    wait_connected(a)
    assert list_name(a) == "Shopping"
    a.get(server.url)
    wait_connected(a)
    wait_value(a, list_name, "Default list", "the default list's name")


def test_a_watch_only_token_follows_but_cannot_edit(browsers, start_server):
    server = start_server("--token", "edit-secret", "--read-token", "watch-secret")
    try:
        editor, watcher = browsers
        editor.get(server.url + "#token=edit-secret")
        watcher.get(server.url + "#token=watch-secret")
        for window in browsers:
            wait_connected(window)
        editor.find_element(By.NAME, "list-name").send_keys("Read me")
        wait_value(watcher, list_name, "Read me", "the editor's list name in the watcher's window")

        # The Full says "viewer": the page is view-only before any edit is tried.
        assert "view only" in watcher.find_element(By.CSS_SELECTOR, "[data-status]").text
        assert watcher.find_element(By.NAME, "list-name").get_property("readOnly")
        watcher.find_element(By.NAME, "list-name").send_keys("!")
        wait_value(watcher, list_name, "Read me", "the watcher's edit")
        assert not watcher.find_element(By.NAME, "add").is_enabled()
        assert list_name(editor) == "Read me"
        assert [console_errors(window) for window in browsers] == [[], []]
    finally:
        leave(browsers)
        server.stop()


def test_a_page_without_the_servers_token_says_so_instead_of_offline(browsers, start_server):
    """A WebSocket refused for its token looks to a browser like a server that is away: the page
    asks the API first, and a 401 shows what to do instead of "Offline, retrying" and a skeleton."""
    server = start_server("--token", "line3-secret")
    try:
        window = browsers[0]
        for link, says in ((server.url, "needs an access token"),
                           (server.url + "#token=line3-secrte", "does not accept the access token")):
            window.get("about:blank")  # a new fragment alone would not load the page again
            window.get(link)
            wait_until(window, lambda w: w.find_element(By.ID, "problem").is_displayed(), "the problem is shown")
            assert says in window.find_element(By.ID, "problem-text").text
            assert not window.find_element(By.CSS_SELECTOR, "[data-status]").is_displayed()
            assert not window.find_element(By.CSS_SELECTOR, "#problem .problem-hint").is_displayed()
            assert not window.find_element(By.ID, "loading").is_displayed()
            assert not window.find_element(By.NAME, "history").is_displayed()
            assert all(" 401 " in line or logged_while_away(line) for line in console_errors(window))
        window.get("about:blank")
        window.get(server.url + "#token=line3-secret")
        wait_connected(window)
        assert not window.find_element(By.ID, "problem").is_displayed()
    finally:
        leave(browsers)
        server.stop()


def test_keyboard_enter_adds_the_next_row_and_focuses_it(windows):
    a, b = windows
    a.find_element(By.NAME, "list-name").send_keys("Packing" + Keys.ENTER)
    wait_rows(a, ["1"])
    wait_until(a, lambda w: w.switch_to.active_element == row(w, 1).find_element(By.CSS_SELECTOR, "input[type=text]"),
               "the new row never took focus")
    a.switch_to.active_element.send_keys("Tent" + Keys.ENTER)
    wait_rows(a, ["1", "2"])
    wait_until(a, lambda w: w.switch_to.active_element == row(w, 2).find_element(By.CSS_SELECTOR, "input[type=text]"),
               "the second row never took focus")
    a.switch_to.active_element.send_keys("Stove")
    wait_value(b, lambda w: [row_name(w, 1), row_name(w, 2)], ["Tent", "Stove"], "rows typed with the keyboard")


@pytest.mark.parametrize("rows", [10_000, 50_000])
def test_two_windows_open_a_large_list_and_the_server_survives(browsers, start_server, data_dir, rows):
    """Chromium always negotiates permessage-deflate; a Full of this size used to kill the server."""
    write_document(data_dir, rows)
    server = start_server()
    for browser in browsers:
        browser.get(server.url)
    for browser in browsers:
        wait_status(browser, "connected")
        wait_value(browser, list_name, f"{rows} rows", "the large list's name")
    asyncio.run(rename_list(server.ws, "still alive"))
    for browser in browsers:
        wait_value(browser, list_name, "still alive", "the renamed list")
        assert console_errors(browser) == []
    leave(browsers)
    assert server.process.poll() is None, server.log()


async def rename_list(url, name):
    peer = await Peer.connect(url)
    assert (await peer.act({"type": "ChangeName", "name": name}))["type"] == "Ack"
    await peer.close()


def test_a_large_list_changes_row_by_row(browsers, start_server, data_dir):
    """Issue 9: a Patch touches only the rows it changes. The figures are measured inside the page
    (tests/support/page_probe.py), printed and written to test-artifacts/page-figures.json; their targets
    are checked by `make bench` (bench/page.py, release build), not here. Asserted: every change
    shows, the elements of rows no Patch names stay the same nodes, and find-in-page reaches a
    row far below the screen."""
    rows = 10_000
    state = write_document(data_dir, rows)
    server = start_server()
    browser, _ = browsers
    page_probe.install(browser)
    browser.get(server.url)
    wait_status(browser, "connected")
    wait_until(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "[data-index]")) == rows, "not every row showed")
    figures = {"rows": rows, "first_render_ms": page_probe.full_painted_ms(browser)}

    browser.execute_script("window.untouchedRow = document.querySelector('[data-index=\"5000\"]')")
    page_probe.reset(browser)
    changed = (3, 9_999, 4_321)
    asyncio.run(update_rows(server.ws, [(index, f"remote {index}") for index in changed]))
    for index in changed:
        wait_value(browser, lambda b, i=index: row_name(b, i), f"remote {index}", f"row {index}")
    assert browser.execute_script("return window.untouchedRow === document.querySelector('[data-index=\"5000\"]')")
    figures["one_row_patch_ms"] = page_probe.patch_latencies(browser)

    far = state["todos"]["8765"]["name"]
    assert browser.execute_script("return window.find(arguments[0])", far)
    assert browser.switch_to.active_element == row(browser, 8765).find_element(By.CSS_SELECTOR, "input[type=text]")

    # A fast typist (about 12 keys a second), each keystroke's echo Patch on its own.
    page_probe.reset(browser)
    field = browser.find_element(By.NAME, "list-name")
    for character in "Line 3":
        field.send_keys(character)
        time.sleep(0.08)
    wait_until(browser, lambda b: asyncio.run(fresh_full(server.ws))[0]["name"] == f"{rows} rowsLine 3",
               "the typed name never reached the server")
    assert list_name(browser) == f"{rows} rowsLine 3"
    figures["typing_echo_patch_ms"] = page_probe.patch_latencies(browser)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "page-figures.json").write_text(json.dumps(figures, indent=1))
    print({key: page_probe.percentile(value, 0.5) if isinstance(value, list) else value for key, value in figures.items()})
    assert console_errors(browser) == []
    leave([browser])


def test_rows_coming_back_in_the_middle_keep_their_order_focus_and_find(browsers, start_server, data_dir):
    """The page holds rows in chunks of 100 (see app.js). 250 removed rows restored at once land in
    the middle of the list; the list keeps its order, a restored row is found by find-in-page, the
    typing focus stays in a row the restore does not touch, and removing the last row before a
    restored run hands the focus to the next row."""
    rows = 1_000
    state = write_document(data_dir, rows)
    server = start_server()
    browser, _ = browsers
    browser.get(server.url)
    wait_connected(browser)
    expected = list(range(1, rows + 1))
    wait_order(browser, expected)
    asyncio.run(remove_rows(server.ws, range(101, 351)))
    wait_order(browser, [index for index in expected if not 101 <= index <= 350])
    field = row(browser, 351).find_element(By.CSS_SELECTOR, "input[type=text]")
    field.click()
    request = urllib.request.Request(server.http + "/api/docs/default/revert", method="POST",
                                     data=json.dumps({"version": 1}).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request) as response:
        assert response.status == 200
    wait_order(browser, expected)
    assert browser.switch_to.active_element == field
    # From the focused row 351 on, wrapping around.
    assert browser.execute_script("return window.find(arguments[0], false, false, true)", state["todos"]["222"]["name"])
    assert browser.switch_to.active_element == row(browser, 222).find_element(By.CSS_SELECTOR, "input[type=text]")

    row(browser, 100).find_element(By.NAME, "remove").click()
    wait_order(browser, [index for index in expected if index != 100])
    assert browser.switch_to.active_element == row(browser, 101).find_element(By.NAME, "remove")
    assert console_errors(browser) == []
    leave([browser])


def wait_order(browser, indices):
    """Like wait_rows, reading every row's index in one script (a thousand rows one by one take seconds)."""
    read = "return Array.from(document.querySelectorAll('[data-index]'), (row) => Number(row.dataset.index))"
    wait_until(browser, lambda b: b.execute_script(read) == indices, f"the rows never became {len(indices)} rows in order")


async def remove_rows(url, indices):
    peer = await Peer.connect(url)
    for index in indices:
        assert (await peer.act({"type": "Remove", "index": index}))["type"] == "Ack"
    await peer.close()


@pytest.mark.parametrize("view", ["", "?display"])
def test_the_heap_stays_bounded_over_10000_patches(browsers, start_server, data_dir, view):
    """The JS heap after a forced garbage collection, before and after 10,000 Patches from another
    client (rows changed, added and removed), differs by less than HEAP_GROWTH_LIMIT: in the
    editing page and in the shop-floor display, which stays open for days."""
    rows = 20
    write_document(data_dir, rows)
    server = start_server()
    browser, _ = browsers
    page_probe.install(browser)
    browser.get(server.url + view)
    wait_connected(browser)
    wait_until(browser, lambda b: len(b.find_elements(By.CSS_SELECTOR, "[data-index]")) == rows, "not every row showed")
    before = page_probe.heap_after_gc(browser)
    page_probe.reset(browser)
    churn = 10_000
    asyncio.run(churn_rows(server.ws, churn, rows, window=256))
    final = current_version(server)
    assert final >= churn
    wait_until(browser, lambda b: page_probe.version_seen(b) == final, "the page never saw every change")
    after = page_probe.heap_after_gc(browser)
    print(f"heap after GC: {before} bytes before, {after} after {churn} Patches")
    assert after - before < HEAP_GROWTH_LIMIT, f"the heap grew by {after - before} bytes over {churn} Patches"
    assert len(browser.find_elements(By.CSS_SELECTOR, "[data-index]")) == rows
    assert console_errors(browser) == []
    leave([browser])


def current_version(server):
    with urllib.request.urlopen(server.http + "/api/docs/default") as response:
        return json.load(response)["version"]


# The heap may settle by a little (compiled code, caches); 10,000 Patches retained would be megabytes.
HEAP_GROWTH_LIMIT = 1 << 20


async def update_rows(url, changes):
    peer = await Peer.connect(url)
    for index, name in changes:
        assert (await peer.act({"type": "Update", "index": index, "row": {"name": name, "completed": False}}))["type"] == "Ack"
        await asyncio.sleep(0.05)
    await peer.close()


async def churn_rows(url, count, rows, window=64):
    """`count` changes from another client, `window` in flight at a time: every tenth removes a
    row, the next puts it back, the rest rename one."""
    peer = await Peer.connect(url)
    answered = 0
    for n in range(count):
        index = 1 + n * 7919 % rows
        if n % 10 == 0:
            index = 1 + (n // 10) % rows
            action = {"type": "Remove", "index": index}
        else:
            index = 1 + ((n - 1) // 10) % rows if n % 10 == 1 else index
            action = {"type": "Update", "index": index, "row": {"name": f"churn {n}", "completed": n % 2 == 0}}
        await peer.send({**action, "id": n})
        while n + 1 - answered >= window or (n == count - 1 and answered < count):
            message = json.loads(await peer.ws.recv())
            assert message["type"] != "Error", message
            answered += message["type"] == "Ack"
    await peer.close()
