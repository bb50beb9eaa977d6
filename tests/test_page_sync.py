"""The web page in Chromium across outages and with company: its outbox (nothing typed is lost or
doubled when the server goes away, even over a reload) and presence (who is here, who edits which row).

Screenshots go to test-artifacts/.
"""

import asyncio
import json
import signal
import urllib.request

from selenium.webdriver.common.by import By

from support.browser import (ARTIFACTS, browsers, console_errors, leave, list_name, logged_while_away, row,  # noqa: F401
                             row_indices,
                             row_name, wait_connected, wait_rows, wait_status, wait_until, wait_value)
from support.postgres_proxy import through
from support.protocol import fresh_full


# Notes, outside the page's own code, the id of every action the page sends and on which of
# its WebSockets (numbered in order of use), so a test can see what was resent.
SENT_IDS = r"""
(() => {
  const sockets = new WeakMap();
  let used = 0;
  const sent = [];
  Object.defineProperty(window, '__sentIds', { value: sent });
  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (text) {
    if (!sockets.has(this)) sockets.set(this, used++);
    const id = JSON.parse(text).id;
    if (id !== undefined) sent.push([sockets.get(this), JSON.stringify(id)]);
    return send.call(this, text);
  };
})();
"""


def unsaved(browser) -> int:
    """The count of own changes the page says are not saved yet (0 when it says nothing)."""
    return int(browser.find_element(By.ID, "unsaved").get_attribute("data-unsaved"))


def unsaved_text(browser) -> str:
    element = browser.find_element(By.ID, "unsaved")
    return element.text if element.is_displayed() else ""


def status_text(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, ".status-text").text


def row_field(browser, index):
    return row(browser, index).find_element(By.CSS_SELECTOR, "input[type=text]")


def shown_state(browser) -> dict:
    """The list as the page shows it, in the shape of the server's state."""
    todos = {}
    for index in row_indices(browser):
        todos[index] = {
            "name": row_name(browser, index),
            "completed": row(browser, index).find_element(By.CSS_SELECTOR, "input[type=checkbox]").is_selected(),
        }
    return {"name": list_name(browser), "todos": todos}


def restart(server, *args):
    """Stops the server and starts it again on its port and data directory, with `args`."""
    server.stop()
    server.args = list(args)
    server.start(port=server.port)


def expect_no_console_errors(windows):
    # While the server is away or refuses the page's token, Chromium logs what it logs while away
    # and the page's refused question for its document's type (page.js); nothing else.
    for window in windows:
        other = [line for line in console_errors(window)
                 if not logged_while_away(line) and not ("/api/docs" in line and " 401 " in line)]
        assert other == []


def open_both(browsers, server):
    for browser in browsers:
        browser.set_window_size(1024, 800)
        browser.get(server.url)
    for browser in browsers:
        wait_connected(browser)
        console_errors(browser)


def history(server) -> list:
    with urllib.request.urlopen(f"{server.http}/api/docs/default/history?since=0&limit=1000") as response:
        return json.load(response)["events"]


