"""The page in headless Chromium: starting a browser, reading the page's state (status, rows, list
name, console errors) and waiting for it. Needs Debian's chromium and chromium-driver and selenium."""
import pathlib

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# The bound on waiting for something that must eventually happen in a page (a loaded box, a
# debug build, two Chromiums); never a speed assertion: a passing wait ends as soon as it holds.
WAIT_LIMIT = 60


def new_browser() -> webdriver.Chrome:
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1024,800"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture(scope="module")
def browsers():
    first, second = new_browser(), new_browser()
    yield first, second
    first.quit()
    second.quit()


def logged_while_away(line) -> bool:
    """What Chromium logs while the server is away: the refused WebSocket connections."""
    return "WebSocket connection to" in line


def console_errors(browser) -> list:
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def leave(browsers):
    """Closes the pages before their server stops, so no reconnect attempt outlives the test."""
    for browser in browsers:
        browser.get("about:blank")


def wait_until(browser, condition, message):
    def safely(driver):
        try:
            return condition(driver)
        except StaleElementReferenceException:
            return False

    return WebDriverWait(browser, WAIT_LIMIT, poll_frequency=0.05).until(safely, message)


def status_of(browser) -> str:
    return browser.find_element(By.CSS_SELECTOR, "[data-status]").get_attribute("data-status")


def wait_status(browser, status):
    wait_until(browser, lambda b: status_of(b) == status, f"status never became {status}")


def wait_connected(browser):
    wait_status(browser, "connected")
    wait_until(browser, lambda b: b.find_element(By.NAME, "list-name").is_displayed(), "the list never showed")


def row(browser, index):
    return browser.find_element(By.CSS_SELECTOR, f'[data-index="{index}"]')


def row_indices(browser) -> list:
    return [element.get_attribute("data-index") for element in browser.find_elements(By.CSS_SELECTOR, "[data-index]")]


def row_name(browser, index) -> str:
    return row(browser, index).find_element(By.CSS_SELECTOR, "input[type=text]").get_property("value")


def list_name(browser) -> str:
    return browser.find_element(By.NAME, "list-name").get_property("value")


def wait_rows(browser, indices):
    wait_until(browser, lambda b: row_indices(b) == indices, f"rows never became {indices}")


def wait_value(browser, read, expected, what):
    wait_until(browser, lambda b: read(b) == expected, f"{what} never became {expected!r}")
