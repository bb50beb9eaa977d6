"""The page edits a declared type (issue 21 item 5): examples/types/line.json through the form
built from its schema, in headless Chromium, two windows on a real server started with --types.
Screenshots go to test-artifacts/ (type-form-*.png)."""
import json
import pathlib
import shutil
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select

from support.browser import ARTIFACTS, browsers, console_errors, leave, wait_status, wait_until  # noqa: F401 (a fixture)

ROOT = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "types"
LINE = json.loads((EXAMPLES / "line.json").read_text())
DOC = "line-3"


@pytest.fixture
def server(start_server, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    types = tmp_path / "types"
    types.mkdir()
    for name in ("line", "shift"):
        shutil.copy(EXAMPLES / f"{name}.json", types / f"{name}.json")
    return start_server("--types", str(types))


def api(server, path, body=None):
    request = urllib.request.Request(
        f"{server.http}/api/{path}", data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"}, method="GET" if body is None else "POST")
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())


def control(browser, pointer):
    return browser.find_element(By.CSS_SELECTOR, f'#type-form [name="{pointer}"]')


def wait_form(browser):
    wait_status(browser, "connected")
    wait_until(browser, lambda b: b.find_element(By.ID, "type-form").is_displayed(), "the form never showed")


def wait_saved(browser):
    wait_until(browser, lambda b: b.find_element(By.ID, "unsaved").get_attribute("data-unsaved") == "0",
               "the change was never acknowledged")


def replace_text(field, text):
    """Types `text` over the field's value and leaves it (one change event; `clear()` would send another)."""
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(text, Keys.TAB)


@pytest.fixture
def windows(browsers, server):
    for browser in browsers:
        browser.set_window_size(1280, 800)
        browser.get(f"{server.url}?doc={DOC}")
        wait_form(browser)
    for browser in browsers:
        console_errors(browser)
    yield browsers
    errors = [console_errors(browser) for browser in browsers]
    leave(browsers)
    assert errors == [[], []]


def test_schema_endpoint_answers_the_type_and_the_todo_list(server):
    answer = api(server, f"docs/{DOC}/schema")
    assert answer["model"] == "line"
    assert answer["version"] == 2
    assert answer["schema"] == LINE
    assert api(server, "docs/groceries/schema") == {"model": "todo", "schema": None}


def test_form_is_built_from_the_schema(windows):
    first, _ = windows
    status = control(first, "/machines/M1/status")
    assert status.tag_name == "select"
    assert [o.get_attribute("value") for o in Select(status).options] == ["run", "stop", "alarm"]
    label = first.find_element(By.CSS_SELECTOR, f'label[for="{status.get_attribute("id")}"]')
    assert label.text == "Status"
    good = control(first, "/machines/M1/good")
    assert (good.get_attribute("type"), good.get_attribute("min"), good.get_attribute("step")) == ("number", "0", "1")
    name = control(first, "/name")
    assert (name.get_attribute("maxlength"), name.get_attribute("minlength")) == ("80", "1")
    assert first.find_element(By.CSS_SELECTOR, '[data-new-key-for="/machines"]').get_attribute("pattern") == "M[0-9]{1,3}"
    assert first.title == "New line · patchsync"
    # The Todo list's editor is not on this page.
    assert first.find_elements(By.NAME, "list-name") == []


def test_status_change_is_acknowledged_and_seen_by_another_session(windows, server):
    first, second = windows
    Select(control(first, "/machines/M1/status")).select_by_value("run")
    wait_saved(first)
    assert api(server, f"docs/{DOC}")["state"]["machines"]["M1"]["status"] == "run"
    wait_until(second, lambda b: control(b, "/machines/M1/status").get_property("value") == "run",
               "the other window never saw the new status")
    history = api(server, f"docs/{DOC}/history?since=0")["events"]
    assert history[-1]["ops"] == [{"op": "replace", "path": "/machines/M1/status", "value": "run"}]
    for browser, (width, height) in zip(windows, ((1280, 800), (390, 844))):
        browser.set_window_size(width, height)
        browser.save_screenshot(str(ARTIFACTS / f"type-form-{width}x{height}.png"))


def test_invalid_value_shows_invalid_patch_next_to_the_control_and_changes_nothing(windows, server):
    first, _ = windows
    before = api(server, f"docs/{DOC}")
    replace_text(control(first, "/machines/M2/good"), "-5")
    error = lambda b: b.find_element(By.CSS_SELECTOR, '[data-error-for="/machines/M2/good"]')
    wait_until(first, lambda b: error(b).is_displayed() and "(minimum)" in error(b).text, "no invalid_patch next to the control")
    assert error(first).text.startswith("/machines/M2/good: ")
    assert control(first, "/machines/M2/good").get_attribute("aria-invalid") == "true"
    wait_saved(first)
    assert api(server, f"docs/{DOC}") == before
    wait_until(first, lambda b: control(b, "/machines/M2/good").get_property("value") == "0",
               "the control never went back to the server's value")
    first.set_window_size(390, 844)
    first.execute_script("arguments[0].scrollIntoView({block: 'center'})", control(first, "/machines/M2/good"))
    first.save_screenshot(str(ARTIFACTS / "type-form-invalid-390x844.png"))
    first.set_window_size(1280, 800)
    # A valid edit of the same control clears the message.
    replace_text(control(first, "/machines/M2/good"), "7")
    wait_saved(first)
    wait_until(first, lambda b: not b.find_element(By.CSS_SELECTOR, '[data-error-for="/machines/M2/good"]').is_displayed(),
               "the message stayed after a valid edit")
    assert api(server, f"docs/{DOC}")["state"]["machines"]["M2"]["good"] == 7


def test_add_and_remove_a_map_entry(windows, server):
    first, second = windows
    key = first.find_element(By.CSS_SELECTOR, '[data-new-key-for="/machines"]')
    key.send_keys("M3")
    first.find_element(By.CSS_SELECTOR, 'button[data-add="/machines"]').click()
    wait_saved(first)
    assert api(server, f"docs/{DOC}")["state"]["machines"]["M3"] == {"status": "run", "good": 0, "scrap": 0}
    wait_until(second, lambda b: b.find_elements(By.CSS_SELECTOR, '[name="/machines/M3/status"]'), "M3 never showed")
    first.save_screenshot(str(ARTIFACTS / "type-form-added-1280x800.png"))
    first.find_element(By.CSS_SELECTOR, 'button[data-remove="/machines/M3"]').click()
    wait_saved(first)
    assert "M3" not in api(server, f"docs/{DOC}")["state"]["machines"]
    wait_until(second, lambda b: not b.find_elements(By.CSS_SELECTOR, '[name="/machines/M3/status"]'), "M3 never went")


def test_add_an_alarm_then_fill_it_in(windows, server):
    """An array item whose required strings have patterns starts from their defaults, so the
    example's "Add to Open alarms" is accepted; its fields are then edited like any other."""
    first, second = windows
    first.find_element(By.CSS_SELECTOR, 'button[data-append="/alarms"]').click()
    wait_saved(first)
    assert api(server, f"docs/{DOC}")["state"]["alarms"] == [{"machine": "M1", "code": "A000", "since": ""}]
    replace_text(control(first, "/alarms/0/code"), "E042")
    wait_saved(first)
    wait_until(second, lambda b: control(b, "/alarms/0/code").get_property("value") == "E042", "the code never showed")
    assert api(server, f"docs/{DOC}")["state"]["alarms"][0]["code"] == "E042"


def set_name(browser, text):
    replace_text(control(browser, "/name"), text)
    wait_saved(browser)


def test_restore_from_history(windows, server):
    first, second = windows
    set_name(first, "Press line")
    set_name(first, "Other")
    assert api(server, f"docs/{DOC}")["version"] == 2
    first.find_element(By.CSS_SELECTOR, "button[name=history]").click()
    # Quick edits by one person may be grouped into one entry; version 1 is then behind its expand button.
    listed = lambda b: b.find_elements(By.CSS_SELECTOR, '[data-history] [data-version="1"], [data-history] [data-member="1"]')
    wait_until(first, listed, "the history never listed version 1")
    entry = listed(first)[0]
    if entry.get_attribute("data-member") is not None:
        first.find_element(By.CSS_SELECTOR, '[data-history] [data-first="1"] button[name=expand]').click()
        wait_until(first, lambda b: entry.is_displayed(), "version 1 never showed in its group")
    entry.click()
    restore = first.find_element(By.CSS_SELECTOR, "button[name=restore]")
    wait_until(first, lambda b: restore.is_displayed(), "no Restore button")
    # The preview says, in the schema's words, what a restore does to each value that differs.
    assert first.find_element(By.ID, "preview-name").text == "Production line: Press line"
    rows = [e.text for e in first.find_elements(By.CSS_SELECTOR, "#preview-rows li")]
    assert rows == ["Line: 'Press line'\nchanges back"], rows
    first.save_screenshot(str(ARTIFACTS / "type-form-restore-preview-1280x800.png"))
    restore.click()
    assert "change 1 item" in first.find_element(By.ID, "confirm-text").text
    first.find_element(By.CSS_SELECTOR, "button[name=confirm-restore]").click()
    wait_until(first, lambda b: control(b, "/name").get_property("value") == "Press line", "the restore never showed")
    wait_until(second, lambda b: control(b, "/name").get_property("value") == "Press line", "the other window never saw it")
    assert api(server, f"docs/{DOC}")["state"]["name"] == "Press line"
    first.save_screenshot(str(ARTIFACTS / "type-form-history-1280x800.png"))


def test_history_says_what_changed_in_the_schemas_words(windows, server):
    first, _ = windows
    Select(control(first, "/machines/M1/status")).select_by_value("run")
    wait_saved(first)
    set_name(first, "Press line")
    first.find_element(By.CSS_SELECTOR, "button[name=history]").click()
    summaries = lambda b: [e.text for e in b.find_elements(By.CSS_SELECTOR, "[data-history] [data-version] .history-summary")]
    wait_until(first, lambda b: len(summaries(b)) == 2, "the history never showed both changes")
    assert summaries(first) == ["set Line to 'Press line'", "set Machines › M1 › Status to 'run'"]
    first.save_screenshot(str(ARTIFACTS / "type-form-history-summaries-1280x800.png"))
    first.set_window_size(390, 844)
    wait_until(first, lambda b: b.execute_script("return window.innerWidth") <= 390, "window never narrowed")
    first.save_screenshot(str(ARTIFACTS / "type-form-history-summaries-390x844.png"))
    first.set_window_size(1280, 800)


def test_people_panel_says_which_field_another_person_edits(windows):
    first, second = windows
    control(second, "/machines/M1/good").click()
    first.find_element(By.CSS_SELECTOR, "button[name=people]").click()
    details = lambda b: [e.text for e in b.find_elements(By.CSS_SELECTOR, "[data-people] [data-session] .person-detail")]
    wait_until(first, lambda b: any("editing Machines › M1 › Good parts" in text for text in details(b)),
               "the People panel never said what the other window edits")
    for width, height in ((1280, 800), (390, 844)):
        first.set_window_size(width, height)
        first.save_screenshot(str(ARTIFACTS / f"type-form-people-{width}x{height}.png"))
    first.set_window_size(1280, 800)
    first.find_element(By.CSS_SELECTOR, "button[name=close-people]").click()


def test_display_mode_is_read_only(browsers, server):
    browser = browsers[0]
    browser.get(f"{server.url}?doc={DOC}&display")
    wait_form(browser)
    assert control(browser, "/machines/M1/status").get_property("disabled")
    assert control(browser, "/name").get_property("readOnly")
    assert browser.find_element(By.CSS_SELECTOR, 'button[data-add="/machines"]').is_displayed() is False
    browser.save_screenshot(str(ARTIFACTS / "type-form-display-1280x800.png"))
    assert console_errors(browser) == []
    leave([browser])


def test_offline_edit_waits_in_the_outbox_and_is_sent_on_reconnect(browsers, server):
    browser = browsers[0]
    browser.set_window_size(1280, 800)
    browser.get(f"{server.url}?doc={DOC}")
    wait_form(browser)
    server.stop()
    wait_until(browser, lambda b: b.find_element(By.CSS_SELECTOR, "[data-status]").get_attribute("data-status") != "connected",
               "the page never noticed the server went")
    Select(control(browser, "/machines/M2/status")).select_by_value("alarm")
    wait_until(browser, lambda b: b.find_element(By.ID, "unsaved").get_attribute("data-unsaved") == "1", "not in the outbox")
    assert control(browser, "/machines/M2/status").get_property("value") == "alarm"
    server.start(port=server.port)
    wait_status(browser, "connected")
    wait_saved(browser)
    assert api(server, f"docs/{DOC}")["state"]["machines"]["M2"]["status"] == "alarm"
    leave([browser])


def test_todo_list_page_is_unchanged_beside_declared_types(browsers, server):
    browser = browsers[0]
    browser.get(f"{server.url}?doc=groceries")
    wait_status(browser, "connected")
    wait_until(browser, lambda b: b.find_element(By.NAME, "list-name").is_displayed(), "the Todo list never showed")
    assert browser.find_elements(By.ID, "type-form") == []
    leave([browser])