def test_typing_through_a_server_restart_arrives_exactly_once(browsers, start_server):
    server = start_server()
    a, b = browsers
    probe = a.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": SENT_IDS})["identifier"]
    try:
        open_both(browsers, server)
        name = a.find_element(By.NAME, "list-name")
        name.send_keys("Shop")
        for count in (1, 2):
            a.find_element(By.NAME, "add").click()
            wait_rows(a, [str(i) for i in range(1, count + 1)])
        row_field(a, 1).send_keys("Milk")
        wait_value(b, lambda w: row_name(w, 1), "Milk", "row 1 in the second window")

        # The server freezes while the person goes on typing and adding: what the page sends
        # now is never answered. Then it dies (kill -9) and the person types on, offline.
        typed = "Shop"
        for position, character in enumerate(" for the weekend"):
            if position == 4:
                server.process.send_signal(signal.SIGSTOP)
            name.send_keys(character)
            typed += character
        a.find_element(By.NAME, "add").click()
        wait_until(a, lambda w: "not saved yet" in unsaved_text(w), "unanswered changes were never shown as unsaved")
        server.kill()
        wait_status(a, "offline")
        wait_until(a, lambda w: status_text(w) == "Offline", "the page never said Offline")
        for character in ", offline":
            name.send_keys(character)
            typed += character
        row_field(a, 2).send_keys("Bread")
        row(a, 1).find_element(By.CSS_SELECTOR, "input[type=checkbox]").click()
        wait_until(a, lambda w: "not saved yet" in unsaved_text(w) and unsaved(w) > 0,
                   "the page never said its changes were not saved")
        assert list_name(a) == typed, "typing goes on while offline"
        a.save_screenshot(str(ARTIFACTS / "page-offline-unsaved.png"))

        server.start(port=server.port)
        for window in browsers:
            wait_status(window, "connected")
        wait_until(a, lambda w: unsaved(w) == 0 and unsaved_text(w) == "", "the unsaved changes never went to zero")

        # Actions sent to the frozen server went out again on a new connection, with their ids...
        sockets_by_id = {}
        for socket, action_id in a.execute_script("return window.__sentIds"):
            sockets_by_id.setdefault(action_id, set()).add(socket)
        assert any(len(sockets) > 1 for sockets in sockets_by_id.values()), "nothing was resent"
        # ...and the server's record holds every action once.
        recorded = [(event["client"], json.dumps(event["id"])) for event in history(server)]
        assert len(recorded) == len(set(recorded))
        # Every keystroke's result arrived once: the exact name, one row per Add, both windows alike.
        state, _ = asyncio.run(fresh_full(server.ws))
        assert state["name"] == typed
        assert sorted(state["todos"], key=int) == ["1", "2", "3"]
        assert state["todos"]["1"] == {"name": "Milk", "completed": True}
        assert state["todos"]["2"] == {"name": "Bread", "completed": False}
        for window in browsers:
            wait_until(window, lambda w: shown_state(w) == state, "a window differs from a fresh Full")
        expect_no_console_errors(browsers)
    finally:
        leave(browsers)
        a.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", {"identifier": probe})


def test_changes_refused_while_the_database_is_down_are_sent_again_once_it_is_back(
        browsers, start_server, database, proxy):
    proxy.open()
    server = start_server(*through(proxy, database))
    a, b = browsers
    try:
        open_both(browsers, server)
        name = a.find_element(By.NAME, "list-name")
        name.send_keys("Shop")
        wait_value(b, list_name, "Shop", "the name in the second window")

        # PostgreSQL goes away: the session stays open, and each change gets storage_unavailable.
        proxy.refuse()
        name.send_keys(" list")
        a.find_element(By.NAME, "add").click()
        wait_until(a, lambda w: "not saved yet" in unsaved_text(w) and unsaved(w) > 0,
                   "changes the database refused were not shown as unsaved")
        assert status_text(a) != "Offline"
        assert list_name(a) == "Shop list", "the refused edit stays on screen"
        a.save_screenshot(str(ARTIFACTS / "page-database-down-unsaved.png"))

        proxy.open()
        wait_until(a, lambda w: unsaved(w) == 0, "the refused changes were never saved")
        state, _ = asyncio.run(fresh_full(server.ws))
        assert state["name"] == "Shop list"
        assert sorted(state["todos"]) == ["1"]
        recorded = [(event["client"], json.dumps(event["id"])) for event in history(server)]
        assert len(recorded) == len(set(recorded)), "an action was applied twice"
        for window in browsers:
            wait_until(window, lambda w: shown_state(w) == state, "a window differs from a fresh Full")
    finally:
        leave(browsers)


def test_a_reload_while_offline_keeps_the_pending_changes_and_sends_them(browsers, start_server):
    server = start_server()
    a, b = browsers
    try:
        open_both(browsers, server)
        a.find_element(By.NAME, "list-name").send_keys("Draft")
        wait_value(b, list_name, "Draft", "the list name in the second window")

        server.stop()
        wait_status(a, "offline")
        a.find_element(By.NAME, "list-name").send_keys(" two")
        a.find_element(By.NAME, "add").click()
        wait_until(a, lambda w: unsaved(w) >= 2, "the offline edits were never counted")
        pending = unsaved(a)

        # The page comes back but its WebSocket is still refused (a token it does not have).
        restart(server, "--token", "not-the-pages")
        a.refresh()
        wait_until(a, lambda w: unsaved(w) == pending and "not saved yet" in unsaved_text(w),
                   "the reloaded page forgot its pending changes")
        assert status_of_page(a) != "connected"

        restart(server)
        wait_connected(a)
        wait_until(a, lambda w: unsaved(w) == 0, "the pending changes were never saved")
        state, _ = asyncio.run(fresh_full(server.ws))
        assert state == {"name": "Draft two", "todos": {"1": {"name": "", "completed": False}}}
        wait_until(a, lambda w: shown_state(w) == state, "the reloaded window differs from a fresh Full")
        wait_until(b, lambda w: shown_state(w) == state, "the second window differs from a fresh Full")
        expect_no_console_errors(browsers)
    finally:
        leave(browsers)


def status_of_page(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, "[data-status]").get_attribute("data-status")


def people_listed(browser) -> list:
    return [element.get_attribute("textContent")
            for element in browser.find_elements(By.CSS_SELECTOR, "[data-people] [data-session] .person-name")]


def editor_badge(browser, index) -> str:
    badges = row(browser, index).find_elements(By.CSS_SELECTOR, ".editor-badge")
    return badges[0].get_attribute("textContent") if badges else ""


def set_own_name(browser, name):
    browser.find_element(By.NAME, "people").click()
    field = browser.find_element(By.NAME, "your-name")
    field.clear()
    field.send_keys(name)
    browser.find_element(By.CSS_SELECTOR, "#your-name button[type=submit]").click()
    browser.find_element(By.NAME, "close-people").click()


def test_each_window_sees_the_other_and_the_row_it_edits(browsers, start_server):
    server = start_server()
    a, b = browsers
    try:
        open_both(browsers, server)
        set_own_name(a, "Ana")
        set_own_name(b, "Bo")
        wait_until(b, lambda w: people_listed(w) == ["Ana"], "the second window never listed Ana")
        wait_until(a, lambda w: people_listed(w) == ["Bo"], "the first window never listed Bo")
        assert "Ana" in b.find_element(By.NAME, "people").get_attribute("aria-label")

        for count in (1, 2, 3):
            a.find_element(By.NAME, "add").click()
            wait_rows(a, [str(i) for i in range(1, count + 1)])
        wait_rows(b, ["1", "2", "3"])
        for index, item in ((1, "Flour"), (2, "Eggs"), (3, "Butter")):
            row_field(a, index).send_keys(item)
        wait_value(b, lambda w: row_name(w, 3), "Butter", "row 3 in the second window")

        # Ana edits row 2: Bo sees her name beside it, as its field's description too.
        row_field(a, 2).click()
        wait_until(b, lambda w: editor_badge(w, 2) == "Ana is editing", "row 2 was never marked with Ana's name")
        assert "is-edited" in row(b, 2).get_attribute("class")
        described = row_field(b, 2).get_attribute("aria-describedby")
        assert b.find_element(By.ID, described).get_attribute("textContent") == "Ana is editing"
        assert editor_badge(b, 1) == editor_badge(b, 3) == ""
        assert editor_badge(a, 2) == "", "nobody marks their own row"
        b.find_element(By.NAME, "people").click()
        b.save_screenshot(str(ARTIFACTS / "page-presence.png"))
        b.find_element(By.NAME, "close-people").click()

        # She moves on to row 3, then leaves the list.
        row_field(a, 3).click()
        wait_until(b, lambda w: editor_badge(w, 3) == "Ana is editing" and editor_badge(w, 2) == "",
                   "the mark never followed Ana to row 3")
        a.find_element(By.NAME, "list-name").click()
        wait_until(b, lambda w: editor_badge(w, 3) == "", "the mark stayed after Ana left the row")
        wait_until(b, lambda w: w.find_element(By.ID, "editing-name").get_attribute("textContent") == "Ana is editing",
                   "the list name was never marked with Ana's name")
        b.set_window_size(390, 844)
        b.save_screenshot(str(ARTIFACTS / "page-presence-phone.png"))
        a.get("about:blank")
        wait_until(b, lambda w: people_listed(w) == [], "Ana was still listed after closing her window")
        wait_until(b, lambda w: not w.find_elements(By.ID, "editing-name"), "Ana's mark outlived her window")
        assert [console_errors(window) for window in browsers] == [[], []]
    finally:
        leave(browsers)
